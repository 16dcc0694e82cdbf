"""A whole Carebot with the real Slack channel, driven by signed requests, for end-to-end tests.

Customers talk through the console ``CollectingSender`` (``world.harness``); staff act
through signed HTTP requests into the ASGI app (httpx ``ASGITransport``); Carebot's Web API
calls reach :class:`~tests.fakes.slack_server.FakeSlack` over loopback. Time is the
harness's ``FakeClock``; the dispatcher runs when the test calls ``settle``/``until``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from bot.app import assemble_carebot
from bot.asgi import build_asgi
from bot.channels.console import CollectingSender
from bot.channels.slack import SlackChannel
from bot.core.events import CustomerCommand, CustomerMessage, CustomerRef
from intents.base import Understander
from storage.db import Database
from tests.fakes import slack_signing as signing
from tests.fakes.slack_server import FakeSlack
from tests.helpers import FakeClock, Harness, make_settings

DESK = "C0DESK"
ANA, BEN, EVE = "U1ANA", "U2BEN", "U9EVE"


@dataclass
class SlackWorld:
    """The running pieces and shortcuts for driving them."""

    fake: FakeSlack
    harness: Harness
    channel: SlackChannel
    http: httpx.AsyncClient

    @property
    def customer_out(self) -> CollectingSender:
        """What reached the customer."""
        return self.harness.customer_out

    async def settle(self) -> None:
        """Deliver the outbox and run due timers."""
        await self.harness.settle()

    async def until(self, check: Callable[[], Any], within: float = 5.0) -> Any:
        """Settle repeatedly until ``check()`` is truthy (Bolt listeners run in tasks)."""
        deadline = time.monotonic() + within
        while True:
            await self.settle()
            result = check()
            if result:
                return result
            if time.monotonic() > deadline:
                raise AssertionError("condition not met in time")
            await asyncio.sleep(0.01)

    async def post(
        self, body: bytes, content_type: str, *, headers: dict[str, str] | None = None, **sign: Any
    ) -> httpx.Response:
        """POST a signed request to ``/slack/events``."""
        signed = signing.sign(body, content_type, **sign)
        signed.update(headers or {})
        return await self.http.post("/slack/events", content=body, headers=signed)

    async def event(self, event: dict[str, Any], **kw: Any) -> httpx.Response:
        """Deliver one Events API event."""
        event_id = kw.pop("event_id", None)
        return await self.post(signing.event_body(event, event_id=event_id), signing.JSON, **kw)

    async def reply(self, thread: str, user: str, text: str, **kw: Any) -> httpx.Response:
        """A staff message in a handoff thread."""
        return await self.event(signing.thread_reply(DESK, thread, user, text), **kw)

    async def press(
        self, action_id: str, conversation_id: int, user: str, ts: str, **kw: Any
    ) -> httpx.Response:
        """A button press on the card."""
        body = signing.action_body(action_id, str(conversation_id), user, DESK, ts, **kw)
        return await self.post(body, signing.FORM)

    async def command(self, text: str, user: str = ANA) -> httpx.Response:
        """``/carebot text``."""
        body = signing.command_body(text, user, DESK, self.fake.response_url())
        return await self.post(body, signing.FORM)

    def customer(self, external_id: str = "42", name: str = "Ann") -> CustomerRef:
        """A console customer."""
        return self.harness.customer(name=name, external_id=external_id)

    async def handoff(self, who: CustomerRef | None = None) -> tuple[int, str]:
        """The customer asks for a person; returns (conversation id, card ts)."""
        who = who or self.customer()
        outcome = await self.harness.engine.handle(
            CustomerCommand(who, "human", delivery_id=f"human-{who.external_id}-{time.time()}")
        )
        assert outcome.conversation_id is not None
        cards = await self.until(lambda: self.cards_for(outcome.conversation_id))
        return outcome.conversation_id, cards[0]["_ts"]

    async def say(self, text: str, who: CustomerRef | None = None) -> None:
        """The customer writes."""
        await self.harness.engine.handle(CustomerMessage(who or self.customer(), text))
        await self.settle()

    def cards_for(self, conversation_id: int | None) -> list[dict[str, Any]]:
        """Handoff cards posted for a conversation (with their ts as ``_ts``)."""
        found = []
        for body in self.fake.of("chat.postMessage"):
            if body.get("thread_ts") or not body.get("blocks"):
                continue
            actions = [b for b in body["blocks"] if b.get("type") == "actions"]
            if actions and actions[0]["elements"][0]["value"] == str(conversation_id):
                ts = next(
                    m["ts"]
                    for m in self.fake.messages.get(DESK, [])
                    if m.get("metadata") == body.get("metadata")
                )
                found.append({**body, "_ts": ts})
        return found

    def thread_posts(self, ts: str) -> list[str]:
        """Texts posted into a thread."""
        return [b["text"] for b in self.fake.of("chat.postMessage") if b.get("thread_ts") == ts]

    def ephemerals(self, user: str | None = None) -> list[str]:
        """Ephemeral texts (optionally to one user)."""
        return [
            b["text"]
            for b in self.fake.of("chat.postEphemeral")
            if user is None or b.get("user") == user
        ]

    def responses(self) -> list[str]:
        """Texts sent back through a slash command's ``response_url``."""
        return [b["text"] for b in self.fake.of("respond")]


@asynccontextmanager
async def slack_world(
    database: Database, understander: Understander, clock: FakeClock, **settings: Any
) -> AsyncIterator[SlackWorld]:
    """Start the fake Slack and a Carebot with the Slack channel; clean up afterwards."""
    fake = await FakeSlack().start()
    fields: dict[str, Any] = {
        "slack_bot_token": fake.token,
        "slack_signing_secret": signing.SECRET,
        "slack_handoff_channel": DESK,
        "slack_api_url": fake.url,
    }
    fields.update(settings)
    carebot = assemble_carebot(
        make_settings(**fields), clock=clock, understander=understander, database=database
    )
    customer_out = CollectingSender()
    carebot.add_sender("console", customer_out)
    channel = next(c for c in carebot.channels if isinstance(c, SlackChannel))
    harness = Harness(carebot, customer_out, CollectingSender(), clock)
    transport = httpx.ASGITransport(app=build_asgi(carebot))
    http = httpx.AsyncClient(transport=transport, base_url="http://carebot.test")
    try:
        yield SlackWorld(fake, harness, channel, http)
    finally:
        await http.aclose()
        await _quiesce()
        await channel.stop()
        await fake.stop()


async def _quiesce() -> None:
    """Let Bolt's background listener tasks finish before the loop goes away."""
    current = asyncio.current_task()
    for _ in range(3):
        others = [t for t in asyncio.all_tasks() if t is not current and not t.done()]
        if not others:
            return
        await asyncio.wait(others, timeout=1.0)
