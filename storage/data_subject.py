"""Data-subject requests and retention (PRODUCT.md §7): export, erase, purge.

Erasure and the retention purge remove personal data and transcripts but keep the
anonymous facts reports are made of (a conversation's times, intent, resolution, handoff
and CSAT score), so past reports do not change when a customer is erased.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Agent,
    Conversation,
    Customer,
    Handoff,
    Message,
    OutboxItem,
    OutboxStatus,
    ProcessedEvent,
    Survey,
    utcnow,
)

ERASED = {"erased": True}


def _row(obj: Any, *skip: str) -> dict[str, Any]:
    """A model row as JSON-ready values."""
    values: dict[str, Any] = {}
    for column in obj.__table__.columns:
        if column.key in skip:
            continue
        value = getattr(obj, column.key)
        values[column.key] = value.isoformat() if isinstance(value, datetime) else value
    return values


async def find_customer(session: AsyncSession, ref: str) -> Customer | None:
    """A customer by our id (``17``) or by channel identity (``telegram:12345``)."""
    if ref.isdigit():
        return await session.get(Customer, int(ref))
    channel, _, external_id = ref.partition(":")
    stmt = select(Customer).where(Customer.channel == channel, Customer.external_id == external_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def export_customer(session: AsyncSession, customer: Customer) -> dict[str, Any]:
    """Everything stored about one customer, as JSON-ready data (GDPR Art. 15 and 20)."""
    conversations = (
        (
            await session.execute(
                select(Conversation)
                .where(Conversation.customer_id == customer.id)
                .order_by(Conversation.id)
            )
        )
        .scalars()
        .all()
    )
    ids = [c.id for c in conversations]
    messages = (
        (
            await session.execute(
                select(Message).where(Message.conversation_id.in_(ids)).order_by(Message.id)
            )
        )
        .scalars()
        .all()
    )
    handoffs = (
        (await session.execute(select(Handoff).where(Handoff.conversation_id.in_(ids))))
        .scalars()
        .all()
    )
    surveys = (
        (await session.execute(select(Survey).where(Survey.customer_id == customer.id)))
        .scalars()
        .all()
    )
    agents = {a.id: a.display_name for a in (await session.execute(select(Agent))).scalars().all()}
    by_conversation: dict[int, list[dict[str, Any]]] = {}
    for message in messages:
        if message.internal:
            continue  # staff notes are the business's own working notes
        entry = _row(message, "conversation_id", "internal", "agent_id")
        entry["agent"] = agents.get(message.agent_id) if message.agent_id else None
        by_conversation.setdefault(message.conversation_id, []).append(entry)
    return {
        "exported_at": utcnow().isoformat(),
        "customer": _row(customer),
        "conversations": [
            {
                **_row(conversation, "context", "agent_id"),
                "agent": agents.get(conversation.agent_id) if conversation.agent_id else None,
                "messages": by_conversation.get(conversation.id, []),
                "handoffs": [_row(h) for h in handoffs if h.conversation_id == conversation.id],
            }
            for conversation in conversations
        ],
        "surveys": [_row(s) for s in surveys],
    }


async def erase_customer(
    session: AsyncSession, customer: Customer
) -> list[tuple[str, str | None, str]]:
    """Remove personal data and transcripts.

    Returns the staff-side posts to delete, as (sender, staff channel, message ts).
    """
    ids = (
        (
            await session.execute(
                select(Conversation.id).where(Conversation.customer_id == customer.id)
            )
        )
        .scalars()
        .all()
    )
    await session.execute(delete(Message).where(Message.conversation_id.in_(ids)))
    await session.execute(
        update(Survey)
        .where(Survey.customer_id == customer.id)
        .values(comment=None, platform_message_id=None)
    )
    await session.execute(
        update(Conversation)
        .where(Conversation.customer_id == customer.id)
        .values(moods=[], context={}, awaiting=None)
    )
    posted = (
        (
            await session.execute(
                select(OutboxItem).where(
                    OutboxItem.conversation_id.in_(ids),
                    OutboxItem.target == "staff",
                    OutboxItem.status == OutboxStatus.SENT,
                    OutboxItem.result_ref.is_not(None),
                    OutboxItem.kind.in_(
                        ["staff.handoff", "staff.customer_message", "staff.notice"]
                    ),
                )
            )
        )
        .scalars()
        .all()
    )
    threads = {
        h.id: h.staff_channel
        for h in (await session.execute(select(Handoff).where(Handoff.conversation_id.in_(ids))))
        .scalars()
        .all()
    }
    to_delete = [
        (item.channel, threads.get(int(item.payload.get("handoff_id", 0))), str(item.result_ref))
        for item in posted
    ]
    await session.execute(
        update(Handoff).where(Handoff.conversation_id.in_(ids)).values(staff_thread=None)
    )
    await session.execute(
        update(OutboxItem)
        .where(OutboxItem.conversation_id.in_(ids), OutboxItem.status == OutboxStatus.PENDING)
        .values(status=OutboxStatus.DEAD, last_error="customer erased")
    )
    await session.execute(
        update(OutboxItem).where(OutboxItem.conversation_id.in_(ids)).values(payload=ERASED)
    )
    customer.external_id = f"erased-{customer.id}"
    customer.address = ""
    customer.display_name = None
    customer.first_name = None
    customer.language = None
    customer.tags = []
    customer.extra = {}
    customer.erased_at = utcnow()
    return to_delete


async def purge_expired(
    session: AsyncSession, *, now: datetime, retention_days: int, inbox_days: int = 30
) -> dict[str, int]:
    """Delete transcripts of conversations that ended ``retention_days`` ago, and old ids."""
    cutoff = now - timedelta(days=retention_days)
    old = select(Conversation.id).where(
        Conversation.ended_at.is_not(None), Conversation.ended_at < cutoff
    )
    messages = await session.execute(delete(Message).where(Message.conversation_id.in_(old)))
    comments = await session.execute(
        update(Survey)
        .where(Survey.conversation_id.in_(old), Survey.comment.is_not(None))
        .values(comment=None)
    )
    payloads = await session.execute(
        update(OutboxItem)
        .where(OutboxItem.conversation_id.in_(old), OutboxItem.status != OutboxStatus.PENDING)
        .values(payload=ERASED)
    )
    inbox = await session.execute(
        delete(ProcessedEvent).where(ProcessedEvent.processed_at < now - timedelta(days=inbox_days))
    )
    return {
        "messages": int(getattr(messages, "rowcount", 0) or 0),
        "comments": int(getattr(comments, "rowcount", 0) or 0),
        "deliveries": int(getattr(payloads, "rowcount", 0) or 0),
        "delivery_ids": int(getattr(inbox, "rowcount", 0) or 0),
    }
