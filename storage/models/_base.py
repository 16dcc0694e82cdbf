"""Declarative base, shared column types and the status vocabularies."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, DateTime, MetaData, TypeDecorator
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """The current time, always aware and in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as UTC on every engine and always returns them aware.

    SQLite has no time zones, PostgreSQL does: this keeps comparisons in Python
    identical on both.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """All Carebot tables."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: dict[Any, Any] = {datetime: UTCDateTime(), dict[str, Any]: JSON}


class ConversationStatus(StrEnum):
    """Where a conversation is in its lifecycle (DESIGN.md)."""

    BOT = "bot"
    WAITING_FOR_STAFF = "waiting_for_staff"
    WITH_STAFF = "with_staff"
    RESOLVED = "resolved"
    CLOSED_INACTIVE = "closed_inactive"

    @property
    def is_open(self) -> bool:
        """Open conversations take new customer messages."""
        return self in OPEN_STATUSES

    @property
    def with_human(self) -> bool:
        """While a person owns the conversation the bot stays quiet."""
        return self in (ConversationStatus.WAITING_FOR_STAFF, ConversationStatus.WITH_STAFF)


OPEN_STATUSES = (
    ConversationStatus.BOT,
    ConversationStatus.WAITING_FOR_STAFF,
    ConversationStatus.WITH_STAFF,
)


class Resolution(StrEnum):
    """How a conversation ended."""

    BOT_CONFIRMED = "bot_confirmed"
    BOT_ASSUMED = "bot_assumed"
    HUMAN = "human"
    ABANDONED = "abandoned"


class HandoffReason(StrEnum):
    """Why a conversation went to a person (PRODUCT.md §4)."""

    CUSTOMER_REQUEST = "customer_request"
    NOT_UNDERSTOOD = "not_understood"
    NEGATIVE_MOOD = "negative_mood"
    SENSITIVE_INTENT = "sensitive_intent"
    VIP = "vip"
    LONG_CONVERSATION = "long_conversation"
    LOW_CSAT_FOLLOWUP = "low_csat_followup"


class HandoffStatus(StrEnum):
    """A handoff waits, is claimed, and ends resolved, released to the bot or cancelled."""

    WAITING = "waiting"
    CLAIMED = "claimed"
    RESOLVED = "resolved"
    RELEASED = "released"
    CANCELLED = "cancelled"
    CLOSED = "closed"  # the conversation closed for inactivity before anyone helped

    @property
    def is_open(self) -> bool:
        """Waiting or claimed handoffs are the staff queue."""
        return self in (HandoffStatus.WAITING, HandoffStatus.CLAIMED)


class SurveyStatus(StrEnum):
    """The CSAT survey's lifecycle (PRODUCT.md §1)."""

    SCHEDULED = "scheduled"
    SENT = "sent"
    ANSWERED = "answered"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    UNREACHABLE = "unreachable"


class Direction(StrEnum):
    """Whether a message came from the customer side or went to it."""

    INBOUND = "in"
    OUTBOUND = "out"


class AuthorKind(StrEnum):
    """Who wrote a message."""

    CUSTOMER = "customer"
    BOT = "bot"
    AGENT = "agent"
    SYSTEM = "system"


class OutboxStatus(StrEnum):
    """A pending delivery is sent, or dead after too many attempts or a permanent error."""

    PENDING = "pending"
    SENT = "sent"
    DEAD = "dead"


class JobStatus(StrEnum):
    """A timer is pending until it runs (done) or is no longer needed (cancelled)."""

    PENDING = "pending"
    DONE = "done"
    CANCELLED = "cancelled"
