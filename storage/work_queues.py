"""The outbox and the jobs table: durable work claimed with leases.

Both are claimed in a short transaction that sets a lease (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, so two workers never take the same row) and worked outside it. A worker
that dies mid-flight leaves a lease that simply expires, and the row is claimed again:
delivery is at-least-once, and receivers deduplicate.

Outbox rows share a *lane* (one customer chat, one Slack thread): only the oldest pending
row of a lane can be claimed, so retries never reorder a conversation.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, bindparam, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.inline_statements import InlineStatement, built_once, inline_sqlite
from storage.inline_writes import insert_statement, row_values
from storage.models import Job, JobStatus, OutboxItem, OutboxStatus, utcnow
from storage.repositories import _Repository, dialect_insert, insert_ignoring_conflicts

_OUTBOX: Any = OutboxItem.__table__
_JOBS: Any = Job.__table__


def _schedule_statement(insert: Any) -> InlineStatement:
    """Insert a pending timer, or reset the one with that key to pending at its new time
    (``insert``: the dialect's, see :func:`~storage.repositories.dialect_insert`)."""
    stmt = insert(_JOBS).values(
        key=bindparam("key"),
        kind=bindparam("kind"),
        due_at=bindparam("due_at"),
        payload=bindparam("payload"),
        status=JobStatus.PENDING,
        attempts=0,
        created_at=bindparam("created_at"),
    )
    excluded = stmt.excluded
    return InlineStatement(
        stmt.on_conflict_do_update(
            index_elements=[_JOBS.c.key],
            set_={
                "due_at": excluded.due_at,
                "kind": excluded.kind,
                "payload": excluded.payload,
                "status": JobStatus.PENDING,
                "leased_until": None,
                "attempts": 0,
            },
        )
    )


class OutboxRepository(_Repository):
    """Pending deliveries.

    New rows are staged and written just before the unit of work commits
    (:meth:`write_staged`): on the inline SQLite connection with one plain ``INSERT`` each
    instead of the ORM's flush, elsewhere by the ORM as before.
    """

    def __init__(self, session: AsyncSession) -> None:
        super().__init__(session)
        self.added: list[OutboxItem] = []  # staged by this unit of work, in order
        self._unwritten: list[OutboxItem] = []

    def add(
        self,
        *,
        target: str,
        channel: str,
        lane: str,
        kind: str,
        payload: dict[str, Any],
        conversation_id: int | None,
        now: datetime | None = None,
    ) -> OutboxItem:
        """Stage a delivery; it becomes visible to the dispatcher when the caller commits."""
        now = now or utcnow()
        item = OutboxItem(
            target=target,
            channel=channel,
            lane=lane,
            kind=kind,
            payload=payload,
            conversation_id=conversation_id,
            status=OutboxStatus.PENDING,
            attempts=0,
            created_at=now,
            next_attempt_at=now,
        )
        self._unwritten.append(item)
        self.added.append(item)
        return item

    async def write_staged(self) -> None:
        """Write the rows added since the last call (the unit of work does this before
        committing); afterwards each has its ``id``."""
        if not self._unwritten:
            return
        items, self._unwritten = self._unwritten, []
        if await inline_sqlite(self.session) is None:
            self.session.add_all(items)
            await self.session.flush()
            return
        for item in items:
            item.id = await insert_statement(_OUTBOX).insert(
                self.session, row_values(_OUTBOX, item)
            )

    async def lease_added(
        self,
        *,
        channels: Collection[str],
        lease: timedelta,
        now: datetime,
        settled: Collection[int] = (),
    ) -> list[OutboxItem]:
        """Lease rows staged in this unit of work, so they are delivered straight away.

        Only customer rows of ``channels``, and only the first row of a lane that has no
        older pending row (unless that row's id is in ``settled``: it already reached the
        platform and only its result is still to be recorded) — a lane's messages keep
        their order. The lease is committed with the rows: no other worker claims them
        while it runs, and if this one dies they are claimed again when it expires.
        """
        firsts: dict[str, OutboxItem] = {}
        for item in self.added:
            firsts.setdefault(item.lane, item)
        wanted = [i for i in firsts.values() if i.target == "customer" and i.channel in channels]
        if not wanted:
            return []
        own = {item.id for item in self.added if item.id is not None}
        leased = []
        for item in wanted:  # one lane per customer chat: usually one statement
            rows = await _older_pending().rows(self.session, {"lane": item.lane})
            if all(row_id in settled or row_id in own for (row_id,) in rows):
                leased.append(item)
        for item in leased:
            item.leased_until = now + lease
            item.attempts += 1
        return leased

    async def claim(
        self, *, channels: Sequence[str], limit: int, lease: timedelta, now: datetime | None = None
    ) -> list[OutboxItem]:
        """Lease up to ``limit`` deliveries that are due, at most one per lane."""
        now = now or utcnow()
        stmt = _claim_statement(self._locks_rows)
        params = {"channels": list(channels), "now": now, "limit": limit}
        items = list((await self.session.execute(stmt, params)).scalars().all())
        for item in items:
            item.leased_until = now + lease
            item.attempts += 1
        return items

    async def get(self, item_id: int) -> OutboxItem | None:
        """One delivery by id."""
        return await self.session.get(OutboxItem, item_id)

    async def mark_sent(self, rows: Sequence[tuple[int, str | None]], now: datetime) -> None:
        """Record deliveries the platform accepted (id, platform message id): one statement."""
        await _mark_sent().run_many(
            self.session, [{"row_id": row, "ref": ref, "now": now} for row, ref in rows]
        )


_CLAIMS: dict[bool, Select[OutboxItem]] = {}


def _older_pending() -> InlineStatement:
    """The pending rows of one lane (built once; its SQL never changes)."""
    return built_once(
        ("outbox", "older pending"),
        lambda: InlineStatement(
            select(OutboxItem.id).where(
                OutboxItem.lane == bindparam("lane"), OutboxItem.status == OutboxStatus.PENDING
            )
        ),
    )


def _mark_sent() -> InlineStatement:
    """A delivery the platform accepted, recorded with its platform id (built once)."""
    return built_once(
        ("outbox", "mark sent"),
        lambda: InlineStatement(
            update(_OUTBOX)
            .where(_OUTBOX.c.id == bindparam("row_id"))
            .values(
                status=OutboxStatus.SENT,
                sent_at=bindparam("now"),
                result_ref=bindparam("ref"),
                leased_until=None,
            )
        ),
    )


def _claim_statement(locks_rows: bool) -> Select[OutboxItem]:
    """The claim query, built once: building it costs more than running it on SQLite."""
    found = _CLAIMS.get(locks_rows)
    if found is not None:
        return found
    earlier = aliased(OutboxItem)
    now: Any = bindparam("now")
    blocked = exists().where(
        earlier.lane == OutboxItem.lane,
        earlier.status == OutboxStatus.PENDING,
        earlier.id < OutboxItem.id,
    )
    stmt = (
        select(OutboxItem)
        .where(
            OutboxItem.status == OutboxStatus.PENDING,
            OutboxItem.channel.in_(bindparam("channels", expanding=True)),
            OutboxItem.next_attempt_at <= now,
            or_(OutboxItem.leased_until.is_(None), OutboxItem.leased_until < now),
            ~blocked,
        )
        .order_by(OutboxItem.id)
        .limit(bindparam("limit"))
    )
    if locks_rows:
        stmt = stmt.with_for_update(skip_locked=True, of=OutboxItem)
    _CLAIMS[locks_rows] = stmt
    return stmt


class JobRepository(_Repository):
    """Timers."""

    async def schedule(
        self,
        key: str,
        kind: str,
        due_at: datetime,
        payload: dict[str, Any] | None = None,
        now: datetime | None = None,
    ) -> None:
        """Create the timer ``key``, or move it to ``due_at`` and make it pending again
        (one ``INSERT … ON CONFLICT DO UPDATE`` on either engine)."""
        insert = dialect_insert(self.session)
        await built_once(("job", "schedule", insert), lambda: _schedule_statement(insert)).run(
            self.session,
            {
                "key": key,
                "kind": kind,
                "due_at": due_at,
                "payload": payload or {},
                "created_at": now or utcnow(),
            },
        )

    async def ensure(
        self,
        key: str,
        kind: str,
        due_at: datetime,
        payload: dict[str, Any] | None = None,
        now: datetime | None = None,
    ) -> None:
        """Create the timer ``key`` unless it exists (recurring jobs, set up at start)."""
        await self.session.execute(
            insert_ignoring_conflicts(
                self.session,
                Job,
                {
                    "key": key,
                    "kind": kind,
                    "due_at": due_at,
                    "payload": payload or {},
                    "status": JobStatus.PENDING,
                    "attempts": 0,
                    "created_at": now or utcnow(),
                },
            )
        )

    async def cancel(self, key: str) -> None:
        """Cancel the timer ``key`` if it is still pending."""
        stmt = built_once(
            ("job", "cancel"),
            lambda: InlineStatement(
                update(_JOBS)
                .where(_JOBS.c.key == bindparam("job_key"), _JOBS.c.status == JobStatus.PENDING)
                .values(status=JobStatus.CANCELLED)
            ),
        )
        await stmt.run(self.session, {"job_key": key})

    async def get(self, key: str) -> Job | None:
        """One timer by key."""
        return (await self.session.execute(select(Job).where(Job.key == key))).scalar_one_or_none()

    async def claim(
        self, *, limit: int, lease: timedelta, now: datetime | None = None
    ) -> list[Job]:
        """Lease up to ``limit`` timers that are due."""
        now = now or utcnow()
        stmt = (
            select(Job)
            .where(
                and_(
                    Job.status == JobStatus.PENDING,
                    Job.due_at <= now,
                    or_(Job.leased_until.is_(None), Job.leased_until < now),
                )
            )
            .order_by(Job.due_at)
            .limit(limit)
        )
        if self._locks_rows:
            stmt = stmt.with_for_update(skip_locked=True)
        jobs = list((await self.session.execute(stmt)).scalars().all())
        for job in jobs:
            job.leased_until = now + lease
            job.attempts += 1
        return jobs
