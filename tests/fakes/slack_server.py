"""A fake Slack Web API on 127.0.0.1 (port 0): records calls, fails on demand.

``POST|GET /api/{method}`` with JSON, form or query parameters; answers like Slack
(``{"ok": true, ...}``). ``auth.test`` returns the consistent ids ``U0BOT``/``B0BOT`` so
Bolt's ``IgnoringSelfEvents`` recognises the bot's own posts. ``response_url`` posts
(``/respond/<id>``) are recorded as ``method="respond"``.

Files (``files.uploadV2``: ``files.getUploadURLExternal`` → ``POST /upload/<id>`` →
``files.completeUploadExternal``) are kept in ``uploads`` by file id; ``conversations.open``
answers a DM channel ``D<user>``; ``chat.delete`` removes a recorded message and answers
``message_not_found`` for one it never saw (as Slack does).

Controls: ``fail_next[method] = [(status, error, retry_after), ...]``; ``outage(429, 30)``
or ``outage(503)`` fails every call (except ``auth.test``) until ``recover()``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

BOT_USER, BOT_ID, TEAM = "U0BOT", "B0BOT", "T0TEAM"


@dataclass
class Call:
    """One request the fake received."""

    method: str
    body: dict[str, Any]
    auth: str | None
    ok: bool = True
    at: float = field(default_factory=time.perf_counter)


@dataclass
class FakeSlack:
    """The fake server; ``await start()``, then point the client at ``url``."""

    members: set[str] = field(default_factory=lambda: {"U1ANA", "U2BEN"})
    group_members: set[str] = field(default_factory=set)
    names: dict[str, str] = field(
        default_factory=lambda: {
            "U1ANA": "Ana Agent",
            "U2BEN": "Ben Baker",
            "U9EVE": "Eve Outsider",
        }
    )
    token: str = "xoxb-test"
    app_token: str = "xapp-test"
    calls: list[Call] = field(default_factory=list)
    fail_next: dict[str, list[tuple[int, str, float | None]]] = field(default_factory=dict)
    messages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    uploads: dict[str, bytes] = field(default_factory=dict)
    _outage: tuple[int, float | None] | None = None
    _runner: web.AppRunner | None = None
    _seq: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    port: int = 0
    sockets: list[web.WebSocketResponse] = field(default_factory=list)

    @property
    def url(self) -> str:
        """The Web API base URL (``CAREBOT_SLACK_API_URL``)."""
        return f"http://127.0.0.1:{self.port}/api/"

    def response_url(self, name: str = "r1") -> str:
        """A ``response_url`` for slash commands that lands here."""
        return f"http://127.0.0.1:{self.port}/respond/{name}"

    async def start(self) -> FakeSlack:
        """Serve on a free loopback port."""
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/respond/{name}", self._respond)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_get("/link", self._socket)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        """Stop serving."""
        for ws in self.sockets:
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # Controls ----------------------------------------------------------------------------
    def outage(self, status: int = 503, retry_after: float | None = None) -> None:
        """Fail every call (but ``auth.test``) until :meth:`recover`."""
        self._outage = (status, retry_after)

    def recover(self) -> None:
        """End the outage."""
        self._outage = None

    def of(self, method: str) -> list[dict[str, Any]]:
        """Bodies of the successful calls of ``method``."""
        return [c.body for c in self.calls if c.method == method and c.ok]

    def attempts(self, method: str) -> int:
        """How many calls of ``method`` arrived, failed or not."""
        return sum(c.method == method for c in self.calls)

    # Handlers ----------------------------------------------------------------------------
    async def _body(self, request: web.Request) -> dict[str, Any]:
        body: dict[str, Any] = dict(request.query)
        raw = await request.read()
        if raw:
            if request.content_type == "application/json":
                body.update(json.loads(raw))
            else:
                body.update((await request.post()).items())
        return body

    async def _respond(self, request: web.Request) -> web.Response:
        body = json.loads(await request.read())
        self._record(Call("respond", body, None))
        return web.Response(text="ok")

    async def _upload(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        self.uploads[file_id] = await request.read()
        self._record(Call("upload", {"file_id": file_id}, None))
        return web.Response(text=f"OK - {len(self.uploads[file_id])}")

    def _record(self, call: Call) -> None:
        self.calls.append(call)
        self.changed.set()

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        body = await self._body(request)
        auth = request.headers.get("Authorization")
        call = Call(method, body, auth)
        self._record(call)
        if auth not in (f"Bearer {self.token}", f"Bearer {self.app_token}"):
            call.ok = False
            return web.json_response({"ok": False, "error": "invalid_auth"})
        failure = None
        if self._outage and method != "auth.test":
            failure = (self._outage[0], "service_unavailable", self._outage[1])
        elif self.fail_next.get(method):
            failure = self.fail_next[method].pop(0)
        if failure:
            call.ok = False
            status, error, retry_after = failure
            headers = {"Retry-After": str(int(retry_after))} if retry_after is not None else {}
            return web.json_response(
                {"ok": False, "error": "ratelimited" if status == 429 else error},
                status=status,
                headers=headers,
            )
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        result = handler(body) if handler else {}
        if result.get("ok") is False:
            call.ok = False
        return web.json_response({"ok": True, **result})

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        """A Socket Mode connection: say hello, push queued envelopes, record acks."""
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.sockets.append(ws)
        await ws.send_json({"type": "hello", "num_connections": 1})
        async for message in ws:
            if message.type == web.WSMsgType.TEXT:
                self._record(Call("socket.ack", json.loads(message.data), None))
        return ws

    def _apps_connections_open(self, body: dict[str, Any]) -> dict[str, Any]:
        return {"url": f"ws://127.0.0.1:{self.port}/link"}

    def _auth_test(self, body: dict[str, Any]) -> dict[str, Any]:
        return {"team_id": TEAM, "user_id": BOT_USER, "bot_id": BOT_ID, "url": "https://t.slack/"}

    def _ts(self) -> str:
        return f"1700000000.{next(self._seq):06d}"

    def _chat_postMessage(self, body: dict[str, Any]) -> dict[str, Any]:
        ts = self._ts()
        message = {
            "type": "message",
            "user": BOT_USER,
            "bot_id": BOT_ID,
            "text": body.get("text", ""),
            "ts": ts,
            "metadata": body.get("metadata"),
        }
        if body.get("thread_ts"):
            message["thread_ts"] = body["thread_ts"]
        self.messages.setdefault(str(body.get("channel")), []).append(message)
        return {"channel": body.get("channel"), "ts": ts, "message": message}

    def _chat_update(self, body: dict[str, Any]) -> dict[str, Any]:
        return {"channel": body.get("channel"), "ts": body.get("ts"), "text": body.get("text")}

    def _chat_delete(self, body: dict[str, Any]) -> dict[str, Any]:
        channel, ts = str(body.get("channel")), str(body.get("ts"))
        kept = [m for m in self.messages.get(channel, []) if m["ts"] != ts]
        if len(kept) == len(self.messages.get(channel, [])):
            return {"ok": False, "error": "message_not_found"}
        self.messages[channel] = kept
        return {"channel": channel, "ts": ts}

    def _conversations_open(self, body: dict[str, Any]) -> dict[str, Any]:
        return {"channel": {"id": f"D{body.get('users')}"}}

    def _files_getUploadURLExternal(self, body: dict[str, Any]) -> dict[str, Any]:
        file_id = f"F{next(self._seq):06d}"
        return {"upload_url": f"http://127.0.0.1:{self.port}/upload/{file_id}", "file_id": file_id}

    def _files_completeUploadExternal(self, body: dict[str, Any]) -> dict[str, Any]:
        files = body.get("files")
        items = json.loads(files) if isinstance(files, str) else list(files or [])
        return {"files": [{"id": f["id"], "title": f.get("title")} for f in items]}

    def _chat_postEphemeral(self, body: dict[str, Any]) -> dict[str, Any]:
        return {"message_ts": self._ts()}

    def _conversations_history(self, body: dict[str, Any]) -> dict[str, Any]:
        found = [m for m in self.messages.get(str(body.get("channel")), []) if "thread_ts" not in m]
        return {"messages": list(reversed(found))[: int(body.get("limit", 100))]}

    def _conversations_members(self, body: dict[str, Any]) -> dict[str, Any]:
        return {"members": sorted(self.members), "response_metadata": {"next_cursor": ""}}

    def _usergroups_users_list(self, body: dict[str, Any]) -> dict[str, Any]:
        return {"users": sorted(self.group_members)}

    def _users_info(self, body: dict[str, Any]) -> dict[str, Any]:
        user = str(body.get("user"))
        name = self.names.get(user, user)
        return {"user": {"id": user, "name": name.lower(), "profile": {"real_name": name}}}
