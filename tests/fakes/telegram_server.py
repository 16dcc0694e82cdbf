"""A fake Telegram Bot API on 127.0.0.1 for end-to-end tests of the real PTB stack.

It speaks the real wire format (``POST /bot<TOKEN>/<method>``, form-encoded or JSON in,
``{"ok": ..., "result": ...}`` out), keeps per-chat message ids, serves ``getUpdates``
as a long poll with offset confirmation, and can inject failures: HTTP 5xx, 429 with
``retry_after``, 403 "bot was blocked", 400s and slow answers (client time-outs).
See ``/work/shared/CHANNELS.md`` §2 for the shapes.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

TOKEN = "123456:TEST-fake-token-do-not-log"
BOT_USER = {"id": 123456, "is_bot": True, "first_name": "Support", "username": "support_test_bot"}
_JSON_FIELDS = (
    "reply_markup",
    "entities",
    "allowed_updates",
    "link_preview_options",
    "reply_parameters",
)
_INT_FIELDS = ("offset", "limit", "timeout", "message_id", "max_connections")


@dataclass
class Call:
    """One Bot API request as the fake received it."""

    method: str
    params: dict[str, Any]
    at: float = field(default_factory=time.monotonic)

    @property
    def chat_id(self) -> int | None:
        """The ``chat_id`` parameter as an int, if present."""
        value = self.params.get("chat_id")
        return int(value) if value is not None else None


@dataclass
class Failure:
    """An injected error answer."""

    status: int
    description: str
    parameters: dict[str, Any] | None = None
    chat_id: int | None = None
    delay: float = 0.0


class FakeTelegram:
    """The fake server. ``await start()`` returns the base URL to give PTB."""

    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.calls: list[Call] = []
        self.updates: list[dict[str, Any]] = []
        self.webhook_url: str | None = None
        self.webhook_secret: str | None = None
        self.messages: dict[tuple[int, int], dict[str, Any]] = {}
        self.deleted: list[tuple[int, int]] = []
        self._failures: dict[str, list[Failure]] = {}
        self._delays: dict[str, list[float]] = {}
        self._update_ids = itertools.count(1000)
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.port = 0
        self._closing = False
        self.listeners: list[Callable[[Call], None]] = []  # told of every answered call

    # Lifecycle -------------------------------------------------------------------------
    async def start(self) -> str:
        """Serve on 127.0.0.1 at a free port; returns the PTB ``base_url``."""
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self.base_url

    @property
    def base_url(self) -> str:
        """What ``CAREBOT_TELEGRAM_API_URL`` should be (the token is appended by PTB)."""
        return f"http://127.0.0.1:{self.port}/bot"

    async def stop(self) -> None:
        """Shut the server down."""
        self._closing = True
        await self._notify()
        if self._runner is not None:
            await self._runner.cleanup()

    # Controls --------------------------------------------------------------------------
    def next_message_id(self, chat_id: int) -> int:
        """Message ids are per chat, shared by customer and bot messages."""
        return next(self._message_ids.setdefault(chat_id, itertools.count(1)))

    def push(self, update: dict[str, Any]) -> int:
        """Queue an update for ``getUpdates``; assigns an increasing ``update_id``."""
        update.setdefault("update_id", next(self._update_ids))
        self.updates.append(update)
        asyncio.get_running_loop().create_task(self._notify())
        return int(update["update_id"])

    def say(self, chat_id: int, text: str, **kw: Any) -> dict[str, Any]:
        """A customer writes ``text`` (commands get a ``bot_command`` entity); pushed."""
        update = message_update(chat_id, text, self.next_message_id(chat_id), **kw)
        self.push(update)
        return update

    def tap(self, chat_id: int, data: str, message_id: int, **kw: Any) -> dict[str, Any]:
        """A customer presses an inline button under ``message_id``; pushed."""
        update = callback_update(chat_id, data, message_id, **kw)
        self.push(update)
        return update

    def fail_next(
        self,
        method: str,
        status: int,
        description: str,
        *,
        parameters: dict[str, Any] | None = None,
        times: int = 1,
        chat_id: int | None = None,
        delay: float = 0.0,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` (to ``chat_id``) with an error."""
        failure = Failure(status, description, parameters, chat_id, delay)
        self._failures.setdefault(method, []).extend([failure] * times)

    def delay_next(self, method: str, seconds: float, *, times: int = 1) -> None:
        """Answer the next calls of ``method`` slowly (a client time-out)."""
        self._delays.setdefault(method, []).extend([seconds] * times)

    def of(self, method: str, chat_id: int | None = None) -> list[Call]:
        """Recorded calls of ``method`` (to ``chat_id``), oldest first."""
        return [
            c
            for c in self.calls
            if c.method == method and (chat_id is None or c.chat_id == chat_id)
        ]

    def texts(self, chat_id: int | None = None) -> list[str]:
        """Texts the bot sent successfully (to ``chat_id``), in order."""
        return [
            str(c.params["text"]) for c in self.of("sendMessage", chat_id) if c.params.get("_ok")
        ]

    async def wait_for(self, predicate: Callable[[], bool], within: float = 5.0) -> None:
        """Wait until ``predicate()`` holds (re-checked on every call and push)."""
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(predicate)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # Requests --------------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        method = request.match_info["method"]
        params = await _read_params(request)
        call = Call(method, params)
        self.calls.append(call)
        await self._notify()
        try:
            delays = self._delays.get(method)
            if delays:
                await asyncio.sleep(delays.pop(0))
            failure = self._take_failure(method, call.chat_id)
            if failure is not None:
                await asyncio.sleep(failure.delay)
                return _error(failure.status, failure.description, failure.parameters)
            handler = getattr(self, f"_m_{method}", None)
            if handler is None:
                return _error(404, "Not Found: method not found")
            response: web.Response = await handler(params)
            params["_ok"] = response.status == 200
            for listener in self.listeners:
                listener(call)
            return response
        finally:
            await self._notify()

    def _take_failure(self, method: str, chat_id: int | None) -> Failure | None:
        queue = self._failures.get(method, [])
        for index, failure in enumerate(queue):
            if failure.chat_id is None or failure.chat_id == chat_id:
                return queue.pop(index)
        return None

    async def _m_getMe(self, params: dict[str, Any]) -> web.Response:
        return _ok(BOT_USER)

    async def _m_setWebhook(self, params: dict[str, Any]) -> web.Response:
        self.webhook_url = params.get("url") or None
        self.webhook_secret = params.get("secret_token")
        return _ok(True)

    async def _m_deleteWebhook(self, params: dict[str, Any]) -> web.Response:
        self.webhook_url = self.webhook_secret = None
        return _ok(True)

    async def _m_getWebhookInfo(self, params: dict[str, Any]) -> web.Response:
        return _ok(
            {
                "url": self.webhook_url or "",
                "has_custom_certificate": False,
                "pending_update_count": len(self.updates),
            }
        )

    async def _m_getUpdates(self, params: dict[str, Any]) -> web.Response:
        if self.webhook_url:
            return _error(409, "Conflict: can't use getUpdates method while webhook is active")
        offset = params.get("offset") or 0
        self.updates = [u for u in self.updates if u["update_id"] >= offset]  # confirmation
        limit = params.get("limit") or 100
        timeout = float(params.get("timeout") or 0)
        if not self.updates and timeout > 0:
            try:
                async with asyncio.timeout(timeout), self._changed:
                    await self._changed.wait_for(lambda: bool(self.updates) or self._closing)
            except TimeoutError:
                pass
        return _ok(self.updates[:limit])

    async def _m_sendMessage(self, params: dict[str, Any]) -> web.Response:
        chat_id = int(params["chat_id"])
        text = str(params.get("text", ""))
        if not text.strip() or len(text) > 4096:
            return _error(400, "Bad Request: message text is empty or too long")
        message = self._bot_message(chat_id, self.next_message_id(chat_id), text, params)
        self.messages[(chat_id, message["message_id"])] = message
        return _ok(message)

    async def _m_editMessageText(self, params: dict[str, Any]) -> web.Response:
        chat_id, message_id = int(params["chat_id"]), int(params["message_id"])
        old = self.messages.get((chat_id, message_id))
        if old is None:
            return _error(400, "Bad Request: message to edit not found")
        markup = params.get("reply_markup")
        if old["text"] == params.get("text") and old.get("reply_markup") == markup:
            return _error(
                400,
                "Bad Request: message is not modified: specified new message "
                "content and reply markup are exactly the same",
            )
        message = self._bot_message(chat_id, message_id, str(params["text"]), params)
        message["edit_date"] = int(time.time())
        self.messages[(chat_id, message_id)] = message
        return _ok(message)

    async def _m_answerCallbackQuery(self, params: dict[str, Any]) -> web.Response:
        return _ok(True)

    async def _m_sendChatAction(self, params: dict[str, Any]) -> web.Response:
        return _ok(True)

    async def _m_deleteMessage(self, params: dict[str, Any]) -> web.Response:
        key = (int(params["chat_id"]), int(params["message_id"]))
        if key in self.deleted:
            return _error(400, "Bad Request: message to delete not found")
        self.deleted.append(key)
        return _ok(True)

    def _bot_message(
        self, chat_id: int, message_id: int, text: str, params: dict[str, Any]
    ) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group"},
            "from": BOT_USER,
            "text": text,
        }
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        return message


async def _read_params(request: web.Request) -> dict[str, Any]:
    if request.content_type == "application/json":
        raw: dict[str, Any] = dict(await request.json()) if request.can_read_body else {}
    else:
        raw = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
        for name in _JSON_FIELDS:
            if isinstance(raw.get(name), str):
                raw[name] = json.loads(raw[name])
    for name in _INT_FIELDS:
        if raw.get(name) not in (None, ""):
            raw[name] = int(raw[name])
    return raw


def _ok(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result})


def _error(status: int, description: str, parameters: dict[str, Any] | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return web.json_response(body, status=status)


# Update shapes -------------------------------------------------------------------------
def user(chat_id: int, first_name: str = "Ann", language: str | None = "en") -> dict[str, Any]:
    """A Telegram ``User`` for a private chat (user id = chat id)."""
    found: dict[str, Any] = {
        "id": abs(chat_id),
        "is_bot": False,
        "first_name": first_name,
        "last_name": "Example",
    }
    if language:
        found["language_code"] = language
    return found


def message(
    chat_id: int,
    message_id: int,
    *,
    first_name: str = "Ann",
    language: str | None = "en",
    chat_type: str = "private",
    **content: Any,
) -> dict[str, Any]:
    """A ``Message`` from a customer with the given content fields."""
    return {
        "message_id": message_id,
        "date": int(time.time()),
        "chat": {"id": chat_id, "type": chat_type},
        "from": user(chat_id, first_name, language),
        **content,
    }


def message_update(
    chat_id: int, text: str, message_id: int, *, edited: bool = False, **kw: Any
) -> dict[str, Any]:
    """A text (or command) message update."""
    content: dict[str, Any] = {"text": text}
    if text.startswith("/"):
        command = text.split()[0]
        content["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
    body = message(chat_id, message_id, **kw, **content)
    if edited:
        body["edit_date"] = body["date"] + 5
        return {"edited_message": body}
    return {"message": body}


def attachment_update(chat_id: int, message_id: int, kind: str, **kw: Any) -> dict[str, Any]:
    """A sticker, photo, voice, document or location message."""
    contents: dict[str, dict[str, Any]] = {
        "sticker": {
            "sticker": {
                "file_id": "s1",
                "file_unique_id": "u1",
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
            }
        },
        "photo": {
            "photo": [{"file_id": "p1", "file_unique_id": "u2", "width": 90, "height": 90}],
            "caption": kw.pop("caption", None),
        },
        "voice": {"voice": {"file_id": "v1", "file_unique_id": "u3", "duration": 3}},
        "document": {
            "document": {"file_id": "d1", "file_unique_id": "u4", "file_name": "invoice.pdf"}
        },
        "location": {"location": {"latitude": 52.5, "longitude": 13.4}},
    }
    content = {k: v for k, v in contents[kind].items() if v is not None}
    return {"message": message(chat_id, message_id, **kw, **content)}


def callback_update(
    chat_id: int,
    data: str,
    message_id: int,
    *,
    query_id: str | None = None,
    first_name: str = "Ann",
) -> dict[str, Any]:
    """A button press under the bot's message ``message_id``."""
    return {
        "callback_query": {
            "id": query_id or f"q{chat_id}-{message_id}-{time.monotonic_ns()}",
            "from": user(chat_id, first_name),
            "chat_instance": f"ci{chat_id}",
            "data": data,
            "message": {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private"},
                "from": BOT_USER,
                "text": "survey",
            },
        }
    }
