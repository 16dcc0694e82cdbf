"""Read-only questions a staff desk asks: which conversation a thread is, queue, history, report.

Channels may not import ``storage`` (import-linter), yet the Slack desk must turn a thread
into a conversation and answer ``/carebot queue|report|customer``. These small functions
keep the SQL in the core and hand the channel plain values, so the channel only formats.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from storage import data_subject, reports
from storage.models import Conversation, Customer, Handoff, Survey
from storage.unit_of_work import UnitOfWork

if TYPE_CHECKING:
    from bot.core.engine import ConversationEngine


@dataclass(frozen=True)
class ThreadRef:
    """The handoff behind a staff thread and the conversation it belongs to."""

    handoff_id: int
    conversation_id: int
    status: str


@dataclass(frozen=True)
class QueueItem:
    """One open handoff, with where its card lives."""

    handoff_id: int
    conversation_id: int
    status: str
    reason: str
    priority: bool
    requested_at: datetime
    waited_minutes: int
    customer: str | None
    intent: str | None
    agent: str | None
    staff_channel: str | None
    staff_thread: str | None


@dataclass(frozen=True)
class Touchpoint:
    """One past conversation of a customer."""

    conversation_id: int
    started_at: datetime
    status: str
    intent: str | None
    resolution: str | None
    handoff_reason: str | None
    csat: int | None


@dataclass(frozen=True)
class CustomerHistory:
    """A customer and their touchpoints, newest first."""

    customer_id: int
    name: str
    channel: str
    tags: list[str]
    touchpoints: list[Touchpoint]


async def conversation_for_thread(
    engine: ConversationEngine, channel: str, thread_ts: str
) -> ThreadRef | None:
    """The handoff whose card is the root of ``thread_ts`` in ``channel``, if any."""
    async with UnitOfWork(engine.db) as uow:
        stmt = (
            select(Handoff.id, Handoff.conversation_id, Handoff.status)
            .where(Handoff.staff_thread == thread_ts, Handoff.staff_channel == channel)
            .order_by(Handoff.id.desc())
            .limit(1)
        )
        row = (await uow.session.execute(stmt)).first()
    if row is None:
        return None
    return ThreadRef(handoff_id=row[0], conversation_id=row[1], status=row[2])


async def open_queue(engine: ConversationEngine) -> list[QueueItem]:
    """Open handoffs (VIP first, then oldest), with their card's thread for a link."""
    rows = await engine.staff_queue()
    ids = [int(row["handoff_id"]) for row in rows]
    threads: dict[int, tuple[str | None, str | None]] = {}
    if ids:
        async with UnitOfWork(engine.db) as uow:
            stmt = select(Handoff.id, Handoff.staff_channel, Handoff.staff_thread).where(
                Handoff.id.in_(ids)
            )
            for handoff_id, channel, thread in (await uow.session.execute(stmt)).all():
                threads[handoff_id] = (channel, thread)
    now = engine.clock()
    items = []
    for row in rows:
        requested: datetime = row["requested_at"]
        if requested.tzinfo is None:  # SQLite hands back naive UTC
            requested = requested.replace(tzinfo=now.tzinfo)
        channel, thread = threads.get(int(row["handoff_id"]), (None, None))
        items.append(
            QueueItem(
                handoff_id=int(row["handoff_id"]),
                conversation_id=int(row["conversation_id"]),
                status=str(row["status"]),
                reason=str(row["reason"]),
                priority=bool(row["priority"]),
                requested_at=requested,
                waited_minutes=max(0, int((now - requested).total_seconds() // 60)),
                customer=row["customer"],
                intent=row["intent"],
                agent=row["agent"],
                staff_channel=channel,
                staff_thread=thread,
            )
        )
    return items


async def customer_history(
    engine: ConversationEngine, customer_id: int, *, limit: int = 10
) -> CustomerHistory | None:
    """A customer's touchpoints with their CSAT, newest first; None if unknown."""
    async with UnitOfWork(engine.db) as uow:
        customer = await uow.session.get(Customer, customer_id)
        if customer is None:
            return None
        stmt = (
            select(Conversation, Survey.score)
            .outerjoin(Survey, Survey.conversation_id == Conversation.id)
            .where(Conversation.customer_id == customer_id)
            .order_by(Conversation.id.desc())
            .limit(limit)
        )
        rows: list[Any] = list((await uow.session.execute(stmt)).all())
        name = customer.display_name or customer.first_name or f"Customer {customer.id}"
        if customer.erased_at is not None:
            name = f"Customer {customer.id} (erased)"
        return CustomerHistory(
            customer_id=customer.id,
            name=name,
            channel=customer.channel,
            tags=list(customer.tags or []),
            touchpoints=[
                Touchpoint(
                    conversation_id=conversation.id,
                    started_at=conversation.started_at,
                    status=conversation.status,
                    intent=conversation.primary_intent,
                    resolution=conversation.resolution,
                    handoff_reason=conversation.handoff_reason,
                    csat=score,
                )
                for conversation, score in rows
            ],
        )


async def report_summary(engine: ConversationEngine, days: float = 7) -> str:
    """The manager summary for the last ``days`` days, as honest plain text.

    Proportions come with their count and interval (``Proportion.describe``): under ten
    answers only counts are shown, so a small sample is never dressed up as a percentage.
    """
    until = engine.clock()
    since = until - timedelta(days=days)
    summary = await reports.summary(engine.db, since, until)
    mean = f"{summary.mean_score:.1f}/5" if summary.mean_score is not None else "no ratings"
    period = f"{days:g} day" + ("" if days == 1 else "s")
    return "\n".join(
        [
            f"Last {period}: {summary.conversations} conversations",
            f"Handed to a person: {summary.handed_off.describe()}",
            f"Resolved by the bot: {summary.bot_resolved.describe()}",
            f"CSAT (4-5 of 5): {summary.csat.describe('satisfied')} · mean {mean}",
            f"Survey response rate: {summary.response_rate.describe('answered')}",
        ]
    )


@dataclass(frozen=True)
class CustomerBrief:
    """Who a data-subject request is about, for the requester to check before acting."""

    customer_id: int
    name: str
    channel: str
    erased: bool


async def find_customer(engine: ConversationEngine, ref: str) -> CustomerBrief | None:
    """The customer ``ref`` (our id, or ``channel:external_id``), or None if unknown."""
    async with UnitOfWork(engine.db) as uow:
        customer = await data_subject.find_customer(uow.session, ref)
        if customer is None:
            return None
        return CustomerBrief(
            customer_id=customer.id,
            name=customer.display_name or customer.first_name or f"Customer {customer.id}",
            channel=customer.channel,
            erased=customer.erased_at is not None,
        )
