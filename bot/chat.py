"""``carebot chat``: the console channel wired to a real engine, dispatcher and timers."""

from __future__ import annotations

import asyncio
import sys
from typing import TextIO

from bot.app import Carebot, build_carebot
from bot.channels.console import (
    ConsoleOutput,
    ConsoleSender,
    ConsoleSession,
    ConsoleStaffSender,
    OffsetClock,
)
from bot.config import Settings
from bot.core.events import CustomerRef, StaffRef
from storage.unit_of_work import UnitOfWork

BANNER = """Carebot console — you are the customer. Type a message and press Enter.
Buttons show as [1] [2] ...: type the number. /human asks for a person, /cancel stops waiting.
Staff side (same terminal): /claim, /reply TEXT, /note TEXT, /resolve, /release, /unclaim.
/later 15m moves time forward (to see the satisfaction survey). Ctrl-D quits.
"""


async def settle(carebot: Carebot) -> None:
    """Deliver everything due and run due timers, until quiet."""
    await carebot.schedule_recurring()
    for _ in range(10):
        sent = await carebot.dispatcher.drain()
        ran = await carebot.jobs.run_due()
        if not sent and not ran:
            return


async def console_bot(settings: Settings, output: ConsoleOutput, clock: OffsetClock) -> Carebot:
    """A Carebot whose customer and staff channels are the terminal."""
    carebot = await build_carebot(
        settings, clock=clock, with_channels=False, staff_channel="console-staff"
    )
    carebot.add_sender("console", ConsoleSender(output))
    carebot.add_sender("console-staff", ConsoleStaffSender(output))
    return carebot


async def run_chat(
    settings: Settings,
    *,
    as_json: bool = False,
    name: str = "Alex",
    user_id: str = "console-user",
    agent_name: str = "Sam Staff",
    language: str = "en",
    stdin: TextIO = sys.stdin,
    stdout: TextIO = sys.stdout,
) -> int:
    """Read customer (and staff) lines until end of input."""
    clock = OffsetClock()
    output = ConsoleOutput(stdout, as_json=as_json, bot_name=settings.bot_name)
    carebot = await console_bot(settings, output, clock)
    session = ConsoleSession(
        customer=CustomerRef(
            "console",
            user_id,
            user_id,
            display_name=name,
            first_name=name.split()[0] if name else None,
            language=language,
        ),
        agent=StaffRef("console", "staff-" + agent_name.lower().replace(" ", "-"), agent_name),
        output=output,
        clock=clock,
    )
    interactive = stdin.isatty() and not as_json
    if interactive:
        output.line(BANNER)
    try:
        await settle(carebot)
        while True:
            if interactive:
                stdout.write("you> ")
                stdout.flush()
            line = await asyncio.to_thread(stdin.readline)
            if not line:
                break
            if not line.strip() and not interactive:
                continue
            parsed = session.parse(line)
            if parsed is None:
                continue
            if isinstance(parsed, str):
                _note(output, parsed)
            else:
                outcome = await carebot.engine.handle(parsed)
                if hasattr(parsed, "customer") and outcome.conversation_id:
                    session.conversation_id = outcome.conversation_id
                if outcome.notice:
                    _note(output, outcome.notice)
            await settle(carebot)
            if as_json and session.conversation_id is not None:
                status = await _status(carebot, session.conversation_id)
                output.emit(
                    {"type": "status", "conversation_id": session.conversation_id, "status": status}
                )
    finally:
        await carebot.stop()
    return 0


def _note(output: ConsoleOutput, text: str) -> None:
    if output.as_json:
        output.emit({"type": "notice", "text": text})
    else:
        output.line(f"  ({text})")


async def _status(carebot: Carebot, conversation_id: int) -> str | None:
    async with UnitOfWork(carebot.db) as uow:
        conversation = await uow.conversations.get(conversation_id)
        return conversation.status if conversation else None
