"""Fuzz the real Telegram channel: arbitrary button data and text through PTB's handling.

Properties: no update crashes the channel; button data the engine never issued is
refused (counted, answered with an alert) and reaches nothing; valid data is accepted;
and nothing goes out with a ``parse_mode``, so no customer text is read as markup.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import given
from telegram import Update

from bot.channels.telegram_updates import REFUSED_BUTTON, VALID_CHOICE
from intents.base import Understander
from storage.db import Database
from tests.fakes.telegram_server import callback_update, message_update
from tests.fakes.telegram_world import TelegramWorld, telegram_world
from tests.fuzz.strategies import FUZZ, button_data, customer_name, customer_text
from tests.helpers import FakeClock
from tests.scripted import ScriptedUnderstander

_chats = itertools.count(5_000_001)


@pytest.fixture
async def world(
    database: Database, understander: Understander, clock: FakeClock, settings_env: Any
) -> AsyncIterator[TelegramWorld]:
    async with telegram_world(database, ScriptedUnderstander(understander), clock) as built:
        yield built


async def _process(world: TelegramWorld, update: dict[str, Any]) -> None:
    update.setdefault("update_id", next(_chats))
    await world.channel.process_update(Update.de_json(update, world.channel.application.bot))


def _no_markup(world: TelegramWorld) -> None:
    for method in ("sendMessage", "editMessageText"):
        for call in world.fake.of(method):
            assert not call.params.get("parse_mode"), call.params
            assert not call.params.get("entities"), call.params


@FUZZ
@given(data=button_data, text=customer_text, name=customer_name)
async def test_any_button_data_and_text_through_the_telegram_channel(
    world: TelegramWorld, data: str, text: str, name: str
) -> None:
    chat = next(_chats)
    name = name.strip() or "Ann"  # Telegram never sends an empty first name
    if text.strip():
        await _process(
            world, message_update(chat, text, world.fake.next_message_id(chat), first_name=name)
        )
    refused = world.channel.router.refused_callbacks
    answers = len(world.fake.of("answerCallbackQuery"))
    await _process(
        world, callback_update(chat, data, world.fake.next_message_id(chat), first_name=name)
    )
    await world.settle()
    forged = not VALID_CHOICE.fullmatch(data)
    assert world.channel.router.refused_callbacks == refused + int(forged)
    answer = world.fake.of("answerCallbackQuery")[answers:]
    assert len(answer) == 1
    if forged:
        assert answer[0].params.get("text") == REFUSED_BUTTON
    _no_markup(world)
