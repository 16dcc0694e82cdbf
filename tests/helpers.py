"""Test helpers: a controllable clock and a Carebot wired to collecting senders."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.app import Carebot, assemble_carebot
from bot.channels.console import CollectingSender
from bot.config import Settings
from bot.core.events import CustomerMessage, CustomerRef, Outcome, StaffRef
from intents.base import Understander
from storage.db import Database
from storage.unit_of_work import UnitOfWork


class FakeClock:
    """``clock()`` returns a fixed time that ``advance()`` moves forward."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # a Monday morning

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        """Move forward by ``timedelta(**kwargs)``."""
        self.now += timedelta(**kwargs)


def make_settings(**overrides: Any) -> Settings:
    """Settings for tests: no channels, quiet defaults, overrides by field name."""
    base: dict[str, Any] = {
        "database_url": "sqlite+aiosqlite:///unused.db",
        "understanding_process": "off",  # tests of the child process turn it on
    }
    base.update(overrides)
    return Settings.model_validate(base)


@dataclass
class Harness:
    """A Carebot on a test database whose customer and staff channels collect deliveries."""

    carebot: Carebot
    customer_out: CollectingSender
    staff_out: CollectingSender
    clock: FakeClock
    agent: StaffRef = field(default_factory=lambda: StaffRef("console", "U-ana", "Ana Agent"))
    recurring: bool = False

    @property
    def engine(self) -> Any:
        """The engine under test."""
        return self.carebot.engine

    def customer(self, name: str = "Ann", external_id: str = "42", **kw: Any) -> CustomerRef:
        """A console customer reference."""
        return CustomerRef(
            "console",
            external_id,
            external_id,
            display_name=f"{name} Example",
            first_name=name,
            language=kw.get("language", "en"),
        )

    async def say(self, text: str, who: CustomerRef | None = None, **kw: Any) -> Outcome:
        """The customer writes; deliveries are settled afterwards."""
        outcome = await self.engine.handle(CustomerMessage(who or self.customer(), text, **kw))
        await self.settle()
        return outcome

    async def act(self, event: Any) -> Outcome:
        """Handle any event and settle deliveries."""
        outcome = await self.engine.handle(event)
        await self.settle()
        return outcome

    async def settle(self) -> None:
        """Deliver what is due and run due timers until nothing changes."""
        if not self.recurring:
            await self.carebot.schedule_recurring()
            self.recurring = True
        for _ in range(10):
            sent = await self.carebot.dispatcher.drain()
            ran = await self.carebot.jobs.run_due()
            if not sent and not ran:
                return

    async def later(self, **kwargs: float) -> None:
        """Let time pass and run whatever comes due."""
        self.clock.advance(**kwargs)
        await self.settle()

    def replies(self) -> list[str]:
        """Texts sent to the customer so far."""
        return self.customer_out.texts()

    def last_reply(self) -> str:
        """The newest text sent to the customer."""
        texts = [t for t in self.replies() if t]
        return texts[-1] if texts else ""

    async def conversation(self, conversation_id: int) -> Any:
        """Load a conversation row."""
        return await self.query(lambda uow: uow.conversations.get(conversation_id))

    async def query(self, fn: Any) -> Any:
        """Run ``fn(uow)`` in a unit of work and return its result."""
        async with UnitOfWork(self.carebot.db) as uow:
            result = await fn(uow)
            uow.session.expunge_all()  # keep loaded values readable after the transaction
            return result


def build_harness(
    database: Database, understander: Understander, clock: FakeClock, **overrides: Any
) -> Harness:
    """A harness on ``database`` (already migrated) with settings ``overrides``."""
    settings = make_settings(**overrides)
    carebot = assemble_carebot(
        settings,
        clock=clock,
        understander=understander,
        with_channels=False,
        staff_channel="console-staff",
        database=database,
    )
    customer_out, staff_out = CollectingSender(), CollectingSender()
    carebot.add_sender("console", customer_out)
    carebot.add_sender("console-staff", staff_out)
    return Harness(carebot, customer_out, staff_out, clock)
