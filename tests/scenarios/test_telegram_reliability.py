"""Telegram delivery under trouble: duplicates, flood control, blocks, 5xx, time-outs, forgery.

Retries never sleep for real: the dispatcher reschedules with the fake clock and the test
moves it forward.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from bot.core.events import StaffClaim, StaffResolve
from intents.base import Understander
from storage.db import Database
from storage.models import Customer, OutboxItem, Survey
from tests.fakes.telegram_server import TOKEN
from tests.fakes.telegram_world import AGENT, TelegramWorld, telegram_world
from tests.helpers import FakeClock

CHAT = 777


@pytest.fixture
async def world(
    database: Database, understander: Understander, clock: FakeClock
) -> AsyncIterator[TelegramWorld]:
    """Carebot polling the fake Bot API, with a short HTTP read time-out."""
    async with telegram_world(database, understander, clock, read_timeout=0.3) as found:
        yield found


async def _rows(world: TelegramWorld) -> list[tuple[str, str, int, str | None]]:
    async def read(uow: object) -> list[tuple[str, str, int, str | None]]:
        session = uow.session  # type: ignore[attr-defined]
        rows = (await session.execute(select(OutboxItem).order_by(OutboxItem.id))).scalars()
        return [(r.kind, r.status, r.attempts, r.last_error) for r in rows]

    result: list[tuple[str, str, int, str | None]] = await world.query(read)
    return result


async def test_duplicate_update_is_handled_once(world: TelegramWorld) -> None:
    update = world.fake.say(CHAT, "where is my order?")
    world.fake.push(copy.deepcopy(update))  # Telegram delivers the same update_id again
    await world.handled(2)
    await world.settle()
    assert len(world.fake.texts(CHAT)) == 1


async def test_flood_control_is_retried_without_loss_or_duplication(
    world: TelegramWorld,
) -> None:
    world.fake.fail_next(
        "sendMessage", 429, "Too Many Requests: retry after 7", parameters={"retry_after": 7}
    )
    world.fake.say(CHAT, "/start")
    world.fake.say(CHAT, "/help")
    await world.handled(2)
    await world.settle()
    assert world.fake.texts(CHAT) == []  # nothing skipped ahead of the held reply
    rows = await _rows(world)
    assert rows[0][1] == "pending" and "flood" in (rows[0][3] or "").lower()
    world.clock.advance(seconds=6)
    await world.settle()
    assert world.fake.texts(CHAT) == []  # retry_after is honoured
    world.clock.advance(seconds=2)
    await world.settle()
    texts = world.fake.texts(CHAT)
    assert len(texts) == 2 and "Ann" in texts[0]  # greeting first, then help: in order
    assert len(world.fake.of("sendMessage", CHAT)) == 3  # one refused, two delivered
    assert [row[1] for row in await _rows(world)] == ["sent", "sent"]


async def test_server_errors_and_timeouts_are_retried(world: TelegramWorld) -> None:
    world.fake.fail_next("sendMessage", 502, "Bad Gateway")
    world.fake.say(CHAT, "/help")
    await world.handled(1)
    await world.settle()
    assert world.fake.texts(CHAT) == []
    world.clock.advance(seconds=3)
    await world.settle()
    assert len(world.fake.texts(CHAT)) == 1
    world.fake.delay_next("sendMessage", 0.6)  # longer than the 0.3 s read time-out
    world.fake.say(CHAT, "/help")
    await world.handled(2)
    await world.settle()
    rows = await _rows(world)
    assert rows[-1][1] == "pending" and "timed out" in (rows[-1][3] or "").lower()
    world.clock.advance(seconds=3)
    await world.settle()
    assert [row[1] for row in await _rows(world)] == ["sent", "sent"]
    assert all(TOKEN not in (row[3] or "") for row in await _rows(world))


async def test_blocked_customer_is_marked_unreachable_not_retried(world: TelegramWorld) -> None:
    world.fake.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")
    world.fake.say(CHAT, "/help")
    await world.handled(1)
    await world.settle()
    world.clock.advance(minutes=30)
    await world.settle()
    assert len(world.fake.of("sendMessage", CHAT)) == 1
    assert (await _rows(world))[0][1] == "dead"

    async def unreachable(uow: object) -> bool:
        session = uow.session  # type: ignore[attr-defined]
        return bool((await session.execute(select(Customer))).scalars().one().unreachable)

    assert await world.query(unreachable)


async def _survey(world: TelegramWorld, chat: int) -> tuple[int, str]:
    """Hand off, resolve and let the survey go out; returns (message id, button data)."""
    await world.exchange(chat, "/human")
    card = [d for d in world.staff.deliveries if d.kind == "staff.handoff"][-1]
    conversation_id = int(card.payload["conversation_id"])
    await world.carebot.engine.handle(StaffClaim(conversation_id, AGENT, f"c{chat}"))
    await world.carebot.engine.handle(StaffResolve(conversation_id, AGENT, f"r{chat}"))
    await world.settle()
    world.clock.advance(minutes=11)
    await world.settle()
    call = world.fake.of("sendMessage", chat)[-1]
    row = call.params["reply_markup"]["inline_keyboard"][0]
    message_id = max(m for (c, m) in world.fake.messages if c == chat)
    return message_id, str(row[4]["callback_data"])


async def _scores(world: TelegramWorld) -> list[int | None]:
    async def read(uow: object) -> list[int | None]:
        session = uow.session  # type: ignore[attr-defined]
        return [s.score for s in (await session.execute(select(Survey))).scalars()]

    result: list[int | None] = await world.query(read)
    return result


async def test_tampered_callback_data_is_refused_and_logged(
    world: TelegramWorld, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    message_id, data = await _survey(world, CHAT)
    survey_id = data.split(":")[1]
    forged = [f"csat:{survey_id}:9", f"csat:{survey_id}:5;DROP", "admin:1", "csat:99999:5"]
    for index, bad in enumerate(forged):
        world.fake.tap(CHAT, bad, message_id)
        await world.handled(world.channel.handled + 1)
        answer = world.fake.of("answerCallbackQuery")[-1]
        assert answer.params["show_alert"] in ("true", True), bad
        assert len(world.fake.of("answerCallbackQuery")) == index + 1
    # Another customer pressing this chat's survey button is refused too.
    world.fake.tap(888, data, message_id, first_name="Mallory")
    await world.handled(world.channel.handled + 1)
    await world.settle()
    assert world.fake.of("answerCallbackQuery")[-1].params["show_alert"] in ("true", True)
    assert await _scores(world) == [None]
    assert world.fake.of("editMessageText") == []
    assert "refused" in caplog.text and caplog.text.count("refused") >= 4


async def test_survey_closed_after_expiry(world: TelegramWorld) -> None:
    message_id, data = await _survey(world, CHAT)
    world.clock.advance(days=8)
    await world.settle()
    world.fake.tap(CHAT, data, message_id)
    await world.handled(world.channel.handled + 1)
    answer = world.fake.of("answerCallbackQuery")[-1]
    assert "closed" in answer.params["text"].lower()
    assert answer.params["show_alert"] in ("true", True)
    assert await _scores(world) == [None]


async def test_survey_button_pressed_twice_changes_the_rating(world: TelegramWorld) -> None:
    message_id, data = await _survey(world, CHAT)
    world.fake.tap(CHAT, data, message_id)
    world.fake.tap(CHAT, data.replace(":5", ":4"), message_id)
    await world.handled(world.channel.handled + 2)
    await world.settle()
    assert await _scores(world) == [4]  # the last answer wins
    edits = world.fake.of("editMessageText", CHAT)
    assert len(edits) == 2 and "✓ 4" in str(edits[-1].params["reply_markup"])
