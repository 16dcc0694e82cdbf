"""Carebot's aiohttp client for the Bot API, driven by PTB's ``Bot`` over loopback."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from telegram import Bot
from telegram.error import NetworkError, TimedOut

from bot.channels import telegram  # noqa: F401  (sets PTB_TIMEDELTA before errors are built)
from bot.channels.telegram_http import AiohttpRequest
from tests.fakes.telegram_server import BOT_USER, TOKEN, FakeTelegram


@contextlib.asynccontextmanager
async def _recorder(answer: dict[str, Any]) -> AsyncIterator[tuple[str, list[web.Request], list]]:
    """A loopback server that keeps every request (and its parsed body) and answers
    ``answer`` (``getMe`` with the bot); yields its base URL, the requests and the bodies."""
    seen: list[web.Request] = []
    bodies: list[Any] = []

    async def keep(request: web.Request) -> web.Response:
        seen.append(request)
        if request.content_type.startswith("multipart/"):
            parts = {}
            reader = await request.multipart()
            async for part in reader:
                parts[part.name] = (part.filename, await part.read())  # type: ignore[union-attr]
            bodies.append(parts)
        else:
            bodies.append(dict(await request.post()))
        result = BOT_USER if request.path.endswith("/getMe") else answer
        return web.json_response({"ok": True, "result": result})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", keep)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}", seen, bodies
    finally:
        await runner.cleanup()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_calls_arrive_as_the_same_form_ptb_sends(fake: FakeTelegram) -> None:
    markup = {"inline_keyboard": [[{"text": "Yes", "callback_data": "confirm:yes"}]]}
    async with Bot(TOKEN, base_url=fake.base_url, request=AiohttpRequest(secret=TOKEN)) as bot:
        sent = await bot.send_message(55, "héllo <b>there</b>", reply_markup=markup)
    assert sent.text == "héllo <b>there</b>" and sent.chat.id == 55
    (call,) = fake.of("sendMessage")
    assert call.params["text"] == "héllo <b>there</b>"
    assert call.params["reply_markup"] == markup


async def test_files_go_as_multipart_with_the_other_fields() -> None:
    message = {"message_id": 1, "date": 0, "chat": {"id": 55, "type": "private"}}
    async with _recorder(message) as (url, seen, bodies):
        request = AiohttpRequest(secret=TOKEN)
        async with Bot(TOKEN, base_url=f"{url}/bot", request=request) as bot:
            await bot.send_document(55, document=b"order 1234", filename="receipt.txt")
    fields = bodies[-1]
    assert seen[-1].path == f"/bot{TOKEN}/sendDocument"
    assert fields["chat_id"] == (None, b"55")
    assert fields["document"] == ("receipt.txt", b"order 1234")


async def test_a_slow_answer_is_a_timeout(fake: FakeTelegram) -> None:
    async with Bot(TOKEN, base_url=fake.base_url, request=AiohttpRequest(read_timeout=0.2)) as bot:
        fake.delay_next("sendMessage", 0.6)
        with pytest.raises(TimedOut):
            await bot.send_message(55, "hello")
        assert (await bot.send_message(55, "again")).text == "again"  # the client goes on


@pytest.mark.parametrize(
    ("base_url", "error"),
    [
        (f"http://127.0.0.1:{_free_port()}/bot", "aiohttp.ClientConnectorError"),
        ("http://127.0.0.1:99999/bot", "aiohttp.InvalidUrlClientError"),  # a bad API URL
    ],
)
async def test_a_failed_call_is_a_network_error_without_the_token(
    base_url: str, error: str
) -> None:
    request = AiohttpRequest(connect_timeout=1, secret=TOKEN)
    await request.initialize()
    try:
        with pytest.raises(NetworkError) as raised:
            await request.post(f"{base_url}{TOKEN}/getMe")
    finally:
        await request.shutdown()
    assert error in str(raised.value)
    assert TOKEN not in str(raised.value) and TOKEN not in repr(raised.value.args)


async def test_only_an_initialised_client_calls_and_it_can_start_again(
    fake: FakeTelegram,
) -> None:
    request = AiohttpRequest()
    url = f"{fake.base_url}{TOKEN}/getMe"
    with pytest.raises(NetworkError, match="not initialized"):  # PTB wraps the error
        await request.post(url)
    for _ in range(2):  # PTB's Application may initialise and shut down more than once
        await request.initialize()
        assert await request.post(url) == BOT_USER
        await request.shutdown()
    with pytest.raises(NetworkError, match="not initialized"):  # PTB wraps the error
        await request.post(url)


async def test_the_proxy_from_the_environment_is_used_unless_no_proxy_says_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("NO_PROXY", "no_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    async with _recorder(BOT_USER) as (target, direct, _), _recorder(BOT_USER) as (proxy, via, _):
        url = f"{target}/bot{TOKEN}/getMe"
        monkeypatch.setenv("HTTP_PROXY", proxy)
        request = AiohttpRequest()
        await request.initialize()
        try:
            assert await request.post(url) == BOT_USER
            assert (len(via), len(direct)) == (1, 0)
            assert str(via[0].url).startswith(target)  # asked of the proxy, for the target

            monkeypatch.setenv("NO_PROXY", "127.0.0.1")
            await request.shutdown()
            await request.initialize()  # the environment is read again after a restart
            assert await request.post(url) == BOT_USER
            assert (len(via), len(direct)) == (1, 1)
        finally:
            await request.shutdown()


async def test_many_calls_at_once_share_the_pool(fake: FakeTelegram) -> None:
    async with Bot(TOKEN, base_url=fake.base_url, request=AiohttpRequest(4)) as bot:
        sent = await asyncio.gather(*(bot.send_message(55, f"m{n}") for n in range(40)))
    expected = sorted(f"m{n}" for n in range(40))
    assert sorted(m.text or "" for m in sent) == expected == sorted(fake.texts(55))
