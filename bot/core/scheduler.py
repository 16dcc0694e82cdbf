"""The jobs runner: runs due timers, once, whichever worker claims them first.

Timers are rows (``storage.models.Job``), so they survive restarts. Customer timers run
through the engine under the customer's lock; other kinds (the weekly digest, the
retention purge) are registered by the composition root.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from bot.core.engine import ConversationEngine
from storage.models import Job, utcnow
from storage.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)
JobHandler = Callable[[Job], Awaitable[datetime | None]]


class JobRunner:
    """Claims due jobs with a lease and runs them."""

    def __init__(
        self,
        engine: ConversationEngine,
        *,
        clock: Callable[[], datetime] = utcnow,
        batch: int = 32,
        lease: timedelta = timedelta(minutes=2),
        poll_seconds: float = 1.0,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.batch = batch
        self.lease = lease
        self.poll_seconds = poll_seconds
        self.handlers: dict[str, JobHandler] = {}

    def register(self, kind: str, handler: JobHandler) -> None:
        """Run ``handler`` for jobs of ``kind`` (non-conversation timers).

        The handler returns when the job should run again (recurring jobs) or ``None``.
        It must be idempotent: a worker that dies mid-run leaves the job to run again.
        """
        self.handlers[kind] = handler

    async def run_due(self) -> int:
        """Run every job due now; returns how many ran."""
        async with UnitOfWork(self.engine.db) as uow:
            jobs = await uow.jobs.claim(limit=self.batch, lease=self.lease, now=self.clock())
            claimed = [(job.key, job.kind) for job in jobs]
            await uow.commit()
        for key, kind in claimed:
            try:
                if kind in self.handlers:
                    await self._run_registered(key)
                else:
                    await self.engine.run_job(key)
            except Exception:
                log.exception("job %s failed; it will be retried when its lease expires", key)
        return len(claimed)

    async def _run_registered(self, key: str) -> None:
        async with UnitOfWork(self.engine.db) as uow:
            job = await uow.jobs.get(key)
            if job is None or job.status != "pending":
                return
            uow.session.expunge(job)  # a detached copy the handler may read
        again = await self.handlers[job.kind](job)
        async with UnitOfWork(self.engine.db) as uow:
            if again is None:
                stored = await uow.jobs.get(key)
                if stored is not None:
                    stored.status = "done"
                    stored.leased_until = None
            else:
                await uow.jobs.schedule(key, job.kind, again, job.payload, now=self.clock())
            await uow.commit()

    async def run_forever(self, stop: asyncio.Event) -> None:
        """Run timers until ``stop`` is set."""
        while not stop.is_set():
            try:
                ran = await self.run_due()
            except Exception:
                log.exception("jobs round failed; retrying")
                ran = 0
            if ran:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.poll_seconds)
