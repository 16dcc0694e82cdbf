"""CSAT surveys: one per conversation, sent, answered, expired or unreachable."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models._base import Base, utcnow


class Survey(Base):
    """The CSAT question for one conversation and its answer."""

    __tablename__ = "surveys"
    __table_args__ = (
        UniqueConstraint("conversation_id", name="uq_surveys_conversation"),
        Index("ix_surveys_customer_sent", "customer_id", "sent_at"),
        Index("ix_surveys_answered_at", "answered_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default="scheduled")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    scheduled_for: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    score: Mapped[int | None]
    comment: Mapped[str | None] = mapped_column(Text)
    awaiting_comment: Mapped[bool] = mapped_column(default=False)
    platform_message_id: Mapped[str | None] = mapped_column(String(128))
