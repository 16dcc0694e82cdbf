"""A Carebot on a test database talking to :class:`FakeTelegram` through the real PTB stack.

``async with telegram_world(database, understander, clock) as world`` starts the fake Bot
API, a Carebot with the Telegram channel (polling by default) and a collecting staff
desk. Updates go in with ``world.fake.say(...)``; ``await world.handled(n)`` waits until
the channel has run ``n`` updates through the engine; ``await world.settle()`` delivers
the outbox and runs due timers with the fake clock, so retries never sleep for real.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from bot.app import Carebot, assemble_carebot
from bot.channels.console import CollectingSender
from bot.channels.telegram import TelegramChannel
from bot.core.events import StaffRef
from intents.base import Understander
from storage.db import Database
from storage.unit_of_work import UnitOfWork
from tests.fakes.telegram_server import TOKEN, FakeTelegram
from tests.helpers import FakeClock, make_settings

FAST = {"telegram_rate_overall": 10_000.0, "telegram_rate_per_chat": 10_000.0}
AGENT = StaffRef("console", "U-ana", "Ana Agent")


@dataclass
class TelegramWorld:
    """The fake, the Carebot and its Telegram channel, and the staff desk."""

    fake: FakeTelegram
    carebot: Carebot
    channel: TelegramChannel
    staff: CollectingSender
    clock: FakeClock

    async def handled(self, count: int, within: float = 5.0) -> None:
        """Wait until the channel has handled ``count`` updates in total."""
        await self.fake.wait_for(lambda: self.channel.handled >= count, within)

    async def settle(self) -> None:
        """Deliver due outbox rows and run due timers until nothing changes."""
        for _ in range(20):
            sent = await self.carebot.dispatcher.drain()
            ran = await self.carebot.jobs.run_due()
            if not sent and not ran:
                return

    async def exchange(self, chat_id: int, text: str, **kw: Any) -> list[str]:
        """The customer writes; returns the texts the bot sent in answer."""
        before = len(self.fake.texts(chat_id))
        self.fake.say(chat_id, text, **kw)
        await self.handled(self.channel.handled + 1)
        await self.settle()
        return self.fake.texts(chat_id)[before:]

    async def query(self, fn: Any) -> Any:
        """Run ``fn(uow)`` in a unit of work and return its result."""
        async with UnitOfWork(self.carebot.db) as uow:
            return await fn(uow)


@asynccontextmanager
async def telegram_world(
    database: Database,
    understander: Understander,
    clock: FakeClock,
    *,
    background: bool = False,
    read_timeout: float = 2.0,
    **settings: Any,
) -> AsyncIterator[TelegramWorld]:
    """Start everything; ``background`` also runs the dispatcher and timer loops."""
    fake = FakeTelegram()
    await fake.start()
    fields = {"telegram_bot_token": TOKEN, "telegram_api_url": fake.base_url, **FAST, **settings}
    config = make_settings(**fields)
    carebot = assemble_carebot(
        config,
        clock=clock,
        understander=understander,
        with_channels=False,
        staff_channel="console-staff",
        database=database,
    )
    carebot.dispatcher.poll_seconds = 0.05
    channel = TelegramChannel.from_settings(
        config, carebot.engine, poll_timeout=1, read_timeout=read_timeout
    )
    carebot.add_channel(channel)
    staff = CollectingSender()
    carebot.add_sender("console-staff", staff)
    world = TelegramWorld(fake, carebot, channel, staff, clock)
    await carebot.start(background=background)
    try:
        yield world
    finally:
        carebot._stop.set()
        for task in carebot._tasks:
            await task
        await channel.stop()
        await fake.stop()
