"""Webhook mode: the ASGI app checks Telegram's secret header and handles before answering."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest

from bot.asgi import build_asgi
from intents.base import Understander
from storage.db import Database
from tests.fakes.telegram_server import message_update
from tests.fakes.telegram_world import TelegramWorld, telegram_world
from tests.helpers import FakeClock

SECRET = "s3cret-Token_1"
URL = "https://bot.example.com/telegram/webhook"
CHAT = 31337


@pytest.fixture
async def world(
    database: Database, understander: Understander, clock: FakeClock
) -> AsyncIterator[TelegramWorld]:
    """Carebot in webhook mode (no polling) against the fake Bot API."""
    async with telegram_world(
        database, understander, clock, telegram_webhook_url=URL, telegram_webhook_secret=SECRET
    ) as found:
        yield found


@pytest.fixture
async def client(world: TelegramWorld) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for the Carebot ASGI app."""
    transport = httpx.ASGITransport(app=build_asgi(world.carebot))
    async with httpx.AsyncClient(transport=transport, base_url="http://carebot") as found:
        yield found


async def test_webhook_is_registered_with_the_secret(world: TelegramWorld) -> None:
    assert world.fake.webhook_url == URL
    assert world.fake.webhook_secret == SECRET
    set_call = world.fake.of("setWebhook")[0]
    assert set_call.params["allowed_updates"] == ["message", "edited_message", "callback_query"]
    assert world.fake.of("getUpdates") == []  # no polling in webhook mode


@pytest.mark.parametrize(
    "headers",
    [
        {"Content-Type": "application/json"},
        {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": "wrong"},
        {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": ""},
        {"Content-Type": "text/plain", "X-Telegram-Bot-Api-Secret-Token": SECRET},
    ],
    ids=["missing", "wrong", "empty", "wrong-content-type"],
)
async def test_wrong_or_missing_secret_is_refused(
    world: TelegramWorld, client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    body = {"update_id": 1, **message_update(CHAT, "hello", 1)}
    response = await client.post("/telegram/webhook", content=json.dumps(body), headers=headers)
    assert response.status_code == 403
    await world.settle()
    assert world.fake.of("sendMessage") == []


async def test_update_is_handled_before_200_and_deduplicated(
    world: TelegramWorld, client: httpx.AsyncClient
) -> None:
    headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": SECRET}
    body = {"update_id": 5, **message_update(CHAT, "/start", 1, first_name="Ivo")}
    first = await client.post("/telegram/webhook", content=json.dumps(body), headers=headers)
    assert first.status_code == 200
    assert world.channel.handled == 1  # durable before the answer
    again = await client.post("/telegram/webhook", content=json.dumps(body), headers=headers)
    assert again.status_code == 200
    await world.settle()
    texts = world.fake.texts(CHAT)
    assert len(texts) == 1 and "Ivo" in texts[0]


async def test_bad_json_is_a_400(client: httpx.AsyncClient) -> None:
    headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": SECRET}
    response = await client.post("/telegram/webhook", content=b"{not json", headers=headers)
    assert response.status_code == 400


async def test_route_refuses_everything_without_a_secret(
    database: Database, understander: Understander, clock: FakeClock
) -> None:
    async with telegram_world(database, understander, clock) as world:  # polling mode
        transport = httpx.ASGITransport(app=build_asgi(world.carebot))
        async with httpx.AsyncClient(transport=transport, base_url="http://c") as client:
            body = {"update_id": 1, **message_update(CHAT, "hello", 1)}
            response = await client.post(
                "/telegram/webhook",
                content=json.dumps(body),
                headers={"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": ""},
            )
            assert response.status_code == 403


async def test_an_update_that_cannot_be_stored_is_answered_503_so_telegram_resends(
    world: TelegramWorld, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": SECRET}
    body = {"update_id": 9001, **message_update(CHAT, "hello", 7)}

    def database_down() -> None:
        raise OSError("connection refused")

    monkeypatch.setattr(world.carebot.db, "sessions", database_down)
    first = await client.post("/telegram/webhook", content=json.dumps(body), headers=headers)
    assert first.status_code == 503
    monkeypatch.undo()
    again = await client.post("/telegram/webhook", content=json.dumps(body), headers=headers)
    assert again.status_code == 200
    await world.settle()
    assert len(world.fake.texts(CHAT)) == 1
