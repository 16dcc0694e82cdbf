"""Many customers at once, and the default rate limits (1 message/s per chat)."""

from __future__ import annotations

import time
from collections import defaultdict

from sqlalchemy import select

from intents.base import Understander
from storage.db import Database
from storage.models import Conversation, Customer, Direction, Message
from tests.fakes.telegram_world import telegram_world
from tests.helpers import FakeClock
from tests.scripted import ScriptedUnderstander

CUSTOMERS = 200
LINES = ("hello", "where is my order?")


async def test_200_customers_concurrently_each_reply_once_and_in_order(
    database: Database, understander: Understander, clock: FakeClock
) -> None:
    fast = ScriptedUnderstander(understander)  # the channel is under test, not the classifier
    async with telegram_world(database, fast, clock, background=True) as world:
        chats = [10_000 + n for n in range(CUSTOMERS)]
        started = time.monotonic()
        for line in LINES:  # interleaved: every chat's first line, then every second, ...
            for chat in chats:
                world.fake.say(chat, f"{line} ({chat})")
        expected = CUSTOMERS * len(LINES)
        await world.fake.wait_for(lambda: len(world.fake.texts()) >= expected, within=120)
        elapsed = time.monotonic() - started

        async def transcript(uow: object) -> dict[str, dict[str, list[str]]]:
            session = uow.session  # type: ignore[attr-defined]
            stmt = (
                select(Customer.external_id, Message.direction, Message.text)
                .join(Conversation, Conversation.id == Message.conversation_id)
                .join(Customer, Customer.id == Conversation.customer_id)
                .order_by(Message.id)
            )
            found: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
            for external_id, direction, text in (await session.execute(stmt)).all():
                found[external_id][direction].append(text)
            return found

        stored = await world.query(transcript)
    sends = world.fake.of("sendMessage")
    assert len(world.fake.texts()) == expected  # once each: no duplicates
    for chat in chats:
        received = world.fake.texts(chat)
        assert stored[str(chat)][Direction.INBOUND] == [f"{line} ({chat})" for line in LINES]
        assert received == stored[str(chat)][Direction.OUTBOUND]  # delivered in order
    assert len(sends) == expected
    print(f"{expected} messages from {CUSTOMERS} customers answered in {elapsed:.1f}s")


async def test_default_limits_space_one_chats_messages_a_second_apart(
    database: Database, understander: Understander, clock: FakeClock
) -> None:
    async with telegram_world(
        database, understander, clock, telegram_rate_overall=30.0, telegram_rate_per_chat=1.0
    ) as world:
        limiter = world.channel.sender.limiter
        assert (limiter.overall_gap, limiter.chat_gap) == (1 / 30, 1.0)
        world.fake.say(5, "/start")
        world.fake.say(5, "/help")
        for chat in range(100, 140):
            world.fake.say(chat, "/help")
        await world.handled(42)
        await world.settle()
        to_five = world.fake.of("sendMessage", 5)
        assert len(to_five) == 2
        assert to_five[1].at - to_five[0].at >= 0.9  # arrival jitter on a loaded box
        sends = sorted(c.at for c in world.fake.of("sendMessage"))
        assert len(sends) == 42
        for first, last in zip(sends, sends[30:], strict=False):
            assert last - first >= 0.9  # never more than 30 in any one second (± jitter)
