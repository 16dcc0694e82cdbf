"""The inbox: ids of platform deliveries already handled, so a redelivery is a no-op."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models._base import Base, utcnow


class ProcessedEvent(Base):
    """One handled delivery (Telegram update id, Slack event id, button press id)."""

    __tablename__ = "processed_events"

    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(160), primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
