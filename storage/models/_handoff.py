"""Handoffs: a conversation handed to staff, with every time the reports need."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models._base import Base, utcnow


class Handoff(Base):
    """One request for a person, from the trigger to its end."""

    __tablename__ = "handoffs"
    __table_args__ = (
        Index("ix_handoffs_conversation", "conversation_id"),
        Index("ix_handoffs_status_requested", "status", "requested_at"),
        Index("ix_handoffs_agent", "agent_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="waiting")
    priority: Mapped[bool] = mapped_column(default=False)  # VIP: a shorter SLA
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None]
    first_human_reply_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    reminders_sent: Mapped[int] = mapped_column(default=0)
    staff_channel: Mapped[str | None] = mapped_column(String(64))
    staff_thread: Mapped[str | None] = mapped_column(String(64))  # Slack thread ts
    survey_id: Mapped[int | None] = mapped_column(ForeignKey("surveys.id", ondelete="SET NULL"))
