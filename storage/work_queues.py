"""The outbox and the jobs table: durable work claimed with leases.

Both are claimed in a short transaction that sets a lease (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, so two workers never take the same row) and worked outside it. A worker
that dies mid-flight leaves a lease that simply expires, and the row is claimed again:
delivery is at-least-once, and receivers deduplicate.

Outbox rows share a *lane* (one customer chat, one Slack thread): only the oldest pending
row of a lane can be claimed, so retries never reorder a conversation.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.orm import aliased

from storage.models import Job, JobStatus, OutboxItem, OutboxStatus, utcnow
from storage.repositories import _Repository, insert_ignoring_conflicts


class OutboxRepository(_Repository):
    """Pending deliveries."""

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
        self.session.add(item)
        return item

    async def claim(
        self, *, channels: Sequence[str], limit: int, lease: timedelta, now: datetime | None = None
    ) -> list[OutboxItem]:
        """Lease up to ``limit`` deliveries that are due, at most one per lane."""
        now = now or utcnow()
        earlier = aliased(OutboxItem)
        blocked = exists().where(
            earlier.lane == OutboxItem.lane,
            earlier.status == OutboxStatus.PENDING,
            earlier.id < OutboxItem.id,
        )
        stmt = (
            select(OutboxItem)
            .where(
                OutboxItem.status == OutboxStatus.PENDING,
                OutboxItem.channel.in_(list(channels)),
                OutboxItem.next_attempt_at <= now,
                or_(OutboxItem.leased_until.is_(None), OutboxItem.leased_until < now),
                ~blocked,
            )
            .order_by(OutboxItem.id)
            .limit(limit)
        )
        if self._locks_rows:
            stmt = stmt.with_for_update(skip_locked=True, of=OutboxItem)
        items = list((await self.session.execute(stmt)).scalars().all())
        for item in items:
            item.leased_until = now + lease
            item.attempts += 1
        return items

    async def get(self, item_id: int) -> OutboxItem | None:
        """One delivery by id."""
        return await self.session.get(OutboxItem, item_id)


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
        """Create the timer ``key``, or move it to ``due_at`` and make it pending again."""
        await self.ensure(key, kind, due_at, payload, now=now)
        await self.session.execute(
            update(Job)
            .where(Job.key == key)
            .values(
                due_at=due_at,
                kind=kind,
                payload=payload or {},
                status=JobStatus.PENDING,
                leased_until=None,
                attempts=0,
            )
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
        await self.session.execute(
            update(Job)
            .where(Job.key == key, Job.status == JobStatus.PENDING)
            .values(status=JobStatus.CANCELLED)
        )

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
