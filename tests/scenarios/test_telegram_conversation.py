"""End to end on Telegram: real PTB polling against the fake Bot API, on both databases."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from bot.core.events import StaffClaim, StaffReply, StaffResolve
from intents.base import Understander
from storage.db import Database
from storage.models import Customer, Message, Survey
from tests.fakes.telegram_server import TOKEN, attachment_update
from tests.fakes.telegram_world import AGENT, TelegramWorld, telegram_world
from tests.helpers import FakeClock

CHAT = 4242


@pytest.fixture
async def world(
    database: Database, understander: Understander, clock: FakeClock
) -> AsyncIterator[TelegramWorld]:
    """Carebot polling the fake Bot API."""
    async with telegram_world(database, understander, clock) as found:
        yield found


async def test_full_conversation_is_answered(
    world: TelegramWorld, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    greeting = await world.exchange(CHAT, "/start", first_name="Olga")
    assert len(greeting) == 1 and "Olga" in greeting[0]
    answer = await world.exchange(CHAT, "where is my order?")
    assert answer and answer[0].strip()
    assert [c.method for c in world.fake.calls[:2]] == ["getMe", "deleteWebhook"]
    for call in world.fake.of("sendMessage"):
        assert "parse_mode" not in call.params  # plain text: nothing to escape
    help_text = await world.exchange(CHAT, "/help")
    assert help_text
    assert TOKEN not in caplog.text
    assert TOKEN.split(":")[1] not in caplog.text


async def test_returning_customer_is_greeted_with_last_topic(world: TelegramWorld) -> None:
    await world.exchange(CHAT, "where is my order?")
    world.clock.advance(days=2)  # the inactivity timer closes the conversation
    await world.settle()
    again = await world.exchange(CHAT, "/start", first_name="Olga")
    assert "Olga" in again[0]
    assert "order" in again[0].lower()


async def test_human_handoff_and_staff_reply(world: TelegramWorld) -> None:
    await world.exchange(CHAT, "hello")
    await world.exchange(CHAT, "/human")
    assert "staff.handoff" in world.staff.kinds()
    card = next(d for d in world.staff.deliveries if d.kind == "staff.handoff")
    conversation_id = int(card.payload["conversation_id"])
    relayed = await world.exchange(CHAT, "my parcel never came")
    assert relayed == []  # in human mode the bot stays quiet
    assert "my parcel never came" in world.staff.texts("staff.customer_message")
    await world.carebot.engine.handle(StaffClaim(conversation_id, AGENT, "c1"))
    await world.carebot.engine.handle(
        StaffReply(conversation_id, AGENT, "Sorry! <b>I</b> resend it today.", delivery_id="r1")
    )
    await world.settle()
    texts = world.fake.texts(CHAT)
    assert any("<b>I</b> resend it today" in t for t in texts)  # relayed verbatim


async def test_attachments_get_a_kind_reply_and_reach_staff_in_human_mode(
    world: TelegramWorld,
) -> None:
    for index, kind in enumerate(("sticker", "photo", "voice", "document", "location")):
        world.fake.push(attachment_update(CHAT, world.fake.next_message_id(CHAT), kind))
        await world.handled(index + 1)
    await world.settle()
    assert len(world.fake.texts(CHAT)) == 5
    await world.exchange(CHAT, "/human")
    world.fake.push(
        attachment_update(CHAT, world.fake.next_message_id(CHAT), "photo", caption="the broken box")
    )
    await world.handled(world.channel.handled + 1)
    await world.settle()
    staff_lines = " ".join(world.staff.texts())
    assert "photo" in staff_lines.lower()


async def test_edited_message_is_acknowledged_not_answered_twice(world: TelegramWorld) -> None:
    update = world.fake.say(CHAT, "where is my order?")
    await world.handled(1)
    await world.settle()
    first = len(world.fake.texts(CHAT))
    edited = dict(update["message"], text="where is my refund?", edit_date=1)
    world.fake.push({"edited_message": edited})
    await world.handled(2)
    await world.settle()
    assert len(world.fake.texts(CHAT)) == first  # the engine does not answer it twice


async def test_group_chats_are_ignored(world: TelegramWorld) -> None:
    world.fake.say(-100123, "hello all", chat_type="supergroup")
    await world.handled(1)
    await world.settle()
    assert world.fake.of("sendMessage") == []


async def test_card_number_is_masked_and_the_message_deleted(world: TelegramWorld) -> None:
    update = world.fake.say(CHAT, "here is my card 4111 1111 1111 1111")
    await world.handled(1)
    await world.settle()
    message_id = update["message"]["message_id"]
    assert (CHAT, message_id) in world.fake.deleted
    stored = await world.query(lambda uow: _texts(uow))
    assert not any("4111 1111 1111 1111" in t for t in stored)
    assert any("1111" in t for t in stored)


async def _texts(uow: object) -> list[str]:
    session = uow.session  # type: ignore[attr-defined]
    return [m.text for m in (await session.execute(select(Message))).scalars()]


async def test_csat_by_button_with_comment(world: TelegramWorld) -> None:
    await world.exchange(CHAT, "hello")
    await world.exchange(CHAT, "/human")
    card = next(d for d in world.staff.deliveries if d.kind == "staff.handoff")
    conversation_id = int(card.payload["conversation_id"])
    engine = world.carebot.engine
    await engine.handle(StaffClaim(conversation_id, AGENT, "c1"))
    await engine.handle(StaffResolve(conversation_id, AGENT, "s1"))
    await world.settle()
    world.clock.advance(minutes=11)
    await world.settle()
    survey_call = world.fake.of("sendMessage", CHAT)[-1]
    buttons = survey_call.params["reply_markup"]["inline_keyboard"][0]
    assert [b["callback_data"].rsplit(":", 1)[1] for b in buttons] == ["1", "2", "3", "4", "5"]
    survey_message = _message_id_of(world, survey_call)
    world.fake.tap(CHAT, buttons[1]["callback_data"], survey_message)
    await world.handled(world.channel.handled + 1)
    await world.settle()
    answer = world.fake.of("answerCallbackQuery")[-1]
    assert "2/5" in answer.params.get("text", "")
    assert answer.params.get("show_alert") in (None, "false", False)
    edit = world.fake.of("editMessageText")[-1]
    assert "✓ 2" in str(edit.params["reply_markup"])
    await world.exchange(CHAT, "the courier was rude")
    survey = await world.query(lambda uow: _one(uow, Survey))
    assert (survey["score"], survey["comment"]) == (2, "the courier was rude")
    customer = await world.query(lambda uow: _one(uow, Customer))
    assert customer["first_name"] == "Ann" and customer["language"] == "en"


def _message_id_of(world: TelegramWorld, call: object) -> int:
    for (chat, message_id), message in world.fake.messages.items():
        if chat == CHAT and message["text"] == call.params["text"]:  # type: ignore[attr-defined]
            return message_id
    raise AssertionError("survey message not found")


async def _one(uow: object, model: type) -> dict[str, object]:
    session = uow.session  # type: ignore[attr-defined]
    row = (await session.execute(select(model))).scalars().one()
    return {column.key: getattr(row, column.key) for column in model.__table__.columns}
