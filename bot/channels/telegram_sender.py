"""Delivers the engine's customer actions as Bot API calls, and maps Telegram's errors.

Customer text goes out as plain text (no ``parse_mode``), so nothing a customer or an
agent wrote can turn into markup and nothing needs escaping. Texts longer than Telegram's
4096 characters are split at paragraph, line or word boundaries, with the buttons on the
last part. Every call first takes a slot from :class:`SendRateLimiter`.

Error mapping (what the outbox dispatcher does next):
    RetryAfter (429 flood control)    → TransientDeliveryError(retry_after)
    TimedOut, NetworkError (5xx, I/O) → TransientDeliveryError
    Forbidden (blocked, deactivated)  → RecipientUnreachable
    BadRequest                        → PermanentDeliveryError, except "message is not
                                        modified" and "message to delete not found",
                                        which mean the wanted state already holds
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.constants import MessageLimit
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)

from bot.channels.telegram_limits import SendRateLimiter
from bot.core.actions import (
    CUSTOMER_DELETE,
    CUSTOMER_EDIT,
    CUSTOMER_SURVEY,
    CUSTOMER_TEXT,
    Delivery,
    Receipt,
)
from bot.errors import PermanentDeliveryError, RecipientUnreachable, TransientDeliveryError

log = logging.getLogger(__name__)
MAX_TEXT = MessageLimit.MAX_TEXT_LENGTH  # 4096
MAX_CALLBACK_DATA = 64  # bytes
_ALREADY_DONE = ("message is not modified", "message to delete not found")


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Cut ``text`` into parts of at most ``limit`` characters, at the gentlest boundary."""
    text = text.strip() or "…"
    parts: list[str] = []
    while len(text) > limit:
        window = text[:limit]
        cut = -1
        for separator in ("\n\n", "\n", " "):
            cut = window.rfind(separator)
            if cut > limit // 4:
                break
        if cut <= limit // 4:
            cut = limit
        parts.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    parts.append(text)
    return [part for part in parts if part]


def keyboard(rows: list[list[dict[str, str]]] | None) -> InlineKeyboardMarkup | None:
    """The engine's button rows as an inline keyboard (data over 64 bytes is refused)."""
    if not rows:
        return None
    for row in rows:
        for button in row:
            if len(button["data"].encode()) > MAX_CALLBACK_DATA:
                raise PermanentDeliveryError(f"button data over 64 bytes: {button['data'][:20]!r}")
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b["label"], callback_data=b["data"]) for b in row] for row in rows]
    )


def split_message_id(value: str) -> tuple[int, int]:
    """``"<chat_id>:<message_id>"`` → the two ints (Telegram ids are unique per chat)."""
    chat, _, message = str(value).rpartition(":")
    try:
        return int(chat), int(message)
    except ValueError:
        raise PermanentDeliveryError(f"not a Telegram message id: {value!r}") from None


def seconds(value: int | float | timedelta) -> float:
    """A PTB time period (int seconds, or timedelta with ``PTB_TIMEDELTA``) in seconds."""
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class TelegramSender:
    """The ``telegram`` sender of the outbox."""

    def __init__(self, bot: Bot, limiter: SendRateLimiter, *, redact: str | None = None) -> None:
        self.bot = bot
        self.limiter = limiter
        self._secret = redact

    async def deliver(self, delivery: Delivery) -> Receipt:
        """Make the Bot API call(s) for one outbox row."""
        payload = delivery.payload
        try:
            if delivery.kind in (CUSTOMER_TEXT, CUSTOMER_SURVEY):
                return await self._send(_chat_of(delivery), payload)
            if delivery.kind == CUSTOMER_EDIT:
                return await self._edit(payload)
            if delivery.kind == CUSTOMER_DELETE:
                return await self._delete(payload)
        except TelegramError as exc:
            raise self._translate(exc) from None
        raise PermanentDeliveryError(f"the Telegram channel cannot deliver {delivery.kind!r}")

    async def _send(self, chat_id: int, payload: dict[str, Any]) -> Receipt:
        parts = split_text(str(payload.get("text", "")))
        markup = keyboard(payload.get("buttons"))
        sent: Message | None = None
        for index, part in enumerate(parts):
            await self.limiter.acquire(chat_id)
            last = index == len(parts) - 1
            sent = await self.bot.send_message(chat_id, part, reply_markup=markup if last else None)
        assert sent is not None
        return Receipt(
            platform_id=f"{chat_id}:{sent.message_id}",
            channel_ref=str(chat_id),
            extra={"parts": len(parts)},
        )

    async def _edit(self, payload: dict[str, Any]) -> Receipt:
        chat_id, message_id = split_message_id(payload["platform_message_id"])
        await self.limiter.acquire(chat_id)
        try:
            await self.bot.edit_message_text(
                split_text(str(payload.get("text", "")))[0],
                chat_id=chat_id,
                message_id=message_id,
                reply_markup=keyboard(payload.get("buttons")),
            )
        except BadRequest as exc:
            if not _already_done(exc):
                raise
        return Receipt(platform_id=f"{chat_id}:{message_id}", channel_ref=str(chat_id))

    async def _delete(self, payload: dict[str, Any]) -> Receipt:
        chat_id, message_id = split_message_id(payload["platform_message_id"])
        try:
            await self.bot.delete_message(chat_id, message_id)
        except BadRequest as exc:
            if _already_done(exc):
                return Receipt(extra={"deleted": False})
            if "can't be deleted" in exc.message.lower():
                log.warning(
                    "could not delete a message in chat %s: too old or not allowed", chat_id
                )
                return Receipt(extra={"deleted": False})
            raise
        return Receipt(extra={"deleted": True})

    def _translate(self, exc: TelegramError) -> Exception:
        message = self._clean(f"{type(exc).__name__}: {exc.message}")
        if isinstance(exc, RetryAfter):
            wait = seconds(exc._retry_after)  # the timedelta; the property warns in v22
            return TransientDeliveryError(f"Telegram flood control: {message}", wait)
        if isinstance(exc, Forbidden):
            return RecipientUnreachable(message)
        if isinstance(exc, InvalidToken):
            return TransientDeliveryError(f"Telegram rejected the bot token: {message}", 60.0)
        if isinstance(exc, BadRequest | ChatMigrated):
            return PermanentDeliveryError(message)
        if isinstance(exc, NetworkError):  # includes TimedOut and 5xx answers
            return TransientDeliveryError(message)
        return TransientDeliveryError(message)

    def _clean(self, text: str) -> str:
        """Never let the token into an error that gets stored or logged."""
        return text.replace(self._secret, "<token>") if self._secret else text


def _chat_of(delivery: Delivery) -> int:
    address = delivery.address or delivery.payload.get("address")
    try:
        return int(str(address))
    except ValueError:
        raise PermanentDeliveryError(f"not a Telegram chat id: {address!r}") from None


def _already_done(exc: BadRequest) -> bool:
    text = exc.message.lower()
    return any(phrase in text for phrase in _ALREADY_DONE)
