"""Who may work handoffs: members of the handoff channel or of the configured staff group.

:class:`StaffDirectory` answers "is this Slack user staff?" from ``conversations.members``
(and ``usergroups.users.list`` when ``CAREBOT_SLACK_STAFF_GROUP`` is set), cached for a few
minutes; a user missing from the cache triggers one early refresh, so someone who just
joined the channel is not refused for minutes. It also caches display names from
``users.info``. :class:`StaffOnly` is the Bolt listener middleware in front of every
claim, reply, resolve and command: others get an ephemeral refusal and nothing happens.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)
REFUSAL = (
    "Sorry, only members of the support channel can work on customer conversations. "
    "Ask an admin to add you."
)
UNSURE = "Slack did not tell me who is on the support team just now; please try again."


class StaffDirectory:
    """Cached answers about Slack users: staff or not, and their display names."""

    def __init__(
        self,
        client: AsyncWebClient,
        channel: str,
        group: str | None = None,
        *,
        ttl: float = 300.0,
        min_refresh: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.channel = channel
        self.group = group
        self.ttl = ttl
        self.min_refresh = min_refresh
        self.clock = clock
        self._members: frozenset[str] = frozenset()
        self._loaded_at: float | None = None
        self._names: dict[str, str] = {}
        self._lock = asyncio.Lock()

    async def is_staff(self, user_id: str) -> bool:
        """True if ``user_id`` is in the handoff channel or the staff group."""
        now = self.clock()
        if self._loaded_at is None or now - self._loaded_at > self.ttl:
            await self.refresh()
        elif user_id not in self._members and now - self._loaded_at > self.min_refresh:
            await self.refresh()  # maybe they joined since; at most every min_refresh
        return user_id in self._members

    async def refresh(self) -> None:
        """Reload the members (one refresh at a time)."""
        async with self._lock:
            members = set(await self._channel_members())
            if self.group:
                response = await self.client.usergroups_users_list(usergroup=self.group)
                members.update(response.get("users") or [])
            self._members = frozenset(members)
            self._loaded_at = self.clock()

    async def _channel_members(self) -> list[str]:
        found: list[str] = []
        cursor: str | None = None
        for _ in range(50):  # 50 pages of 1000 is plenty for a support team
            response = await self.client.conversations_members(
                channel=self.channel, limit=1000, cursor=cursor
            )
            found.extend(response.get("members") or [])
            cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                break
        return found

    async def display_name(self, user_id: str) -> str:
        """The user's name as colleagues see it (``users.info``, cached); the id if unknown."""
        if user_id in self._names:
            return self._names[user_id]
        name = user_id
        try:
            response = await self.client.users_info(user=user_id)
            user = response.get("user") or {}
            profile = user.get("profile") or {}
            name = (
                profile.get("real_name")
                or user.get("real_name")
                or profile.get("display_name")
                or user.get("name")
                or user_id
            )
        except Exception:
            log.warning("users.info failed for %s; using the id", user_id, exc_info=True)
            return name
        self._names[user_id] = str(name)
        return str(name)


def _where(body: dict[str, Any]) -> tuple[str | None, str | None]:
    """(channel, thread) where an ephemeral answer to this request belongs."""
    event = body.get("event") or {}
    if event:
        return event.get("channel"), event.get("thread_ts")
    container = body.get("container") or {}
    channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
    return channel or body.get("channel_id"), None


class StaffOnly(AsyncMiddleware):
    """Listener middleware: lets staff through; refuses everyone else, ephemerally."""

    def __init__(self, directory: StaffDirectory, *, timeout: float = 2.0) -> None:
        self.directory = directory
        self.timeout = timeout
        self._tasks: set[asyncio.Task[None]] = set()

    async def async_process(
        self,
        *,
        req: AsyncBoltRequest,
        resp: BoltResponse,
        next: Callable[[], Awaitable[BoltResponse]],
    ) -> BoltResponse:
        """Call ``next()`` for staff; otherwise answer 200 (an ack) and say why."""
        user_id = req.context.user_id
        try:
            allowed = bool(user_id) and await asyncio.wait_for(
                self.directory.is_staff(str(user_id)), self.timeout
            )
            message = REFUSAL
        except Exception:
            log.warning("staff check failed for %s", user_id, exc_info=True)
            allowed, message = False, UNSURE
        if allowed:
            await next()
            return resp
        log.info("refused Slack user %s", user_id)
        if user_id:
            self._refuse_later(req.body, str(user_id), message)
        return BoltResponse(status=200, body="")

    def _refuse_later(self, body: dict[str, Any], user_id: str, message: str) -> None:
        channel, thread = _where(body)
        if channel is None:
            return
        task = asyncio.create_task(self._refuse(channel, thread, user_id, message))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _refuse(self, channel: str, thread: str | None, user_id: str, text: str) -> None:
        try:
            kwargs: dict[str, Any] = {"channel": channel, "user": user_id, "text": text}
            if thread:
                kwargs["thread_ts"] = thread
            await self.directory.client.chat_postEphemeral(**kwargs)
        except Exception:
            log.warning("could not tell %s they may not act", user_id, exc_info=True)
