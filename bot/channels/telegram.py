"""The Telegram channel: customers talk to Carebot in a Telegram chat.

Two ways in, chosen by configuration alone:

* **Long polling** (no ``CAREBOT_TELEGRAM_WEBHOOK_URL``): our own small loop calls
  ``getUpdates``, hands every update of the batch to the engine (durably, per chat in
  order, chats concurrently) and only then asks for the next batch, whose ``offset``
  confirms the previous one. A crash therefore replays updates (the engine drops the
  duplicates) instead of losing them, which PTB's ``Updater`` cannot promise: it confirms
  a batch before the handlers have run.
* **Webhook** (``CAREBOT_TELEGRAM_WEBHOOK_URL`` set): ``POST /telegram/webhook`` checks
  ``X-Telegram-Bot-Api-Secret-Token`` (403 when missing or wrong, as PTB's own webhook
  server does), handles the update through the engine, and answers 200 only afterwards.
  The webhook is registered on start.

Either way PTB's ``Application`` routes updates to :class:`UpdateRouter`'s handlers and
its ``Bot`` makes the calls; outgoing messages go through the outbox and
:class:`TelegramSender`. PTB never deduplicates updates: the engine's inbox does.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hmac
import json
import logging
import os
from collections.abc import Callable, Iterable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from telegram import Update
from telegram.error import Conflict, InvalidToken, TelegramError
from telegram.ext import ApplicationBuilder
from telegram.request import BaseRequest, HTTPXRequest

from bot.channels.telegram_http import AiohttpRequest
from bot.channels.telegram_limits import SendRateLimiter
from bot.channels.telegram_sender import TelegramSender
from bot.channels.telegram_updates import (
    ALLOWED_UPDATES,
    AnyApplication,
    UpdateRouter,
    chat_key,
)
from bot.config import Settings
from bot.core.engine import ConversationEngine
from bot.core.locks import KeyedLocks
from bot.core.ports import Sender
from bot.errors import ConfigError

# Opt in to PTB 22's timedelta periods: the int form warns on every RetryAfter.
os.environ.setdefault("PTB_TIMEDELTA", "true")
log = logging.getLogger(__name__)
WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
for _noisy in ("httpx", "httpcore"):  # httpx logs every URL, and ours contain the token
    logging.getLogger(_noisy).setLevel(logging.WARNING)


class TelegramChannel:
    """Carebot on Telegram: polling or webhook in, the ``telegram`` sender out."""

    name = "telegram"

    def __init__(
        self,
        application: AnyApplication,
        engine: ConversationEngine,
        sender: TelegramSender,
        *,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        allow_groups: bool = False,
        poll_timeout: float = 30.0,
    ) -> None:
        self.application = application
        self.engine = engine
        self.sender = sender
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        self.poll_timeout = poll_timeout
        self.router = UpdateRouter(engine, allow_groups=allow_groups)
        self.router.install(application)
        self.chats = KeyedLocks()
        self.offset: int | None = None
        self.handled = 0
        self._poller: asyncio.Task[None] | None = None
        self._fetching = False
        self._stopping = asyncio.Event()
        self._ready = False

    @classmethod
    def from_settings(
        cls, settings: Settings, engine: ConversationEngine, **options: Any
    ) -> TelegramChannel:
        """Build from settings; ``TELEGRAM_BOT_TOKEN`` is all that is required."""
        token = settings.telegram_bot_token
        if not token:
            raise ConfigError("the Telegram channel needs TELEGRAM_BOT_TOKEN (from @BotFather)")
        read_timeout = options.pop("read_timeout", 10.0)
        application = (
            ApplicationBuilder()
            .token(token)
            .base_url(settings.telegram_api_url)
            .updater(None)
            .request(_http_client(settings, token, 128, read_timeout))
            .get_updates_request(_http_client(settings, token, 2, read_timeout))
            .build()
        )
        limiter = SendRateLimiter(settings.telegram_rate_overall, settings.telegram_rate_per_chat)
        sender = TelegramSender(application.bot, limiter, redact=token)
        return cls(
            application,
            engine,
            sender,
            webhook_url=settings.telegram_webhook_url,
            webhook_secret=settings.telegram_webhook_secret,
            allow_groups=settings.telegram_groups,
            **options,
        )

    # Channel protocol -----------------------------------------------------------------
    def senders(self) -> dict[str, Sender]:
        """Outbox rows of channel ``telegram`` go to the Bot API."""
        return {self.name: self.sender}

    def routes(self) -> list[BaseRoute]:
        """The webhook route (it refuses everything when no secret is configured)."""
        return [Route(WEBHOOK_PATH, self.webhook, methods=["POST"])]

    async def start(self) -> None:
        """Connect (``getMe``), then register the webhook or start polling."""
        self._stopping.clear()
        await self.application.initialize()
        self._ready = True
        bot = self.application.bot
        if self.webhook_url:
            await bot.set_webhook(
                self.webhook_url,
                secret_token=self.webhook_secret,
                allowed_updates=ALLOWED_UPDATES,
                max_connections=40,
            )
            log.info("Telegram webhook registered for @%s", bot.username)
            return
        await bot.delete_webhook(drop_pending_updates=False)  # polling and webhook exclude
        self._poller = asyncio.create_task(self.poll_forever(), name="telegram-polling")
        log.info("Telegram polling started for @%s", bot.username)

    async def stop(self) -> None:
        """Finish the batch in hand, confirm it, and close the HTTP clients."""
        self._stopping.set()
        self._ready = False
        if self._poller is not None:
            if self._fetching:
                self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
            self._poller = None
            await self._confirm()
        if self.application.running:
            await self.application.stop()
        await self.application.shutdown()

    # Polling ---------------------------------------------------------------------------
    async def poll_forever(self) -> None:
        """Fetch, handle durably, confirm; back off on network trouble."""
        failures = 0
        while not self._stopping.is_set():
            try:
                updates = await self._fetch()
            except (InvalidToken, asyncio.CancelledError):
                if not self._stopping.is_set():
                    log.error("Telegram refused the bot token: polling stopped")
                return
            except (TelegramError, OSError) as exc:
                failures += 1
                wait = min(2.0 ** min(failures, 5), 30.0)
                hint = " (another poller or a webhook?)" if isinstance(exc, Conflict) else ""
                log.warning(
                    "getUpdates failed: %s%s; retrying in %.0fs", type(exc).__name__, hint, wait
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), wait)
                continue
            failures = 0
            if updates and not await self.process_batch(updates):
                # Something could not be stored: do not confirm the batch; what was handled
                # comes back and is deduplicated, what failed is tried again.
                log.warning("an update could not be stored; fetching the batch again")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), 2.0)
                continue
            if updates:
                self.offset = updates[-1].update_id + 1

    async def _fetch(self) -> tuple[Update, ...]:
        self._fetching = True
        try:
            updates: tuple[Update, ...] = await self.application.bot.get_updates(
                offset=self.offset,
                timeout=int(self.poll_timeout),
                limit=100,
                allowed_updates=ALLOWED_UPDATES,
            )
            return updates
        finally:
            self._fetching = False

    async def _confirm(self) -> None:
        """Tell Telegram what we handled, so a restart does not replay it."""
        if self.offset is None:
            return
        with contextlib.suppress(TelegramError, OSError):
            await self.application.bot.get_updates(offset=self.offset, limit=1, timeout=0)

    async def process_batch(self, updates: Iterable[Update]) -> bool:
        """Handle updates: in order within a chat, chats concurrently; False if one failed."""
        by_chat: dict[int, list[Update]] = {}
        for update in updates:
            by_chat.setdefault(chat_key(update), []).append(update)
        results = await asyncio.gather(*(self._process_chat(b) for b in by_chat.values()))
        return all(results)

    async def _process_chat(self, updates: list[Update]) -> bool:
        for update in updates:
            if not await self.process_update(update):
                return False  # stop this chat here: its later updates must wait, in order
        return True

    async def process_update(self, update: Update) -> bool:
        """Run one update through the handlers, holding its chat's lock.

        Returns False when the engine could not store it, so it must be delivered again.
        """
        async with self.chats.hold(chat_key(update)):
            await self.application.process_update(update)
        self.handled += 1
        if update.update_id in self.router.failed:
            self.router.failed.discard(update.update_id)
            return False
        return True

    # Webhook ---------------------------------------------------------------------------
    async def webhook(self, request: Request) -> Response:
        """``POST /telegram/webhook``: check the secret, handle the update, then 200."""
        given = request.headers.get(SECRET_HEADER, "")
        expected = self.webhook_secret or ""
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if (
            not expected
            or not hmac.compare_digest(given.encode(), expected.encode())
            or content_type != "application/json"
        ):
            log.warning("refused a Telegram webhook call without the right secret")
            return Response(status_code=403)
        try:
            data = json.loads(await request.body())
            update = Update.de_json(data, self.application.bot)
        except (ValueError, TypeError, KeyError):
            return JSONResponse({"error": "not a Telegram update"}, status_code=400)
        if not self._ready:  # a request that raced start() or stop()
            return Response(status_code=503)
        if not await self.process_update(update):
            return Response(status_code=503)  # not stored: Telegram delivers it again
        return Response(status_code=200)


def _http_client(
    settings: Settings, token: str, pool_size: int, read_timeout: float
) -> BaseRequest:
    """PTB's request object for Bot API calls, on the configured HTTP client."""
    client: Callable[..., BaseRequest] = (
        HTTPXRequest
        if settings.telegram_http_client == "httpx"
        else functools.partial(AiohttpRequest, secret=token)
    )
    return client(
        connection_pool_size=pool_size,
        read_timeout=read_timeout,
        write_timeout=10.0,
        connect_timeout=5.0,
        pool_timeout=10.0,
    )
