"""The console channel: talk to Carebot in a terminal or through a pipe, no accounts needed.

The customer types lines; replies print on standard output, buttons as numbered choices
the customer can type. Lines starting with ``/`` that name a staff command (``/claim``,
``/reply TEXT``, ``/note TEXT``, ``/resolve``, ``/release``, ``/unclaim``, ``/queue``) act
as a staff member on the same conversation, so the whole handoff loop and the CSAT survey
can be tried alone. ``/later 15m`` moves the console's clock forward to see timers fire.
With ``--json`` every action prints as one JSON object per line, for scripted tests.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

from bot.core.actions import (
    CUSTOMER_DELETE,
    CUSTOMER_EDIT,
    CUSTOMER_SURVEY,
    STAFF_CUSTOMER_MESSAGE,
    STAFF_DELETE,
    STAFF_DIGEST,
    STAFF_HANDOFF,
    STAFF_HANDOFF_UPDATE,
    STAFF_NOTICE,
    Delivery,
    Receipt,
)
from bot.core.events import (
    CustomerChoice,
    CustomerCommand,
    CustomerMessage,
    CustomerRef,
    InboundEvent,
    StaffClaim,
    StaffRef,
    StaffRelease,
    StaffReply,
    StaffResolve,
    StaffUnclaim,
)

CUSTOMER_COMMANDS = {"/start": "start", "/help": "help", "/human": "human", "/cancel": "cancel"}
STAFF_COMMANDS = ("/claim", "/reply", "/note", "/resolve", "/release", "/unclaim")
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhd])$")


class OffsetClock:
    """Real time plus an offset that ``/later`` moves forward (timers fire on demand)."""

    def __init__(self, start: datetime | None = None) -> None:
        self._base = start
        self._started = datetime.now(UTC)
        self.offset = timedelta()

    def __call__(self) -> datetime:
        if self._base is not None:
            return self._base + self.offset + (datetime.now(UTC) - self._started)
        return datetime.now(UTC) + self.offset

    def advance(self, delta: timedelta) -> None:
        """Jump ``delta`` into the future."""
        self.offset += delta


def parse_duration(text: str) -> timedelta | None:
    """``"15m"``, ``"2h"``, ``"7d"``, ``"30s"`` → timedelta (None if unreadable)."""
    match = _DURATION.match(text.strip().lower())
    if not match:
        return None
    value, unit = float(match[1]), match[2]
    return timedelta(**{{"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[unit]: value})


@dataclass
class ConsoleOutput:
    """Prints deliveries for people (or as JSON lines) and remembers the last buttons."""

    out: TextIO
    as_json: bool = False
    show_staff: bool = True
    bot_name: str = "Carebot"
    buttons: list[dict[str, str]] = field(default_factory=list)
    counter: int = 0

    def emit(self, record: dict[str, Any]) -> None:
        """Write one JSON object per line."""
        self.out.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
        self.out.flush()

    def line(self, text: str) -> None:
        """Write text for a person."""
        self.out.write(text + "\n")
        self.out.flush()


class ConsoleSender:
    """Delivers customer-side rows to the terminal."""

    def __init__(self, output: ConsoleOutput) -> None:
        self.output = output

    async def deliver(self, delivery: Delivery) -> Receipt:
        """Print one customer-side action."""
        output = self.output
        output.counter += 1
        payload = delivery.payload
        buttons = [b for row in payload.get("buttons", []) for b in row]
        if delivery.kind == CUSTOMER_DELETE:
            if output.as_json:
                output.emit({"type": "deleted", "message_id": payload["platform_message_id"]})
            return Receipt()
        if buttons:
            output.buttons = buttons
        if output.as_json:
            kind = {CUSTOMER_SURVEY: "survey", CUSTOMER_EDIT: "edit"}.get(delivery.kind, "reply")
            output.emit(
                {
                    "type": kind,
                    "author": payload.get("author", "bot"),
                    "text": payload.get("text", ""),
                    "buttons": [{"choice": i, **b} for i, b in enumerate(buttons, 1)],
                }
            )
            return Receipt(platform_id=f"console-{output.counter}")
        if delivery.kind == CUSTOMER_EDIT:
            return Receipt()
        author = payload.get("author", "bot")
        speaker = {"agent": payload.get("agent_name", "Staff"), "system": output.bot_name}.get(
            author, output.bot_name
        )
        text = payload.get("text", "")
        if author == "agent":
            prefix = f"{speaker}: "
            text = text.removeprefix(prefix)
        output.line(f"{speaker}: {text}")
        if buttons:
            choices = "   ".join(f"[{i}] {b['label']}" for i, b in enumerate(buttons, 1))
            output.line(f"    {choices}")
        return Receipt(platform_id=f"console-{output.counter}")


class ConsoleStaffSender:
    """Shows staff-side rows in the terminal (the console staff desk)."""

    def __init__(self, output: ConsoleOutput) -> None:
        self.output = output

    async def deliver(self, delivery: Delivery) -> Receipt:
        """Print one staff-side action (or stay quiet if staff lines are hidden)."""
        output = self.output
        payload = delivery.payload
        if delivery.kind == STAFF_DELETE:
            return Receipt()
        if delivery.kind == STAFF_DIGEST:  # the weekly manager digest: one line at most
            if output.show_staff and not output.as_json:
                output.line(f"[staff desk] {payload['summary']['title']} is ready")
            return Receipt()
        if output.as_json:
            record: dict[str, Any] = {"type": delivery.kind.replace("staff.", "staff_")}
            if delivery.kind in (STAFF_HANDOFF, STAFF_HANDOFF_UPDATE):
                record.update(
                    handoff_id=payload["handoff_id"],
                    conversation_id=payload.get("conversation_id"),
                    status=payload.get("status"),
                    reason=payload.get("reason"),
                    intent=payload.get("intent"),
                    mood=payload.get("mood"),
                    agent=payload.get("agent_name"),
                    csat=payload.get("csat"),
                )
            else:
                record.update(handoff_id=payload["handoff_id"], text=payload.get("text"))
            output.emit(record)
        elif output.show_staff:
            output.line(_staff_line(delivery))
        return Receipt(platform_id=f"staff-{delivery.id}", channel_ref="console")


def _staff_line(delivery: Delivery) -> str:
    payload = delivery.payload
    tag = f"[staff desk · handoff #{payload['handoff_id']}]"
    if delivery.kind == STAFF_HANDOFF:
        return (
            f"{tag} NEW ({payload['reason_text']}) — {payload['summary']}\n"
            f"    type /claim, /reply TEXT, /note TEXT, /resolve or /release"
        )
    if delivery.kind == STAFF_HANDOFF_UPDATE:
        who = f" by {payload['agent_name']}" if payload.get("agent_name") else ""
        csat = f", CSAT {payload['csat']}/5" if payload.get("csat") else ""
        return f"{tag} now {payload['status']}{who}{csat}"
    if delivery.kind == STAFF_CUSTOMER_MESSAGE:
        return f"{tag} customer: {payload['text']}"
    if delivery.kind == STAFF_NOTICE:
        return f"{tag} {payload['text']}"
    return f"{tag} {delivery.kind}"


@dataclass
class ConsoleSession:
    """Turns console lines into engine events for one customer and one staff member."""

    customer: CustomerRef
    agent: StaffRef
    output: ConsoleOutput
    clock: OffsetClock | None = None
    conversation_id: int | None = None
    new_id: Callable[[], str] = field(default=lambda: uuid.uuid4().hex)

    def parse(self, line: str) -> InboundEvent | str | None:
        """An event to handle, a message to show (str), or None to ignore the line."""
        text = line.rstrip("\n")
        stripped = text.strip()
        word, _, rest = stripped.partition(" ")
        lowered = word.lower()
        if lowered in CUSTOMER_COMMANDS:
            return CustomerCommand(self.customer, CUSTOMER_COMMANDS[lowered], self.new_id())  # type: ignore[arg-type]
        if lowered == "/later":
            delta = parse_duration(rest)
            if delta is None or self.clock is None:
                return "Usage: /later 15m (s, m, h or d)"
            self.clock.advance(delta)
            return f"(time passes: {rest.strip()})"
        if lowered in STAFF_COMMANDS:
            return self._staff_event(lowered, rest)
        if stripped.isdigit() and self.output.buttons:
            index = int(stripped) - 1
            if 0 <= index < len(self.output.buttons):
                return CustomerChoice(
                    self.customer, self.output.buttons[index]["data"], self.new_id()
                )
        return CustomerMessage(self.customer, text, self.new_id(), platform_message_id=None)

    def _staff_event(self, command: str, rest: str) -> InboundEvent | str:
        if self.conversation_id is None:
            return "There is no conversation yet."
        cid, agent = self.conversation_id, self.agent
        if command == "/claim":
            return StaffClaim(cid, agent, self.new_id())
        if command in ("/reply", "/note"):
            if not rest.strip():
                return f"Usage: {command} TEXT"
            return StaffReply(
                cid, agent, rest, internal=command == "/note", delivery_id=self.new_id()
            )
        if command == "/resolve":
            return StaffResolve(cid, agent, self.new_id())
        if command == "/release":
            return StaffRelease(cid, agent, self.new_id())
        return StaffUnclaim(cid, agent, self.new_id())


class CollectingSender:
    """Records deliveries instead of sending them (for tests and scripted runs)."""

    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []
        self.fail_next: list[Exception] = []

    async def deliver(self, delivery: Delivery) -> Receipt:
        """Record (or raise the next queued failure)."""
        if self.fail_next:
            raise self.fail_next.pop(0)
        self.deliveries.append(delivery)
        return Receipt(platform_id=f"m{len(self.deliveries)}", channel_ref="C-test")

    def texts(self, kind: str | None = None) -> list[str]:
        """The texts delivered so far (optionally of one kind)."""
        return [
            str(d.payload.get("text", ""))
            for d in self.deliveries
            if kind is None or d.kind == kind
        ]

    def kinds(self) -> list[str]:
        """The kinds delivered so far, in order."""
        return [d.kind for d in self.deliveries]

    def clear(self) -> None:
        """Forget what was delivered."""
        self.deliveries.clear()


class QuietStaffSender:
    """Staff rows with no staff channel: handoffs wait in the database for ``carebot staff``."""

    async def deliver(self, delivery: Delivery) -> Receipt:
        """Nothing to send; the row is marked delivered."""
        return Receipt(platform_id=f"db-{delivery.id}", channel_ref="database")
