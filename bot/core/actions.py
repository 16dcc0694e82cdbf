"""Outgoing actions: what the engine asks channels to do, as outbox kinds and payloads.

Each action is stored as a row in the outbox (JSON payload) in the same transaction as the
state change that caused it; the dispatcher hands it to the sender of its channel.

Customer-side kinds (``target="customer"``), sent to the customer's channel:
    ``customer.text``   {text, author: bot|agent|system, agent_name?, buttons: [[{label, data}]]}
    ``customer.survey`` {survey_id, text, buttons}; the platform message id is kept
    ``customer.edit``   {platform_message_id, text, buttons}  (the survey after a tap)
    ``customer.delete`` {platform_message_id}  (a message with a card number)

Staff-side kinds (``target="staff"``), for Slack or the console desk; all carry
``handoff_id``, and the dispatcher adds the handoff's thread once it exists:
    ``staff.handoff``          the handoff card (see :func:`bot.core.handoff_card.build_card`)
    ``staff.handoff_update``   the same card after a state change (claimed, resolved, CSAT)
    ``staff.customer_message`` {text, customer_name, attachment?}  into the thread
    ``staff.notice``           {text, mention_group: bool}  into the thread (SLA, cancel, ...)
    ``staff.delete``           {channel, ts}: remove one of the bot's posts (customer erased)
    ``staff.digest``           {summary}: the weekly manager summary (no handoff_id); Slack
                               posts it to the managers' channel (see :mod:`bot.core.digest`)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

CUSTOMER_TEXT = "customer.text"
CUSTOMER_SURVEY = "customer.survey"
CUSTOMER_EDIT = "customer.edit"
CUSTOMER_DELETE = "customer.delete"
STAFF_HANDOFF = "staff.handoff"
STAFF_HANDOFF_UPDATE = "staff.handoff_update"
STAFF_CUSTOMER_MESSAGE = "staff.customer_message"
STAFF_NOTICE = "staff.notice"
STAFF_DELETE = "staff.delete"
STAFF_DIGEST = "staff.digest"

Author = Literal["bot", "agent", "system"]


@dataclass(frozen=True)
class Button:
    """An inline button: ``label`` shown, ``data`` returned in :class:`CustomerChoice`."""

    label: str
    data: str

    def as_dict(self) -> dict[str, str]:
        """JSON form for the outbox payload."""
        return {"label": self.label, "data": self.data}


def button_rows(rows: list[list[Button]]) -> list[list[dict[str, str]]]:
    """Buttons as JSON rows."""
    return [[button.as_dict() for button in row] for row in rows]


@dataclass(frozen=True)
class Delivery:
    """One claimed outbox row, as a sender sees it."""

    id: int
    kind: str
    channel: str
    payload: dict[str, Any]
    address: str | None = None  # customer chat id
    staff_thread: str | None = None  # Slack thread ts of the handoff card
    staff_channel: str | None = None
    attempt: int = 1
    lane: str = ""  # its conversation or thread: rows of a lane are delivered in order
    queued_at: datetime | None = None


@dataclass(frozen=True)
class Receipt:
    """What the platform returned: the id of the message it created, if any."""

    platform_id: str | None = None
    channel_ref: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
