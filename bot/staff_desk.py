"""``carebot staff``: work handoffs from a terminal when Slack is not configured.

It shares the database with the running bot: what staff do here is written to the outbox,
and the bot process delivers it to the customer.
"""

from __future__ import annotations

import asyncio
import sys
from typing import TextIO

from bot.app import build_carebot
from bot.config import Settings
from bot.core.events import (
    StaffClaim,
    StaffEvent,
    StaffRef,
    StaffRelease,
    StaffReply,
    StaffResolve,
    StaffUnclaim,
)
from storage.unit_of_work import UnitOfWork

HELP = """Commands:
  queue                 open handoffs, oldest first
  show ID               the conversation's transcript
  claim ID              take the conversation
  reply ID TEXT         answer the customer
  note ID TEXT          internal note (never sent to the customer)
  resolve ID            close it; the customer gets the satisfaction survey
  release ID            hand it back to the bot
  unclaim ID            put it back in the queue
  quit"""
ACTIONS = {"claim", "reply", "note", "resolve", "release", "unclaim"}


def _event(word: str, conversation_id: int, agent: StaffRef, text: str) -> StaffEvent:
    if word == "claim":
        return StaffClaim(conversation_id, agent)
    if word in ("reply", "note"):
        return StaffReply(conversation_id, agent, text, internal=word == "note")
    if word == "resolve":
        return StaffResolve(conversation_id, agent)
    if word == "release":
        return StaffRelease(conversation_id, agent)
    return StaffUnclaim(conversation_id, agent)


async def run_staff_desk(
    settings: Settings, *, agent_name: str, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout
) -> int:
    """Read staff commands until end of input."""
    carebot = await build_carebot(settings, with_channels=False)
    agent = StaffRef("console", "staff-" + agent_name.lower().replace(" ", "-"), agent_name)
    interactive = stdin.isatty()

    def say(text: str) -> None:
        stdout.write(text + "\n")
        stdout.flush()

    if interactive:
        say(f"Carebot staff desk — signed in as {agent_name}. Type 'help'.")
    try:
        while True:
            if interactive:
                stdout.write("staff> ")
                stdout.flush()
            line = await asyncio.to_thread(stdin.readline)
            if not line:
                break
            word, _, rest = line.strip().partition(" ")
            word = word.lower()
            if not word:
                continue
            if word in ("quit", "exit"):
                break
            if word == "help":
                say(HELP)
            elif word == "queue":
                rows = await carebot.engine.staff_queue()
                if not rows:
                    say("No open handoffs.")
                for row in rows:
                    who = f", {row['agent']}" if row["agent"] else ""
                    vip = " VIP" if row["priority"] else ""
                    say(
                        f"#{row['conversation_id']}{vip} {row['customer'] or '?'} — "
                        f"{row['reason']}, {row['intent'] or 'unknown topic'} "
                        f"({row['status']}{who}, since {row['requested_at']:%Y-%m-%d %H:%M})"
                    )
            elif word == "show" and rest.strip().isdigit():
                await _show(carebot.db, int(rest.strip()), say)
            elif word in ACTIONS:
                number, _, text = rest.strip().partition(" ")
                if not number.isdigit() or (word in ("reply", "note") and not text.strip()):
                    say(f"Usage: {word} ID{' TEXT' if word in ('reply', 'note') else ''}")
                    continue
                outcome = await carebot.engine.handle(_event(word, int(number), agent, text))
                say(outcome.notice or f"Done: conversation #{number} is {outcome.status}.")
            else:
                say("Unknown command. Type 'help'.")
    finally:
        await carebot.stop()
    return 0


async def _show(db: object, conversation_id: int, say: object) -> None:
    from storage.db import Database

    assert isinstance(db, Database) and callable(say)
    async with UnitOfWork(db) as uow:
        conversation = await uow.conversations.get(conversation_id)
        if conversation is None:
            say("No such conversation.")
            return
        say(
            f"Conversation #{conversation.id}: {conversation.status}, "
            f"intent {conversation.primary_intent}, mood {conversation.mood}"
        )
        for message in await uow.messages.transcript(conversation_id):
            note = " (internal note)" if message.internal else ""
            say(f"  {message.created_at:%H:%M} {message.author_kind}{note}: {message.text}")
