"""Block Kit for the staff desk: the live handoff card and the thread lines.

Every piece of customer-derived text (names, summary, transcript, comments, captions) is
escaped with :func:`responses.escaping.for_slack_mrkdwn` in the fallback ``text`` *and*
in every mrkdwn block, and mrkdwn objects are ``verbatim``, so a customer can never ping
``@channel``, mention a user or disguise a link. Only mentions we build ourselves (the
claiming agent ``<@U…>``, the staff group ``<!subteam^S…>``) stay live.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from responses.escaping import for_slack_mrkdwn as esc

SECTION_LIMIT = 3000
HEADER_LIMIT = 150
TRANSCRIPT_LINES = 12
CLAIM, RESOLVE, RELEASE = "handoff_claim", "handoff_resolve", "handoff_release"
UNCLAIM, TRANSFER = "handoff_unclaim", "handoff_transfer"
_SLACK_ID = re.compile(r"^[UWS][A-Z0-9]{2,}$")
_STATUS = {
    "waiting": ":hourglass_flowing_sand: Waiting for someone to claim",
    "claimed": ":raising_hand: Claimed",
    "resolved": ":white_check_mark: Resolved",
    "released": ":robot_face: Back with the bot",
    "cancelled": ":leftwards_arrow_with_hook: Cancelled by the customer",
    "closed": ":zzz: Closed for inactivity",
}
LOW_CSAT_REASON = "low_csat_followup"
RECOVERY_ICON = "\N{POLICE CARS REVOLVING LIGHT}"
_AUTHOR = {"customer": "Customer", "bot": "Bot", "agent": "Staff", "system": "Bot"}
NOTE_HINT = (
    "Reply in this thread to answer the customer. Start a message with `note:` or `//` "
    "for an internal note that is never sent."
)


def user_mention(user_id: str | None, fallback: str | None = None) -> str:
    """``<@U…>`` for a real Slack user id; otherwise the escaped fallback name."""
    if user_id and _SLACK_ID.match(user_id) and not user_id.startswith("S"):
        return f"<@{user_id}>"
    return esc(fallback or "someone")


def group_mention(group_id: str | None) -> str | None:
    """``<!subteam^S…>`` for a configured user group id (ours, so it stays live)."""
    if group_id and _SLACK_ID.match(group_id) and group_id.startswith("S"):
        return f"<!subteam^{group_id}>"
    return None


def clip(text: str, limit: int = SECTION_LIMIT, *, keep_end: bool = False) -> str:
    """Cut to Slack's section limit, saying so (keeping the newest lines if asked)."""
    if len(text) <= limit:
        return text
    if keep_end:
        return "…" + text[-(limit - 1) :]
    return text[: limit - 1] + "…"


def _md(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": clip(text), "verbatim": True}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": _md(text)}


def _button(label: str, action_id: str, value: str, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": label},
        "action_id": action_id,
        "value": value,
    }
    if style:
        button["style"] = style
    return button


def status_line(card: dict[str, Any]) -> str:
    """The card's state in words: who has it, how it ended, its CSAT."""
    status = str(card.get("status", "waiting"))
    line = _STATUS.get(status, esc(status))
    agent = card.get("agent_name")
    if status == "claimed" or (agent and status == "resolved"):
        line += f" by {user_mention(card.get('agent_id'), agent)}"
    if card.get("csat") is not None:
        line += f" · CSAT {int(card['csat'])}/5"
    if card.get("csat_comment"):
        line += f" — “{esc(str(card['csat_comment']))}”"
    return line


def is_recovery(card: dict[str, Any]) -> bool:
    """A follow-up opened because the customer rated a conversation 1 or 2."""
    return card.get("reason") == LOW_CSAT_REASON


def card_title(card: dict[str, Any]) -> str:
    """The plain-text header: customer, VIP flag and conversation number."""
    customer = card.get("customer") or {}
    vip = " · VIP" if card.get("priority") or "vip" in (customer.get("tags") or []) else ""
    title = f"{customer.get('name') or 'Customer'}{vip} — conversation #{card['conversation_id']}"
    if is_recovery(card):
        title = f"{RECOVERY_ICON} Service recovery: {title}"
    return clip(title, HEADER_LIMIT)


def recovery_line(card: dict[str, Any]) -> str:
    """What went wrong: the low score, the rated conversation and the comment (or its wait)."""
    rated = card.get("followup_of") or {}
    score = rated.get("score")
    where = (
        f" for conversation #{int(rated['conversation_id'])}"
        if rated.get("conversation_id") is not None
        else ""
    )
    line = f"*Low CSAT: {int(score)}/5*{where}" if score is not None else f"*Low CSAT*{where}"
    comment = rated.get("comment")
    if comment:
        line += f"\n*What went wrong:* “{esc(str(comment))}”"
    else:
        line += "\n_Waiting for the customer's answer to “what went wrong?”_"
    customer = card.get("customer") or {}
    line += (
        "\nPlease follow up with the customer (service recovery). History: "
        f"`/carebot customer {customer.get('id')}`"
    )
    return clip(line)


def card_text(card: dict[str, Any]) -> str:
    """The notification fallback (mrkdwn-parsed by Slack, so escaped)."""
    customer = card.get("customer") or {}
    name = esc(str(customer.get("name") or "A customer"))
    if is_recovery(card):
        rated = card.get("followup_of") or {}
        score = f" {int(rated['score'])}/5" if rated.get("score") is not None else ""
        number = rated.get("conversation_id")
        about = f" conversation #{int(number)}" if number is not None else ""
        return clip(f"Service recovery: {name} rated{about}{score}; please follow up")
    return clip(f"Handoff: {name} — {esc(str(card.get('reason_text') or ''))}", SECTION_LIMIT)


def _history(card: dict[str, Any]) -> str:
    lines = []
    for past in card.get("history") or []:
        day = str(past.get("started_at", ""))[:10]
        topic = esc(str(past.get("intent") or "unknown topic"))
        outcome = esc(str(past.get("resolution") or "open")).replace("_", " ")
        score = f", CSAT {past['csat']}/5" if past.get("csat") is not None else ""
        lines.append(f"• {day} #{past.get('conversation_id')} {topic} — {outcome}{score}")
    return "\n".join(lines) if lines else "First contact."


def _transcript(card: dict[str, Any]) -> str:
    lines = []
    for line in (card.get("transcript") or [])[-TRANSCRIPT_LINES:]:
        who = _AUTHOR.get(str(line.get("author")), "Bot")
        lines.append(f"*{who}:* {esc(str(line.get('text', '')))}")
    return clip("\n".join(lines) or "(no messages)", keep_end=True)


def _actions(card: dict[str, Any]) -> list[dict[str, Any]]:
    value = str(card["conversation_id"])
    status = card.get("status")
    if status == "waiting":
        return [
            _button("Claim", CLAIM, value, "primary"),
            _button("Resolve", RESOLVE, value),
            _button("Back to bot", RELEASE, value),
        ]
    if status == "claimed":
        return [
            _button("Resolve", RESOLVE, value, "primary"),
            _button("Back to bot", RELEASE, value),
            _button("Unclaim", UNCLAIM, value),
            {
                "type": "users_select",
                "action_id": TRANSFER,
                "placeholder": {"type": "plain_text", "text": "Pass to a colleague…"},
            },
        ]
    return []


def handoff_blocks(card: dict[str, Any]) -> list[dict[str, Any]]:
    """The live card: who, why, what about, how they feel, history, transcript, buttons."""
    customer = card.get("customer") or {}
    tags = ", ".join(esc(str(t)) for t in customer.get("tags") or []) or "none"
    topic = card.get("intent_title") or card.get("intent") or "not recognised"
    fields = [
        _md(f"*Status*\n{status_line(card)}"),
        _md(f"*Why*\n{esc(str(card.get('reason_text') or card.get('reason')))}"),
        _md(f"*Topic*\n{esc(str(topic))}"),
        _md(f"*Mood*\n{esc(str(card.get('mood') or 'neutral'))}"),
        _md(
            f"*Customer*\n{customer.get('id')} on {esc(str(customer.get('channel') or '?'))}"
            f" · tags: {tags}"
        ),
    ]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": card_title(card)}},
        {"type": "section", "fields": fields},
        *([_section(recovery_line(card))] if is_recovery(card) else []),
        _section(f"*Summary*\n{esc(str(card.get('summary') or ''))}"),
        _section(f"*Earlier touchpoints*\n{_history(card)}"),
        _section(f"*Transcript so far* (masked)\n{_transcript(card)}"),
    ]
    actions = _actions(card)
    if actions:
        blocks.append({"type": "actions", "block_id": "handoff_actions", "elements": actions})
    blocks.append({"type": "context", "elements": [_md(NOTE_HINT)]})
    return blocks


def customer_line(payload: dict[str, Any]) -> str:
    """A customer's message in the thread."""
    name = esc(str(payload.get("customer_name") or "Customer"))
    return clip(f"*{name}:* {esc(str(payload.get('text', '')))}")


def notice_line(payload: dict[str, Any], staff_group: str | None) -> str:
    """A system line in the thread; ``mention_group`` pings the configured staff group."""
    text = esc(str(payload.get("text", "")))
    mention = group_mention(staff_group) if payload.get("mention_group") else None
    if mention and staff_group:
        escaped_group = esc(staff_group)
        if escaped_group in text:
            text = text.replace(escaped_group, mention, 1)
        else:
            text = f"{mention} {text}"
    return clip(f":information_source: {text}")


def when(moment: datetime) -> str:
    """A short UTC timestamp for staff lists."""
    return f"{moment:%Y-%m-%d %H:%M}"
