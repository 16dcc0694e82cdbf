"""The composition root: settings in, a wired Carebot out. Wiring only, no logic.

Channels are built here from configuration alone: Telegram when ``TELEGRAM_BOT_TOKEN`` is
set, Slack when ``SLACK_BOT_TOKEN`` is set, the console otherwise. This is the only module
(besides the CLI) that imports both the core and the channels.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from bot.config import Settings
from bot.core import digest, privacy_requests
from bot.core.dispatcher import Dispatcher
from bot.core.engine import ConversationEngine
from bot.core.office_hours import OfficeHours
from bot.core.ports import Sender
from bot.core.scheduler import JobRunner
from bot.core.turn import Services
from bot.errors import ConfigError
from intents import load_understander
from intents.base import Understander
from intents.embeddings import EmbeddingsUnavailable
from intents.worker import UnderstandingWorker
from responses import ResponseRenderer
from storage.db import Database, open_database
from storage.migrate import upgrade_database
from storage.models import Job, utcnow
from storage.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


def settle_heap() -> None:
    """Once a long-running bot has started: collect start-up garbage, then move what is
    left (the model, templates, SQLAlchemy's metadata, PTB's classes: about 240,000
    objects) out of the cyclic collector's sight (``gc.freeze``). Those objects live as
    long as the process, yet every full collection would walk them all again (about
    130 ms each, a stall for whichever message is being handled)."""
    gc.collect()
    gc.freeze()


RETENTION_JOB = "retention_purge"
INACTIVITY_JOB = "inactivity_sweep"
INACTIVITY_SWEEP_EVERY = timedelta(minutes=1)


class Channel(Protocol):
    """What a platform channel offers the application."""

    name: str

    def senders(self) -> dict[str, Sender]:
        """Senders by outbox channel name."""
        ...

    async def start(self) -> None:
        """Connect (polling, Socket Mode, webhook registration)."""
        ...

    async def stop(self) -> None:
        """Disconnect, finishing in-flight work."""
        ...

    def routes(self) -> list[Any]:
        """Starlette routes this channel serves on the ASGI app (webhooks)."""
        ...


@dataclass
class Carebot:
    """Everything one worker runs: engine, dispatcher, timers and channels."""

    settings: Settings
    db: Database
    engine: ConversationEngine
    dispatcher: Dispatcher
    jobs: JobRunner
    channels: list[Channel] = field(default_factory=list)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _worker_start: asyncio.Task[bool] | None = None

    def add_sender(self, name: str, sender: Sender) -> None:
        """Register a sender for outbox rows of channel ``name``."""
        self.dispatcher.senders[name] = sender

    def add_channel(self, channel: Channel) -> None:
        """Register a platform channel and its senders."""
        self.channels.append(channel)
        for name, sender in channel.senders().items():
            self.add_sender(name, sender)

    async def start(self, *, background: bool = True) -> None:
        """Start channels and, if ``background``, the dispatcher and timer loops."""
        self._stop.clear()
        worker = self.understanding_worker
        if worker is not None:  # ready in a second or two; until then, read in-process
            self._worker_start = asyncio.create_task(worker.start(), name="understanding")
        await self.schedule_recurring()
        for channel in self.channels:
            await channel.start()
        if background:
            self._tasks = [
                asyncio.create_task(self.dispatcher.run_forever(self._stop), name="dispatcher"),
                asyncio.create_task(self.jobs.run_forever(self._stop), name="jobs"),
            ]

    @property
    def understanding_worker(self) -> UnderstandingWorker | None:
        """The child process that reads messages, if configured."""
        found = self.engine.services.understander
        return found if isinstance(found, UnderstandingWorker) else None

    async def schedule_recurring(self) -> None:
        """Make sure the recurring timers (inactivity sweep, retention purge, digest) exist."""
        async with UnitOfWork(self.db) as uow:
            for job in (INACTIVITY_JOB, RETENTION_JOB):
                await uow.jobs.ensure(job, job, self.engine.clock())
            first_digest = digest.first_due(self.settings, self.engine.clock())
            await uow.jobs.ensure(digest.DIGEST_JOB, digest.DIGEST_JOB, first_digest)
            await uow.commit()

    async def stop(self) -> None:
        """Stop taking work, let in-flight deliveries finish, close everything."""
        self._stop.set()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=10)
            self._tasks = []
        worker = self.understanding_worker
        if worker is not None:
            await worker.stop()
        if self._worker_start is not None:
            await asyncio.wait([self._worker_start], timeout=10)
            self._worker_start = None
        for channel in reversed(self.channels):
            try:
                await channel.stop()
            except Exception:
                log.exception("stopping channel %s failed", channel.name)
        await self.db.dispose()


def staff_channel_name(settings: Settings) -> str:
    """Where staff rows go: Slack when configured, else the console desk."""
    return "slack" if settings.slack_enabled else "console-staff"


def assemble_carebot(
    settings: Settings,
    *,
    clock: Callable[[], datetime] = utcnow,
    understander: Understander | None = None,
    schema: str | None = None,
    with_channels: bool = True,
    staff_channel: str | None = None,
    database: Database | None = None,
) -> Carebot:
    """Wire a Carebot from settings (no I/O yet); platform channels follow configuration."""
    db = database or open_database(settings.database_url, schema=schema)
    services = Services(
        settings=settings,
        renderer=ResponseRenderer(settings.templates_path),
        understander=_reading_in_child(understander or _understander(settings), settings),
        office_hours=OfficeHours(settings.office_windows, settings.zone),
        staff_channel=staff_channel or staff_channel_name(settings),
    )
    engine = ConversationEngine(db, services, clock=clock)
    dispatcher = Dispatcher(
        db,
        {},
        clock=clock,
        max_attempts=settings.outbox_max_attempts,
        poll_seconds=settings.outbox_poll_seconds,
        wake=engine.work_ready,
        lease=timedelta(seconds=settings.outbox_lease_seconds),
        max_backoff=settings.outbox_max_backoff_seconds,
        ride_seconds=settings.outbox_record_delay_seconds,
    )
    engine.courier = dispatcher  # replies go straight to it while its loop runs
    carebot = Carebot(
        settings=settings,
        db=db,
        engine=engine,
        dispatcher=dispatcher,
        jobs=JobRunner(engine, clock=clock, lease=timedelta(seconds=settings.job_lease_seconds)),
    )

    async def retention_purge(_job: Job) -> datetime:
        return await privacy_requests.purge(engine, settings.retention_days)

    carebot.jobs.register(RETENTION_JOB, retention_purge)

    async def inactivity_sweep(_job: Job) -> datetime:
        await engine.sweep_inactive()
        return engine.clock() + INACTIVITY_SWEEP_EVERY

    carebot.jobs.register(INACTIVITY_JOB, inactivity_sweep)

    async def weekly_digest(job: Job) -> datetime:
        return await digest.run_digest(engine, job)

    carebot.jobs.register(digest.DIGEST_JOB, weekly_digest)
    if with_channels:
        _add_platform_channels(carebot)
    return carebot


async def build_carebot(
    settings: Settings,
    *,
    clock: Callable[[], datetime] = utcnow,
    understander: Understander | None = None,
    schema: str | None = None,
    with_channels: bool = True,
    staff_channel: str | None = None,
) -> Carebot:
    """Assemble a Carebot and bring its database schema up to date."""
    carebot = assemble_carebot(
        settings,
        clock=clock,
        understander=understander,
        schema=schema,
        with_channels=with_channels,
        staff_channel=staff_channel,
    )
    await upgrade_database(carebot.db)
    return carebot


def _add_platform_channels(carebot: Carebot) -> None:
    settings = carebot.settings
    if settings.telegram_enabled:
        from bot.channels.telegram import TelegramChannel

        carebot.add_channel(TelegramChannel.from_settings(settings, carebot.engine))
    if settings.slack_enabled:
        from bot.channels.slack import SlackChannel

        carebot.add_channel(SlackChannel.from_settings(settings, carebot.engine))
    else:  # handoffs wait in the database for `carebot staff`
        from bot.channels.console import QuietStaffSender

        carebot.add_sender(staff_channel_name(settings), QuietStaffSender())


def _reading_in_child(understander: Understander, settings: Settings) -> Understander:
    """Wrap ``understander`` to read messages in a child process, if configured; the
    child starts with :meth:`Carebot.start`."""
    if not settings.reads_in_child or isinstance(understander, UnderstandingWorker):
        return understander
    return UnderstandingWorker(understander)


def _understander(settings: Settings) -> Understander:
    """The configured understander; a missing embeddings extra is a settings error."""
    try:
        return load_understander(settings.domain_path, model=settings.intent_model)
    except EmbeddingsUnavailable as exc:
        raise ConfigError(f"CAREBOT_INTENT_MODEL={settings.intent_model}: {exc}") from exc
