"""Building the Telegram channel from configuration alone."""

from __future__ import annotations

from typing import Any

import pytest
from telegram.request import HTTPXRequest

from bot.app import assemble_carebot
from bot.channels.telegram import WEBHOOK_PATH, TelegramChannel
from bot.channels.telegram_http import AiohttpRequest
from bot.config import load_settings
from bot.errors import ConfigError
from intents.base import Understander
from storage.db import Database
from tests.fakes.telegram_server import TOKEN, FakeTelegram
from tests.helpers import FakeClock, make_settings


@pytest.mark.parametrize(
    ("client", "request_class"), [(None, AiohttpRequest), ("httpx", HTTPXRequest)]
)
async def test_token_and_api_url_are_all_it_takes(
    settings_env: Any,
    database: Database,
    understander: Understander,
    clock: FakeClock,
    client: str | None,
    request_class: type,
) -> None:
    fake = FakeTelegram()
    await fake.start()
    settings_env.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    settings_env.setenv("CAREBOT_TELEGRAM_API_URL", fake.base_url)
    if client is not None:
        settings_env.setenv("CAREBOT_TELEGRAM_HTTP_CLIENT", client)
    settings = load_settings()
    carebot = assemble_carebot(settings, clock=clock, understander=understander, database=database)
    channel = carebot.channels[0]
    assert isinstance(channel, TelegramChannel)
    assert "telegram" in carebot.dispatcher.senders
    requests = channel.application.bot._request  # type: ignore[attr-defined]
    assert [type(r) for r in requests] == [request_class, request_class]
    assert [route.path for route in channel.routes()] == [WEBHOOK_PATH]  # type: ignore[attr-defined]
    limiter = channel.sender.limiter
    assert (limiter.overall_gap, limiter.chat_gap) == (1 / 30, 1.0)  # the published limits
    await channel.start()
    await fake.wait_for(lambda: bool(fake.of("getUpdates")))
    await channel.stop()
    assert [c.method for c in fake.calls][:3] == ["getMe", "deleteWebhook", "getUpdates"]
    await fake.stop()


def test_missing_token_is_a_clear_error(understander: Understander) -> None:
    settings = make_settings()
    with pytest.raises(ConfigError, match="TELEGRAM_BOT_TOKEN"):
        TelegramChannel.from_settings(settings, None)  # type: ignore[arg-type]


def test_webhook_url_needs_a_secret(settings_env: Any) -> None:
    settings_env.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    settings_env.setenv("CAREBOT_TELEGRAM_WEBHOOK_URL", "https://x.example/telegram/webhook")
    with pytest.raises(ConfigError, match="SECRET"):
        load_settings()
