"""The Telegram sender against the fake Bot API: splitting, keyboards and error mapping,
on both HTTP clients (Carebot's aiohttp one and PTB's httpx one)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from telegram import Bot
from telegram.request import BaseRequest, HTTPXRequest

from bot.channels import telegram  # noqa: F401  (sets PTB_TIMEDELTA before errors are built)
from bot.channels.telegram_http import AiohttpRequest
from bot.channels.telegram_limits import SendRateLimiter
from bot.channels.telegram_sender import TelegramSender, split_message_id, split_text
from bot.core.actions import (
    CUSTOMER_DELETE,
    CUSTOMER_EDIT,
    CUSTOMER_SURVEY,
    CUSTOMER_TEXT,
    Delivery,
)
from bot.errors import PermanentDeliveryError, RecipientUnreachable, TransientDeliveryError
from tests.fakes.telegram_server import TOKEN, FakeTelegram

CHAT = 55


@pytest.fixture(params=["aiohttp", "httpx"])
async def sender(
    fake: FakeTelegram, request: pytest.FixtureRequest
) -> AsyncIterator[TelegramSender]:
    """A sender with raised limits and a short read time-out, on either HTTP client."""
    client: BaseRequest = (
        AiohttpRequest(read_timeout=0.3, secret=TOKEN)
        if request.param == "aiohttp"
        else HTTPXRequest(read_timeout=0.3)
    )
    bot = Bot(TOKEN, base_url=fake.base_url, request=client)
    async with bot:
        yield TelegramSender(bot, SendRateLimiter(1000, 1000), redact=TOKEN)


def _text(
    text: str, buttons: list[list[dict[str, str]]] | None = None, kind: str = CUSTOMER_TEXT
) -> Delivery:
    payload = {"text": text, "buttons": buttons or [], "address": str(CHAT), "author": "bot"}
    return Delivery(1, kind, "telegram", payload, address=str(CHAT))


def test_split_text_prefers_paragraphs_then_words() -> None:
    text = ("a" * 3000) + "\n\n" + ("b" * 3000)
    assert split_text(text) == ["a" * 3000, "b" * 3000]
    words = " ".join(["word"] * 2000)  # 9999 characters, no newlines
    parts = split_text(words)
    assert len(parts) == 3 and all(len(p) <= 4096 for p in parts)
    assert " ".join(parts) == words
    assert split_text("x" * 5000) == ["x" * 4096, "x" * 904]


def test_split_message_id() -> None:
    assert split_message_id("-100123:45") == (-100123, 45)
    with pytest.raises(PermanentDeliveryError):
        split_message_id("console-1")


async def test_long_text_is_split_with_buttons_on_the_last_part(
    fake: FakeTelegram, sender: TelegramSender
) -> None:
    buttons = [[{"label": "Yes", "data": "confirm:yes"}, {"label": "No", "data": "confirm:no"}]]
    receipt = await sender.deliver(_text("<b>" + "x " * 3000, buttons))
    calls = fake.of("sendMessage")
    assert len(calls) == 2
    assert "reply_markup" not in calls[0].params
    assert calls[1].params["reply_markup"]["inline_keyboard"][0][1]["callback_data"] == "confirm:no"
    assert calls[0].params["text"].startswith("<b>") and "parse_mode" not in calls[0].params
    assert receipt.platform_id == f"{CHAT}:2"


async def test_survey_edit_and_not_modified_is_success(
    fake: FakeTelegram, sender: TelegramSender
) -> None:
    buttons = [[{"label": str(n), "data": f"csat:1:{n}"} for n in range(1, 6)]]
    receipt = await sender.deliver(_text("How did we do?", buttons, CUSTOMER_SURVEY))
    edit = Delivery(
        2,
        CUSTOMER_EDIT,
        "telegram",
        {
            "platform_message_id": receipt.platform_id,
            "text": "How did we do?",
            "buttons": [[{"label": "✓ 1", "data": "csat:1:1"}]],
            "address": str(CHAT),
        },
    )
    await sender.deliver(edit)
    await sender.deliver(edit)  # 400 "message is not modified"
    assert len(fake.of("editMessageText")) == 2


async def test_delete_of_a_missing_message_is_success(
    fake: FakeTelegram, sender: TelegramSender
) -> None:
    delete = Delivery(
        3, CUSTOMER_DELETE, "telegram", {"platform_message_id": f"{CHAT}:9", "address": str(CHAT)}
    )
    assert (await sender.deliver(delete)).extra == {"deleted": True}
    assert (await sender.deliver(delete)).extra == {"deleted": False}


@pytest.mark.parametrize(
    ("status", "description", "parameters", "error", "retry_after"),
    [
        (
            429,
            "Too Many Requests: retry after 12",
            {"retry_after": 12},
            TransientDeliveryError,
            12.0,
        ),
        (502, "Bad Gateway", None, TransientDeliveryError, None),
        (403, "Forbidden: bot was blocked by the user", None, RecipientUnreachable, None),
        (400, "Bad Request: chat not found", None, PermanentDeliveryError, None),
    ],
)
async def test_errors_are_mapped(
    fake: FakeTelegram,
    sender: TelegramSender,
    status: int,
    description: str,
    parameters: dict[str, int] | None,
    error: type[Exception],
    retry_after: float | None,
) -> None:
    fake.fail_next("sendMessage", status, description, parameters=parameters)
    with pytest.raises(error) as caught:
        await sender.deliver(_text("hi"))
    assert TOKEN not in str(caught.value)
    if retry_after is not None:
        assert caught.value.retry_after == retry_after  # type: ignore[attr-defined]


async def test_timeout_is_transient(fake: FakeTelegram, sender: TelegramSender) -> None:
    fake.delay_next("sendMessage", 0.6)
    with pytest.raises(TransientDeliveryError):
        await sender.deliver(_text("hi"))


async def test_staff_kinds_and_oversized_button_data_are_refused(sender: TelegramSender) -> None:
    with pytest.raises(PermanentDeliveryError):
        await sender.deliver(Delivery(4, "staff.notice", "telegram", {"text": "x"}))
    with pytest.raises(PermanentDeliveryError):
        await sender.deliver(_text("hi", [[{"label": "x", "data": "d" * 65}]]))
