"""Staff members who claim, answer and resolve handoffs."""

from __future__ import annotations

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models._base import Base


class Agent(Base):
    """A person on the staff side (a Slack user, or a console operator)."""

    __tablename__ = "agents"
    __table_args__ = (UniqueConstraint("platform", "external_id", name="uq_agents_identity"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(128))
    display_name: Mapped[str] = mapped_column(String(200))

    @property
    def first_name(self) -> str:
        """What the customer sees: the agent's first name only."""
        return (self.display_name or "").split(" ")[0] or "Our team"
