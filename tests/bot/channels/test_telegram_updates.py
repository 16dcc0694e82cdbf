"""Update → event mapping helpers: forged button data, attachment kinds, chat keys."""

from __future__ import annotations

import pytest
from telegram import Update

from bot.channels.telegram_updates import VALID_CHOICE, attachment_kind, chat_key, customer_ref
from tests.fakes.telegram_server import attachment_update, callback_update, message_update


@pytest.mark.parametrize(
    "data", ["csat:12:1", "csat:12:5", "confirm:yes", "confirm:no", "human", "keep_bot", "cancel"]
)
def test_engine_button_data_is_accepted(data: str) -> None:
    assert VALID_CHOICE.fullmatch(data)


@pytest.mark.parametrize(
    "data",
    [
        "csat:12:0",
        "csat:12:6",
        "csat:x:5",
        "csat:12:5:1",
        "csat:12:5\n",
        "confirm:maybe",
        "admin",
        "",
        "human ",
    ],
)
def test_forged_button_data_is_refused(data: str) -> None:
    assert not VALID_CHOICE.fullmatch(data)


@pytest.mark.parametrize("kind", ["sticker", "photo", "voice", "document", "location"])
def test_attachment_kinds(kind: str) -> None:
    update = Update.de_json({"update_id": 1, **attachment_update(5, 1, kind)}, None)
    assert update.message is not None
    assert attachment_kind(update.message) == kind


def test_service_message_is_not_an_attachment() -> None:
    body = message_update(5, "x", 1)["message"]
    del body["text"]
    body["new_chat_title"] = "renamed"
    update = Update.de_json({"update_id": 1, "message": body}, None)
    assert update.message is not None and attachment_kind(update.message) is None


def test_customer_ref_and_chat_key() -> None:
    update = Update.de_json(
        {"update_id": 7, **message_update(42, "hi", 3, first_name="Olga", language="de")}, None
    )
    assert update.effective_chat is not None
    ref = customer_ref(update, update.effective_chat)
    assert (ref.channel, ref.external_id, ref.address) == ("telegram", "42", "42")
    assert (ref.first_name, ref.display_name, ref.language) == ("Olga", "Olga Example", "de")
    tap = Update.de_json({"update_id": 8, **callback_update(42, "human", 3)}, None)
    assert chat_key(update) == chat_key(tap) == 42
