"""``carebot demo``: realistic conversations through the real engine, then a summary.

Everything runs on a fresh SQLite file with the console as both the customer's and the
staff's channel; time is simulated so the satisfaction survey arrives without waiting.
"""

from __future__ import annotations

import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TextIO

from sqlalchemy import select

from bot.app import Carebot
from bot.channels.console import ConsoleOutput, OffsetClock
from bot.chat import console_bot, settle
from bot.config import Settings
from bot.core.events import (
    CustomerChoice,
    CustomerMessage,
    CustomerRef,
    InboundEvent,
    StaffClaim,
    StaffRef,
    StaffReply,
    StaffResolve,
)
from storage.models import Customer, Survey
from storage.reports import summary
from storage.unit_of_work import UnitOfWork

AGENT = StaffRef("console", "staff-maria", "Maria Lopez")


@dataclass(frozen=True)
class Say:
    """The customer writes."""

    text: str


@dataclass(frozen=True)
class Staff:
    """Staff act: "claim", "reply TEXT", "resolve"."""

    action: str


@dataclass(frozen=True)
class Later:
    """Time passes."""

    minutes: float


@dataclass(frozen=True)
class Rate:
    """The customer taps a survey score."""

    score: int


Step = Say | Staff | Later | Rate
SCRIPTS: list[tuple[str, str, list[Step]]] = [
    (
        "A question the bot answers",
        "Ann",
        [
            Say("Hi there"),
            Say("where is my order?"),
            Say("It's order 48213"),
            Say("yes, thank you!"),
            Later(11),
            Rate(5),
        ],
    ),
    (
        "A frustrated customer, handed off, claimed and resolved by staff",
        "Ben",
        [
            Say("I've been waiting three weeks for my refund, this is ridiculous"),
            Say("Still nothing. I want to talk to a human"),
            Staff("claim"),
            Staff(
                "reply Hi Ben, I'm sorry about the wait. I can see the refund was stuck; "
                "I've pushed it through now and you'll get a confirmation e-mail today."
            ),
            Say("ok, thanks Maria"),
            Staff("resolve"),
            Later(11),
            Rate(4),
        ],
    ),
    (
        "A low score followed up by a person",
        "Cara",
        [
            Say("I was charged twice for the same order!!"),
            Staff("claim"),
            Staff("reply Hi Cara, I see both charges. The second one will be reversed."),
            Staff("resolve"),
            Later(11),
            Rate(2),
            Say("It took two days before anyone answered me."),
        ],
    ),
]


async def _step(
    carebot: Carebot,
    clock: OffsetClock,
    out: ConsoleOutput,
    customer: CustomerRef,
    step: Step,
    state: dict[str, int],
) -> None:
    event: InboundEvent | None = None
    if isinstance(step, Say):
        out.line(f"{customer.first_name}: {step.text}")
        event = CustomerMessage(customer, step.text)
    elif isinstance(step, Later):
        clock.advance(timedelta(minutes=step.minutes))
        out.line(f"   … {step.minutes:g} minutes later …")
    elif isinstance(step, Rate):
        survey_id = state.get("survey_id")
        if survey_id is None:
            survey_id = await _latest_survey(carebot, customer)
        out.line(f"{customer.first_name}: (taps {step.score})")
        event = CustomerChoice(customer, f"csat:{survey_id}:{step.score}")
    else:
        word, _, rest = step.action.partition(" ")
        conversation_id = state["conversation_id"]
        if word == "claim":
            out.line(f"[staff] {AGENT.display_name} claims the conversation")
            event = StaffClaim(conversation_id, AGENT)
        elif word == "reply":
            event = StaffReply(conversation_id, AGENT, rest)
        elif word == "resolve":
            out.line(f"[staff] {AGENT.display_name} resolves it")
            event = StaffResolve(conversation_id, AGENT)
    if event is not None:
        outcome = await carebot.engine.handle(event)
        if outcome.conversation_id and not isinstance(step, Rate):
            state["conversation_id"] = outcome.conversation_id
    await settle(carebot)


async def _latest_survey(carebot: Carebot, customer: CustomerRef) -> int:
    async with UnitOfWork(carebot.db) as uow:
        stmt = (
            select(Survey.id)
            .join(Customer, Customer.id == Survey.customer_id)
            .where(Customer.external_id == customer.external_id)
            .order_by(Survey.id.desc())
        )
        return int((await uow.session.execute(stmt)).scalars().first() or 0)


async def run_demo(
    settings: Settings, *, out: TextIO = sys.stdout, db_path: Path | None = None
) -> int:
    """Play the scripts and print the transcripts and a summary."""
    started = time.perf_counter()
    folder = None
    if db_path is None:
        folder = tempfile.TemporaryDirectory(prefix="carebot-demo-")
        db_path = Path(folder.name) / "demo.db"
    settings = settings.model_copy(
        update={"database_url": f"sqlite+aiosqlite:///{db_path}", "survey_throttle_days": 7}
    )
    clock = OffsetClock()
    output = ConsoleOutput(out, bot_name=settings.bot_name, show_staff=True)
    carebot = await console_bot(settings, output, clock)
    period_start = clock() - timedelta(minutes=1)
    try:
        for number, (title, name, steps) in enumerate(SCRIPTS, 1):
            output.line(f"\n=== {number}. {title} ===")
            customer = CustomerRef(
                "console",
                f"demo-{name.lower()}",
                f"demo-{name.lower()}",
                display_name=f"{name} Example",
                first_name=name,
                language="en",
            )
            state: dict[str, int] = {}
            for step in steps:
                await _step(carebot, clock, output, customer, step, state)
        numbers = await summary(carebot.db, period_start, clock() + timedelta(minutes=1))
    finally:
        await carebot.stop()
        if folder is not None:
            folder.cleanup()
    output.line("\n=== Satisfaction summary (this demo) ===")
    output.line(f"Conversations:     {numbers.conversations}")
    output.line(
        f"CSAT (4–5 of 5):   {numbers.csat.describe('customers satisfied')}"
        f" — {numbers.csat.n} responses"
    )
    output.line(f"Response rate:     {numbers.response_rate.describe('surveys answered')}")
    output.line(f"Handoff rate:      {numbers.handed_off.describe('conversations handed off')}")
    output.line(f"Bot resolution:    {numbers.bot_resolved.describe('resolved by the bot')}")
    output.line(
        f"\nDemo finished in {time.perf_counter() - started:.1f} s. Try it yourself: carebot chat"
    )
    return 0
