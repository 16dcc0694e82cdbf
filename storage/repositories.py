"""Repositories: the queries the engine needs, by aggregate. They never commit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.inline_statements import InlineGet, InlineLoad, InlineStatement, built_once
from storage.inline_writes import insert_now, insert_statement, row_values
from storage.models import (
    OPEN_STATUSES,
    Agent,
    Conversation,
    Customer,
    Handoff,
    HandoffStatus,
    Message,
    ProcessedEvent,
    Survey,
    SurveyStatus,
    utcnow,
)


def dialect_insert(session: AsyncSession) -> Any:
    """The session's dialect's ``insert`` (the one with ``on_conflict_…``)."""
    dialect = session.bind.dialect.name if session.bind else "sqlite"
    return (postgresql if dialect == "postgresql" else sqlite).insert


def insert_ignoring_conflicts(session: AsyncSession, table: Any, values: dict[str, Any]) -> Any:
    """An INSERT that does nothing when a unique key already exists (both dialects)."""
    return dialect_insert(session)(table).values(**values).on_conflict_do_nothing()


Entity = TypeVar("Entity")
_MESSAGES: Any = Message.__table__
_MESSAGE_COLUMNS = frozenset(column.key for column in _MESSAGES.columns)


def _load_one(
    entity: Any, *where: Any, newest: bool = False, locked: bool = False
) -> InlineLoad[Any]:
    """An :class:`InlineLoad` of the one (or the newest) ``entity`` row matching ``where``;
    ``locked``: the ORM query takes the row lock (PostgreSQL)."""
    table: Any = entity.__table__
    orm = select(entity).where(*where)
    if locked:
        orm = orm.with_for_update()
    columns = select(*table.columns).where(*where)
    if newest:
        orm = orm.order_by(entity.id.desc()).limit(1)
        columns = columns.order_by(table.c.id.desc()).limit(1)
    return InlineLoad(entity, orm, columns)


async def _get(session: AsyncSession, entity: type[Entity], ident: int) -> Entity | None:
    """``session.get`` through an :class:`InlineGet` built once per entity."""
    get: InlineGet[Entity] = built_once(("get", entity), lambda: InlineGet(entity))
    return await get.get(session, ident)


class _Repository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @property
    def _locks_rows(self) -> bool:
        bind = self.session.bind
        return bind is not None and bind.dialect.name == "postgresql"


class InboxRepository(_Repository):
    """Remembers handled deliveries so a redelivered event is a no-op."""

    async def first_time(self, source: str, event_id: str) -> bool:
        """Record the delivery; False if it was recorded before (a duplicate)."""
        dialect = self.session.bind.dialect.name if self.session.bind else "sqlite"
        stmt = built_once(
            ("inbox", dialect),
            lambda: InlineStatement(
                insert_ignoring_conflicts(
                    self.session,
                    ProcessedEvent.__table__,  # Core: an ORM insert with parameters is bulk
                    {
                        "source": bindparam("source"),
                        "event_id": bindparam("event_id"),
                        "processed_at": bindparam("processed_at"),
                    },
                )
            ),
        )
        params = {"source": source, "event_id": event_id, "processed_at": utcnow()}
        return bool(await stmt.run(self.session, params))


class CustomerRepository(_Repository):
    """Customers by channel identity."""

    async def get(self, customer_id: int, *, lock: bool = False) -> Customer | None:
        """Load one customer; ``lock`` takes the row lock that serialises its events."""
        stmt = select(Customer).where(Customer.id == customer_id)
        if lock and self._locks_rows:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def find(self, channel: str, external_id: str, *, lock: bool = False) -> Customer | None:
        """The customer known under this identity, if any (``lock``: row lock, PostgreSQL)."""
        locked = lock and self._locks_rows
        load: InlineLoad[Customer] = built_once(
            ("customer", locked),
            lambda: _load_one(
                Customer,
                Customer.channel == bindparam("channel"),
                Customer.external_id == bindparam("external_id"),
                locked=locked,
            ),
        )
        return await load.one_or_none(
            self.session, {"channel": channel, "external_id": external_id}
        )

    async def ensure(
        self, channel: str, external_id: str, address: str, now: datetime | None = None
    ) -> Customer:
        """Find or create the customer (safe against two workers creating it at once)."""
        now = now or utcnow()
        await self.session.execute(
            insert_ignoring_conflicts(
                self.session,
                Customer,
                {
                    "channel": channel,
                    "external_id": external_id,
                    "address": address,
                    "tags": [],
                    "extra": {},
                    "unreachable": False,
                    "first_seen_at": now,
                    "last_seen_at": now,
                },
            )
        )
        customer = await self.find(channel, external_id, lock=True)
        assert customer is not None
        return customer


class AgentRepository(_Repository):
    """Staff members by platform identity."""

    async def ensure(self, platform: str, external_id: str, display_name: str) -> Agent:
        """Find or create the agent, keeping the newest display name."""
        await self.session.execute(
            insert_ignoring_conflicts(
                self.session,
                Agent,
                {"platform": platform, "external_id": external_id, "display_name": display_name},
            )
        )
        stmt = select(Agent).where(Agent.platform == platform, Agent.external_id == external_id)
        agent = (await self.session.execute(stmt)).scalar_one()
        if display_name and agent.display_name != display_name:
            agent.display_name = display_name
        return agent

    async def get(self, agent_id: int | None) -> Agent | None:
        """One agent by id (``None`` for none)."""
        return await self.session.get(Agent, agent_id) if agent_id else None


class ConversationRepository(_Repository):
    """Conversations (touchpoints)."""

    async def get(self, conversation_id: int) -> Conversation | None:
        """One conversation by id."""
        return await _get(self.session, Conversation, conversation_id)

    async def open_for(self, customer_id: int) -> Conversation | None:
        """The customer's open conversation, if one is open."""
        load: InlineLoad[Conversation] = built_once(
            ("open_for",),
            lambda: _load_one(
                Conversation,
                Conversation.customer_id == bindparam("customer_id"),
                # Equalities, not IN: the statement's SQL stays fixed (see InlineStatement).
                or_(*(Conversation.status == status for status in OPEN_STATUSES)),
                newest=True,
            ),
        )
        return await load.one_or_none(self.session, {"customer_id": customer_id})

    async def latest_for(self, customer_id: int) -> Conversation | None:
        """The customer's most recent conversation, open or not."""
        stmt = (
            select(Conversation)
            .where(Conversation.customer_id == customer_id)
            .order_by(Conversation.id.desc())
            .limit(1)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def history(self, customer_id: int, *, before: int, limit: int = 5) -> Sequence[Any]:
        """Earlier touchpoints with their CSAT score, newest first (for staff context)."""
        stmt = (
            select(Conversation, Survey.score)
            .outerjoin(Survey, Survey.conversation_id == Conversation.id)
            .where(Conversation.customer_id == customer_id, Conversation.id < before)
            .order_by(Conversation.id.desc())
            .limit(limit)
        )
        return (await self.session.execute(stmt)).all()

    def add(self, conversation: Conversation) -> None:
        """Stage a new conversation."""
        self.session.add(conversation)

    async def quiet_since(self, cutoff: datetime, *, limit: int) -> Sequence[Any]:
        """Bot or waiting conversations with no activity since ``cutoff``, with their owner."""
        stmt = (
            select(Conversation.id, Customer.channel, Customer.external_id, Customer.id)
            .join(Customer, Customer.id == Conversation.customer_id)
            .where(
                Conversation.status.in_(["bot", "waiting_for_staff"]),
                Conversation.last_activity_at <= cutoff,
            )
            .order_by(Conversation.last_activity_at)
            .limit(limit)
        )
        return (await self.session.execute(stmt)).all()


class MessageRepository(_Repository):
    """The transcript.

    New messages are written with one Core INSERT for the whole unit of work (before its
    commit, or before a query that reads messages), not by the ORM's flush: they are
    never changed afterwards, and tracking them cost more than writing them.
    """

    def __init__(self, session: AsyncSession) -> None:
        super().__init__(session)
        self._staged: list[dict[str, Any]] = []

    def add(self, **columns: Any) -> None:
        """Stage a message, given as its columns' values (``Message``'s attributes)."""
        unknown = columns.keys() - _MESSAGE_COLUMNS
        if unknown:
            raise TypeError(f"messages have no column {sorted(unknown)[0]!r}")
        self._staged.append(columns)

    async def write_staged(self) -> None:
        """Insert the staged messages now (the unit of work does this before committing)."""
        if not self._staged:
            return
        rows = [row_values(_MESSAGES, message) for message in self._staged]
        self._staged.clear()
        await insert_statement(_MESSAGES).run_many(self.session, rows)

    async def seen_platform_id(self, channel: str, platform_message_id: str) -> bool:
        """True if this platform message was stored already."""
        await self.write_staged()
        stmt = select(func.count()).where(
            Message.channel == channel, Message.platform_message_id == platform_message_id
        )
        return bool((await self.session.execute(stmt)).scalar_one())

    async def transcript(self, conversation_id: int, *, limit: int = 200) -> Sequence[Message]:
        """The conversation's messages, oldest first (the last ``limit``)."""
        await self.write_staged()
        stmt = (
            select(Message)
            .where(Message.conversation_id == conversation_id)
            .order_by(Message.id.desc())
            .limit(limit)
        )
        rows = (await self.session.execute(stmt)).scalars().all()
        return list(reversed(rows))


class HandoffRepository(_Repository):
    """Requests for a person."""

    def add(self, handoff: Handoff) -> None:
        """Stage a new handoff."""
        self.session.add(handoff)

    async def get(self, handoff_id: int) -> Handoff | None:
        """One handoff by id."""
        return await _get(self.session, Handoff, handoff_id)

    async def current(self, conversation_id: int) -> Handoff | None:
        """The open (waiting or claimed) handoff of a conversation."""
        stmt = (
            select(Handoff)
            .where(
                Handoff.conversation_id == conversation_id,
                Handoff.status.in_([HandoffStatus.WAITING, HandoffStatus.CLAIMED]),
            )
            .order_by(Handoff.id.desc())
            .limit(1)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def latest(self, conversation_id: int) -> Handoff | None:
        """The newest handoff of a conversation, whatever its state."""
        stmt = (
            select(Handoff)
            .where(Handoff.conversation_id == conversation_id)
            .order_by(Handoff.id.desc())
            .limit(1)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def queue(self) -> Sequence[Any]:
        """Open handoffs, VIPs first, then oldest first: the staff queue, in one query."""
        stmt = (
            select(
                Handoff.id.label("handoff_id"),
                Handoff.conversation_id,
                Handoff.status,
                Handoff.reason,
                Handoff.requested_at,
                Handoff.priority,
                func.coalesce(Customer.display_name, Customer.first_name).label("customer"),
                Conversation.primary_intent.label("intent"),
                Agent.display_name.label("agent"),
            )
            .join(Conversation, Conversation.id == Handoff.conversation_id)
            .join(Customer, Customer.id == Conversation.customer_id)
            .outerjoin(Agent, Agent.id == Handoff.agent_id)
            .where(Handoff.status.in_([HandoffStatus.WAITING, HandoffStatus.CLAIMED]))
            .order_by(Handoff.priority.desc(), Handoff.requested_at)
        )
        return (await self.session.execute(stmt)).mappings().all()

    async def first_response_minutes(self, since: datetime, limit: int = 500) -> list[float]:
        """Recent human first-response times in minutes (for the expected-wait sentence)."""
        stmt = (
            select(Handoff.requested_at, Handoff.first_human_reply_at)
            .where(Handoff.first_human_reply_at.is_not(None), Handoff.requested_at >= since)
            .order_by(Handoff.requested_at.desc())
            .limit(limit)
        )
        rows = (await self.session.execute(stmt)).all()
        return [(reply - asked).total_seconds() / 60 for asked, reply in rows if reply and asked]


class SurveyRepository(_Repository):
    """CSAT surveys."""

    async def insert(self, survey: Survey) -> None:
        """Store a new survey now; afterwards it has its ``id``."""
        await insert_now(self.session, survey)

    async def get(self, survey_id: int) -> Survey | None:
        """One survey by id."""
        return await _get(self.session, Survey, survey_id)

    async def for_conversation(self, conversation_id: int) -> Survey | None:
        """The conversation's survey (there is at most one)."""
        load = built_once(
            ("survey", "conversation"),
            lambda: _load_one(Survey, Survey.conversation_id == bindparam("conversation_id")),
        )
        return await load.one_or_none(self.session, {"conversation_id": conversation_id})

    async def last_sent_at(self, customer_id: int) -> datetime | None:
        """When this customer was last sent a survey (for the throttle)."""
        stmt = built_once(
            ("survey", "last_sent"),
            lambda: InlineStatement(
                select(func.max(Survey.sent_at)).where(
                    Survey.customer_id == bindparam("customer_id")
                )
            ),
        )
        rows = await stmt.rows(self.session, {"customer_id": customer_id})
        found: datetime | None = rows[0][0] if rows else None
        return found

    async def pending_for(self, customer_id: int) -> Survey | None:
        """A scheduled survey not yet sent, if any (the newest)."""
        load = built_once(
            ("survey", "pending"),
            lambda: _load_one(
                Survey,
                Survey.customer_id == bindparam("customer_id"),
                Survey.status == SurveyStatus.SCHEDULED,
                newest=True,
            ),
        )
        return await load.one_or_none(self.session, {"customer_id": customer_id})

    async def awaiting_comment(self, customer_id: int) -> Survey | None:
        """An answered survey whose optional comment the bot asked for."""
        stmt = (
            select(Survey)
            .where(Survey.customer_id == customer_id, Survey.awaiting_comment.is_(True))
            .order_by(Survey.id.desc())
        )
        return (await self.session.execute(stmt)).scalars().first()
