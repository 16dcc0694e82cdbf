"""Telegram updates → the engine's inbound events, as PTB handlers in explicit order.

Group -1 drops what we do not serve (group chats unless configured, updates without a
chat); group 0 holds one handler per kind of input. Each handler only translates: it
builds a :class:`CustomerRef` and one event with ``delivery_id = update_id`` (so a
redelivered update is a no-op in the engine) and ``platform_message_id =
"<chat_id>:<message_id>"`` (Telegram message ids are only unique per chat).
"""

from __future__ import annotations

import logging
import re
from typing import Any, cast

from telegram import CallbackQuery, Chat, Message, Update
from telegram.constants import ChatType
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackContext,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.core.engine import ConversationEngine
from bot.core.events import (
    AttachmentKind,
    CommandName,
    CustomerAttachment,
    CustomerChoice,
    CustomerCommand,
    CustomerEvent,
    CustomerMessage,
    CustomerRef,
    Outcome,
)

log = logging.getLogger(__name__)
CHANNEL = "telegram"
COMMANDS: tuple[CommandName, ...] = ("start", "help", "human", "cancel")
ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]
# Exactly the button data the engine puts on buttons; anything else was forged.
VALID_CHOICE = re.compile(r"^(csat:\d{1,18}:[1-5]|confirm:(yes|no)|human|keep_bot|cancel)$")
REFUSED_BUTTON = "Sorry, this button is not valid. Please use the latest message."
_ATTACHMENTS: tuple[tuple[str, AttachmentKind], ...] = (
    ("sticker", "sticker"),
    ("photo", "photo"),
    ("voice", "voice"),
    ("audio", "audio"),
    ("video", "video"),
    ("video_note", "video"),
    ("animation", "video"),
    ("document", "document"),
    ("location", "location"),
    ("venue", "location"),
    ("contact", "contact"),
)
AnyApplication = Application[Any, Any, Any, Any, Any, Any]
Context = CallbackContext[Any, Any, Any, Any]


def chat_key(update: Update) -> int:
    """What to serialise an update on: its chat (or user), so one chat stays in order."""
    if update.effective_chat is not None:
        return update.effective_chat.id
    if update.effective_user is not None:
        return update.effective_user.id
    return update.update_id


def customer_ref(update: Update, chat: Chat) -> CustomerRef:
    """Who wrote, as the engine knows customers: the chat is the customer."""
    person = update.effective_user
    return CustomerRef(
        channel=CHANNEL,
        external_id=str(chat.id),
        address=str(chat.id),
        display_name=(person.full_name if person else None) or chat.title,
        first_name=person.first_name if person else None,
        language=person.language_code if person else None,
    )


def attachment_kind(message: Message) -> AttachmentKind | None:
    """What the customer sent that the bot cannot read; None for service messages."""
    for attribute, kind in _ATTACHMENTS:
        if getattr(message, attribute, None):
            return kind
    return "other" if message.effective_attachment is not None else None


class UpdateRouter:
    """The PTB handlers that feed the engine."""

    def __init__(self, engine: ConversationEngine, *, allow_groups: bool = False) -> None:
        self.engine = engine
        self.allow_groups = allow_groups
        self.refused_callbacks = 0
        self.failed: set[int] = set()  # update ids the engine could not store

    async def _handle(self, update: Update, event: CustomerEvent) -> Outcome:
        outcome = await self.engine.handle(event)
        if outcome.failed:
            self.failed.add(update.update_id)
        return outcome

    def install(self, application: AnyApplication) -> None:
        """Register the handlers on ``application`` in their groups."""
        message = filters.UpdateType.MESSAGE
        application.add_handler(TypeHandler(Update, self.gate), group=-1)
        application.add_handlers(
            [
                CommandHandler(list(COMMANDS), self.on_command, filters=message),
                MessageHandler(message & filters.TEXT, self.on_text),
                MessageHandler(filters.UpdateType.EDITED_MESSAGE & filters.TEXT, self.on_edit),
                MessageHandler(message & ~filters.TEXT, self.on_attachment),
                CallbackQueryHandler(self.on_button),
            ],
            group=0,
        )

    async def gate(self, update: Update, _context: Context) -> None:
        """Stop updates we do not serve before any handler sees them."""
        chat = update.effective_chat
        if chat is None:
            raise ApplicationHandlerStop
        if chat.type != ChatType.PRIVATE and not self.allow_groups:
            log.debug("ignoring update %s from a %s chat", update.update_id, chat.type)
            raise ApplicationHandlerStop

    async def on_command(self, update: Update, _context: Context) -> None:
        """``/start``, ``/help``, ``/human``, ``/cancel``."""
        message, chat = cast(Message, update.message), cast(Chat, update.effective_chat)
        word = (message.text or "").split()[0].lstrip("/").split("@")[0].lower()
        if word not in COMMANDS:
            return
        await self._handle(
            update, CustomerCommand(customer_ref(update, chat), word, str(update.update_id))
        )

    async def on_text(self, update: Update, _context: Context) -> None:
        """A text message (unknown ``/commands`` are text too)."""
        await self._text(update, cast(Message, update.message), edited=False)

    async def on_edit(self, update: Update, _context: Context) -> None:
        """An edited text: not answered twice; relayed to staff while a person helps."""
        await self._text(update, cast(Message, update.edited_message), edited=True)

    async def _text(self, update: Update, message: Message, *, edited: bool) -> None:
        chat = cast(Chat, update.effective_chat)
        await self._handle(
            update,
            CustomerMessage(
                customer_ref(update, chat),
                message.text or "",
                delivery_id=str(update.update_id),
                platform_message_id=f"{chat.id}:{message.message_id}",
                edited=edited,
            ),
        )

    async def on_attachment(self, update: Update, _context: Context) -> None:
        """Stickers, photos, voice, documents, locations: the engine answers kindly."""
        message, chat = cast(Message, update.message), cast(Chat, update.effective_chat)
        kind = attachment_kind(message)
        if kind is None:
            return  # a service message (member joined, pinned, ...): nothing to answer
        await self._handle(
            update,
            CustomerAttachment(
                customer_ref(update, chat),
                kind,
                caption=message.caption,
                delivery_id=str(update.update_id),
                platform_message_id=f"{chat.id}:{message.message_id}",
            ),
        )

    async def on_button(self, update: Update, _context: Context) -> None:
        """A button press: validate, hand to the engine, answer the query at once."""
        query, chat = cast(CallbackQuery, update.callback_query), cast(Chat, update.effective_chat)
        data = query.data or ""
        if not VALID_CHOICE.fullmatch(data):
            self.refused_callbacks += 1
            log.warning("refused forged button data %r in chat %s", data[:64], chat.id)
            await _answer(query, REFUSED_BUTTON, alert=True)
            return
        message_id = query.message.message_id if query.message is not None else None
        outcome = await self._handle(
            update,
            CustomerChoice(
                customer_ref(update, chat),
                data,
                delivery_id=str(update.update_id),
                platform_message_id=f"{chat.id}:{message_id}" if message_id else None,
            ),
        )
        # A notice with nothing else happening (closed or refused survey) must be seen.
        alert = bool(outcome.notice) and outcome.queued == 0 and not outcome.duplicate
        await _answer(query, outcome.notice, alert=alert)


async def _answer(query: CallbackQuery, text: str | None, *, alert: bool) -> None:
    """Answer the button press; a query that is too old or already answered is fine."""
    try:
        await query.answer(text=text[:200] if text else None, show_alert=alert)
    except BadRequest as exc:
        log.debug("callback query %s not answered: %s", query.id, exc.message)
    except TelegramError as exc:
        log.warning("callback query %s not answered: %s", query.id, type(exc).__name__)
