"""Outgoing rate limits for Telegram: about 30 messages/s overall and 1/s per chat.

Telegram publishes these limits but does not enforce the per-chat one for us in
python-telegram-bot (its ``AIORateLimiter`` has no per-private-chat limit), and a burst
past them earns a 429 with ``retry_after`` that can pause a chat for many seconds. So
every send first *reserves* a slot: slots are spaced ``1/rate`` apart overall and per
chat (no bursts), which keeps us provably inside both limits even with many concurrent
senders. Reserving in order also keeps a chat's messages in the order they were reserved.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from bot.errors import TransientDeliveryError


class SendRateLimiter:
    """Spaces sends ``1/overall`` s apart in total and ``1/per_chat`` s apart per chat.

    Args:
        overall: messages per second across all chats (``CAREBOT_TELEGRAM_RATE_OVERALL``).
        per_chat: messages per second to one chat (``CAREBOT_TELEGRAM_RATE_PER_CHAT``).
        max_wait: the longest wait taken inside a delivery; a longer one is handed back
            to the outbox dispatcher as a retry, so one busy chat never holds a sender
            for long.
        monotonic, sleep: the time source and sleeper (tests pass fakes).
    """

    def __init__(
        self,
        overall: float,
        per_chat: float,
        *,
        max_wait: float = 2.0,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if overall <= 0 or per_chat <= 0:
            raise ValueError("Telegram rate limits must be positive")
        self.overall_gap = 1.0 / overall
        self.chat_gap = 1.0 / per_chat
        self.max_wait = max_wait
        self._monotonic = monotonic
        self._sleep = sleep
        self._next_overall = 0.0
        self._next_chat: dict[int, float] = {}

    async def acquire(self, chat_id: int) -> None:
        """Wait for the next free slot for ``chat_id``: first the chat's, then the overall.

        The chat's slot is taken first so a chat waiting for its own turn does not hold
        an overall slot that other chats could use meanwhile.

        Raises:
            TransientDeliveryError: the chat's slot is further away than ``max_wait``;
                nothing was booked, and ``retry_after`` says when to come back.
        """
        now = self._monotonic()
        self._forget_idle_chats(now)
        chat_wait = max(0.0, self._next_chat.get(chat_id, 0.0) - now)
        if chat_wait > self.max_wait:
            raise TransientDeliveryError("Telegram rate limit: waiting for a send slot", chat_wait)
        self._next_chat[chat_id] = now + chat_wait + self.chat_gap  # later callers queue up
        if chat_wait > 0:
            await self._sleep(chat_wait)
        now = self._monotonic()
        slot = max(now, self._next_overall)
        self._next_overall = slot + self.overall_gap
        self._next_chat[chat_id] = max(self._next_chat[chat_id], slot + self.chat_gap)
        if slot > now:
            await self._sleep(slot - now)

    def _forget_idle_chats(self, now: float) -> None:
        if len(self._next_chat) > 10_000:
            self._next_chat = {k: v for k, v in self._next_chat.items() if v > now}
