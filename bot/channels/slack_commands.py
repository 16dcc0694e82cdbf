"""``/carebot``: the queue, the report and a customer's history, answered ephemerally.

/carebot queue                  open handoffs, VIP first, then oldest, with links
/carebot report [7d]            the manager summary in Block Kit (``7d``, ``28d``, ``24h``)
/carebot customer <id>          a customer's touchpoints with their CSAT
/carebot customer export <id>   DSAR export, sent to the requester only (slack_privacy)
/carebot customer erase <id>    DSAR erasure, after a confirmation button (slack_privacy)
/carebot note <conversation> <text>   an internal note (never sent to the customer)
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from bot.channels import slack_blocks as kit
from bot.channels.slack_report import summary_blocks, summary_text
from bot.core import desk, digest
from bot.core.events import StaffRef, StaffReply
from responses.escaping import for_slack_mrkdwn as esc

if TYPE_CHECKING:
    from bot.core.engine import ConversationEngine

USAGE = (
    "Usage: `/carebot queue` · `/carebot report [7d|28d|24h]` · `/carebot customer <id>` · "
    "`/carebot customer export|erase <id>` · `/carebot note <conversation> <text>`"
)
_PERIOD = re.compile(r"^(\d+(?:\.\d+)?)\s*([dh]?)$", re.IGNORECASE | re.ASCII)
MAX_REPORT_DAYS = 366


def number(text: str) -> int | None:
    """A conversation or customer number: ASCII digits that fit the database's integer."""
    text = text.strip().lstrip("#")
    if text.isascii() and text.isdigit() and len(text) <= 9:
        return int(text)
    return None


def thread_link(channel: str | None, ts: str | None) -> str | None:
    """A link to a handoff card (slack.com redirects it into the workspace)."""
    if not channel or not ts:
        return None
    return f"<https://slack.com/archives/{channel}/p{ts.replace('.', '')}|open>"


def parse_days(text: str) -> float | None:
    """``"7d"`` → 7, ``"24h"`` → 1, ``""`` → 7; None when unreadable or out of range."""
    text = text.strip() or "7d"
    match = _PERIOD.match(text)
    if not match:
        return None
    value = float(match[1])
    days = value / 24 if match[2].lower() == "h" else value
    return days if 0 < days <= MAX_REPORT_DAYS else None


async def queue_text(engine: ConversationEngine) -> str:
    """The open handoffs as lines."""
    items = await desk.open_queue(engine)
    if not items:
        return "No open handoffs. :tada:"
    lines = [f"*Open handoffs ({len(items)})*"]
    for item in items:
        vip = " *VIP*" if item.priority else ""
        who = f", with {esc(item.agent)}" if item.agent else ""
        link = thread_link(item.staff_channel, item.staff_thread)
        lines.append(
            f"• #{item.conversation_id}{vip} {esc(item.customer or 'Customer')} — "
            f"{esc(item.intent or 'unknown topic')}, {esc(item.reason.replace('_', ' '))} "
            f"({item.status}{who}, waiting {item.waited_minutes} min)"
            + (f" {link}" if link else "")
        )
    return kit.clip("\n".join(lines))


async def customer_text(engine: ConversationEngine, argument: str) -> str:
    """A customer's touchpoints."""
    customer_id = number(argument)
    if customer_id is None:
        return "Usage: `/carebot customer <id>` (the number on the handoff card)."
    history = await desk.customer_history(engine, customer_id)
    if history is None:
        return f"No customer {customer_id}."
    tags = f" · tags: {', '.join(esc(t) for t in history.tags)}" if history.tags else ""
    lines = [f"*{esc(history.name)}* (customer {history.customer_id} on {history.channel}){tags}"]
    for point in history.touchpoints:
        csat = f", CSAT {point.csat}/5" if point.csat is not None else ""
        handed = (
            f", handed off: {point.handoff_reason.replace('_', ' ')}"
            if point.handoff_reason
            else ""
        )
        outcome = (point.resolution or point.status).replace("_", " ")
        lines.append(
            f"• {kit.when(point.started_at)} #{point.conversation_id} "
            f"{esc(point.intent or 'unknown topic')} — {outcome}{handed}{csat}"
        )
    if not history.touchpoints:
        lines.append("No conversations yet.")
    return kit.clip("\n".join(lines))


async def report(engine: ConversationEngine, argument: str) -> dict[str, Any]:
    """The manager summary as Block Kit (whole local days; ``24h`` is today so far)."""
    days = parse_days(argument)
    if days is None:
        return {"text": "Usage: `/carebot report [7d|28d|24h]` (days, up to a year)."}
    summary = await digest.manager_summary(engine, max(1, round(days)))
    return {"text": summary_text(summary), "blocks": summary_blocks(summary)}


async def run(
    engine: ConversationEngine, text: str, agent: StaffRef, delivery_id: str | None
) -> dict[str, Any]:
    """Answer one ``/carebot`` command (keyword arguments for an ephemeral ``respond``)."""
    word, _, rest = text.strip().partition(" ")
    word = word.lower()
    if word == "report":
        return await report(engine, rest)
    return {"text": await _run_text(engine, word, rest, agent, delivery_id)}


async def _run_text(
    engine: ConversationEngine, word: str, rest: str, agent: StaffRef, delivery_id: str | None
) -> str:
    if word == "queue":
        return await queue_text(engine)
    if word == "customer":
        return await customer_text(engine, rest)
    if word == "note":
        first, _, note = rest.strip().partition(" ")
        conversation_id = number(first)
        if conversation_id is None or not note.strip():
            return "Usage: `/carebot note <conversation> <text>`"
        outcome = await engine.handle(
            StaffReply(conversation_id, agent, note.strip(), internal=True, delivery_id=delivery_id)
        )
        return outcome.notice or "Internal note saved (not sent to the customer)."
    return USAGE
