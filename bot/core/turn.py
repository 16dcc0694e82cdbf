"""One turn of the engine: the transaction, who it is about, and how to say things.

A :class:`Turn` is built for each inbound event or timer, inside one unit of work. Every
reply and staff post it makes is written to the outbox in that same transaction, so a
state change and the messages it causes are committed together or not at all.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.config import Settings
from bot.core.actions import CUSTOMER_TEXT, Author, Button, button_rows
from bot.core.office_hours import OfficeHours
from intents.base import Understander
from intents.types import Understanding
from responses import ResponseRenderer
from storage.models import (
    Agent,
    AuthorKind,
    Conversation,
    Customer,
    Direction,
    Handoff,
)
from storage.unit_of_work import UnitOfWork


@dataclass
class Services:
    """What every turn may use; built once by the composition root."""

    settings: Settings
    renderer: ResponseRenderer
    understander: Understander
    office_hours: OfficeHours
    staff_channel: str  # the sender that gets staff.* rows: "slack" or "console-staff"
    can_delete_messages: frozenset[str] = frozenset({"telegram"})


@dataclass(frozen=True)
class ReadAhead:
    """A message being read while the turn gets going (see ``intents.worker``)."""

    text: str
    language: str | None
    understanding: asyncio.Future[Understanding | None]


@dataclass
class Turn:
    """State and output of handling one event."""

    uow: UnitOfWork
    services: Services
    now: datetime
    customer: Customer
    conversation: Conversation | None = None
    notice: str | None = None
    queued: int = 0
    _pending_intro: str | None = field(default=None, repr=False)
    ahead: ReadAhead | None = field(default=None, repr=False)  # being read elsewhere

    async def understand(self, text: str) -> Understanding:
        """The understanding of the customer's (cleaned, masked) ``text``: the one read
        ahead if it was of the same words, else read now."""
        ahead, self.ahead = self.ahead, None
        language = self.customer.language
        if ahead is not None and ahead.text == text and ahead.language == language:
            found = await ahead.understanding
            if found is not None:
                return found
        return self.services.understander.understand(text, language)

    # Wording -------------------------------------------------------------------------
    @property
    def settings(self) -> Settings:
        """The running configuration."""
        return self.services.settings

    def words(self, name: str, **context: Any) -> str:
        """Render a customer template in the customer's language, varying the phrasing."""
        seed = self.conversation.bot_replies if self.conversation else 0
        base: dict[str, Any] = {
            "first_name": self.customer.first_name,
            "bot_name": self.settings.bot_name,
            "business_name": self.settings.business_name,
            "angry": self.is_upset,
        }
        base.update(context)
        return self.services.renderer.render(
            f"customer/{name}", language=self.customer.language, seed=seed, **base
        )

    def staff_words(self, name: str, **context: Any) -> str:
        """Render a staff template (staff read English)."""
        return self.services.renderer.render(f"staff/{name}", **context)

    @property
    def is_upset(self) -> bool:
        """Angry customers get plainer wording without flourishes (PRODUCT.md §5)."""
        moods = self.conversation.moods if self.conversation else []
        return bool(moods) and moods[-1] in ("angry", "frustrated")

    def introduce(self, text: str) -> None:
        """Put the bot's self-introduction before the next reply (once per conversation)."""
        self._pending_intro = text

    # Output --------------------------------------------------------------------------
    def reply(
        self,
        text: str,
        *,
        author: Author = "bot",
        buttons: list[list[Button]] | None = None,
        agent: Agent | None = None,
        kind: str = CUSTOMER_TEXT,
        extra: dict[str, Any] | None = None,
    ) -> None:
        """Queue a message to the customer and record it in the transcript."""
        conversation = self.conversation
        if self._pending_intro and author == "bot":
            text = f"{self._pending_intro}\n\n{text}"
            self._pending_intro = None
            if conversation is not None:
                conversation.introduced = True
        payload: dict[str, Any] = {
            "text": text,
            "author": author,
            "buttons": button_rows(buttons or []),
        }
        if agent is not None:
            payload["agent_name"] = agent.first_name
        payload.update(extra or {})
        self.queue_customer(kind, payload)
        if conversation is not None:
            conversation.bot_replies += 1
            conversation.last_activity_at = self.now
            self.uow.messages.add(
                conversation_id=conversation.id,
                channel=self.customer.channel,
                direction=Direction.OUTBOUND,
                author_kind=AuthorKind(author),
                agent_id=agent.id if agent else None,
                text=text,
                created_at=self.now,
            )

    def queue_customer(self, kind: str, payload: dict[str, Any]) -> None:
        """Queue a raw customer-side action (edits, deletions) without a transcript line."""
        customer = self.customer
        payload = {**payload, "address": customer.address}
        self.uow.outbox.add(
            target="customer",
            channel=customer.channel,
            lane=f"customer:{customer.channel}:{customer.address}",
            kind=kind,
            payload=payload,
            conversation_id=self.conversation.id if self.conversation else None,
            now=self.now,
        )
        self.queued += 1

    def queue_staff(self, kind: str, handoff: Handoff, payload: dict[str, Any]) -> None:
        """Queue a staff-side action in the handoff's lane (after its card, in order)."""
        self.uow.outbox.add(
            target="staff",
            channel=self.services.staff_channel,
            lane=f"handoff:{handoff.id}",
            kind=kind,
            payload={"handoff_id": handoff.id, **payload},
            conversation_id=handoff.conversation_id,
            now=self.now,
        )
        self.queued += 1

    def record_inbound(
        self,
        text: str,
        *,
        platform_message_id: str | None = None,
        intent: str | None = None,
        confidence: float | None = None,
        mood: str | None = None,
        sentiment: float | None = None,
    ) -> None:
        """Store a customer message in the current conversation."""
        assert self.conversation is not None
        self.uow.messages.add(
            conversation_id=self.conversation.id,
            channel=self.customer.channel,
            direction=Direction.INBOUND,
            author_kind=AuthorKind.CUSTOMER,
            text=text,
            intent=intent,
            confidence=confidence,
            mood=mood,
            sentiment=sentiment,
            platform_message_id=platform_message_id,
            created_at=self.now,
        )
        self.conversation.last_customer_message_at = self.now
        self.conversation.last_activity_at = self.now
