"""Conversations: the touchpoints every report counts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models._base import Base, utcnow


class Conversation(Base):
    """One touchpoint: who, when, what about, how it felt, how it ended, who helped."""

    __tablename__ = "conversations"
    __table_args__ = (
        Index("ix_conversations_customer_status", "customer_id", "status"),
        Index("ix_conversations_started_at", "started_at"),
        Index("ix_conversations_intent_started", "primary_intent", "started_at"),
        Index("ix_conversations_agent_started", "agent_id", "started_at"),
        Index("ix_conversations_customer_started", "customer_id", "started_at"),  # 0002
        Index("ix_conversations_customer_resolved", "customer_id", "resolved_at"),  # 0003
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(24), default="bot")
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_activity_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_customer_message_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    resolution: Mapped[str | None] = mapped_column(String(24))
    primary_intent: Mapped[str | None] = mapped_column(String(64))
    last_intent: Mapped[str | None] = mapped_column(String(64))
    mood: Mapped[str | None] = mapped_column(String(16))  # summary: the most negative seen
    moods: Mapped[list[str]] = mapped_column(JSON, default=list)  # trajectory, one per message
    handoff_reason: Mapped[str | None] = mapped_column(String(32))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    customer_turns: Mapped[int] = mapped_column(default=0)
    failed_turns: Mapped[int] = mapped_column(default=0)  # consecutive not-understood turns
    negative_streak: Mapped[int] = mapped_column(default=0)
    answered: Mapped[bool] = mapped_column(default=False)  # the bot gave a real answer
    introduced: Mapped[bool] = mapped_column(default=False)  # the bot disclosed itself
    awaiting: Mapped[str | None] = mapped_column(String(32))  # what the bot asked for
    offer_reason: Mapped[str | None] = mapped_column(String(32))  # a person was offered, why
    reopened_count: Mapped[int] = mapped_column(default=0)
    bot_replies: Mapped[int] = mapped_column(default=0)  # varies the wording
    previous_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="SET NULL")
    )
    context: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The customer's next conversation within 7 days of this one's resolution, kept by
    # database triggers (storage/facts.py, migration 0003): never set it from Python.
    next_contact_at: Mapped[datetime | None]
