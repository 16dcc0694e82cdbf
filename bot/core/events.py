"""Inbound events: the only things channels hand to the engine.

Channels turn platform payloads into these small frozen values; no Telegram ``Update`` or
Slack dict crosses into the core. ``delivery_id`` is the platform's own id for the
delivery (Telegram ``update_id``, Slack ``event_id``, a button press id) and makes a
redelivered event a no-op.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

CommandName = Literal["start", "help", "human", "cancel"]
AttachmentKind = Literal[
    "sticker", "photo", "voice", "audio", "video", "document", "location", "contact", "other"
]


@dataclass(frozen=True)
class CustomerRef:
    """Who wrote, as the channel knows them; ``address`` is where replies go (chat id)."""

    channel: str
    external_id: str
    address: str
    display_name: str | None = None
    first_name: str | None = None
    language: str | None = None


@dataclass(frozen=True)
class StaffRef:
    """A staff member as the staff channel knows them."""

    platform: str
    external_id: str
    display_name: str


@dataclass(frozen=True)
class CustomerMessage:
    """A text message from a customer."""

    customer: CustomerRef
    text: str
    delivery_id: str | None = None
    platform_message_id: str | None = None
    edited: bool = False


@dataclass(frozen=True)
class CustomerAttachment:
    """Something the bot cannot read (sticker, photo, voice, ...)."""

    customer: CustomerRef
    kind: AttachmentKind
    caption: str | None = None
    delivery_id: str | None = None
    platform_message_id: str | None = None


@dataclass(frozen=True)
class CustomerCommand:
    """``/start``, ``/help``, ``/human`` or ``/cancel``."""

    customer: CustomerRef
    command: CommandName
    delivery_id: str | None = None


@dataclass(frozen=True)
class CustomerChoice:
    """A button the customer pressed; ``data`` is exactly what the engine put on it."""

    customer: CustomerRef
    data: str
    delivery_id: str | None = None
    platform_message_id: str | None = None


@dataclass(frozen=True)
class StaffClaim:
    """A staff member takes the conversation."""

    conversation_id: int
    agent: StaffRef
    delivery_id: str | None = None


@dataclass(frozen=True)
class StaffReply:
    """A staff message; ``internal`` notes are stored but never reach the customer."""

    conversation_id: int
    agent: StaffRef
    text: str
    internal: bool = False
    delivery_id: str | None = None


@dataclass(frozen=True)
class StaffResolve:
    """The problem is solved: close the conversation and start the CSAT flow."""

    conversation_id: int
    agent: StaffRef
    delivery_id: str | None = None


@dataclass(frozen=True)
class StaffRelease:
    """Hand the conversation back to the bot."""

    conversation_id: int
    agent: StaffRef
    delivery_id: str | None = None


@dataclass(frozen=True)
class StaffUnclaim:
    """The owner gives the conversation back to the queue."""

    conversation_id: int
    agent: StaffRef
    delivery_id: str | None = None


@dataclass(frozen=True)
class StaffTransfer:
    """The owner passes the conversation to a colleague."""

    conversation_id: int
    agent: StaffRef
    to: StaffRef
    delivery_id: str | None = None


CustomerEvent = CustomerMessage | CustomerAttachment | CustomerCommand | CustomerChoice
StaffEvent = StaffClaim | StaffReply | StaffResolve | StaffRelease | StaffUnclaim | StaffTransfer
InboundEvent = CustomerEvent | StaffEvent


@dataclass(frozen=True)
class Outcome:
    """What handling one event did.

    ``notice`` is an immediate answer for the one who acted (a button toast for a customer,
    an ephemeral message for staff); everything else was queued in the outbox. ``failed``
    means nothing could be stored (the database is down): the channel should make the
    platform deliver the event again (webhook: answer 5xx; polling: do not confirm it).
    """

    handled: bool = True
    duplicate: bool = False
    failed: bool = False
    conversation_id: int | None = None
    status: str | None = None
    notice: str | None = None
    queued: int = 0
