"""Slack outages delay handoffs but lose none; SLA reminders ping the staff group."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.channels import slack_blocks as kit
from intents.base import Understander
from storage.db import Database
from storage.models import Handoff, OutboxItem
from tests.fakes.slack_world import ANA, DESK, SlackWorld, slack_world
from tests.helpers import FakeClock


@pytest.fixture
async def world(
    database: Database, understander: Understander, clock: FakeClock, settings_env: Any
) -> AsyncIterator[SlackWorld]:
    async with slack_world(
        database, understander, clock, slack_staff_group="S0STAFF", sla_minutes=15
    ) as built:
        yield built


def _cards(world: SlackWorld) -> list[dict[str, Any]]:
    return [
        b for b in world.fake.of("chat.postMessage") if b.get("blocks") and not b.get("thread_ts")
    ]


async def _thread(world: SlackWorld) -> str | None:
    from sqlalchemy import select

    async def load(uow: Any) -> str | None:
        return (await uow.session.execute(select(Handoff.staff_thread))).scalar_one_or_none()

    result: str | None = await world.harness.query(load)
    return result


async def test_handoff_during_outage_is_delivered_once_after_recovery(
    world: SlackWorld, clock: FakeClock
) -> None:
    world.fake.outage(503)
    customer = world.customer()
    from bot.core.events import CustomerCommand

    await world.harness.engine.handle(CustomerCommand(customer, "human", delivery_id="h1"))
    await world.settle()
    await world.say("are you there?")  # queued behind the card in the handoff's lane
    clock.advance(minutes=2)
    await world.settle()
    assert _cards(world) == []
    tried = world.fake.attempts("chat.postMessage") + world.fake.attempts("conversations.history")
    assert tried >= 2  # it did try, and retried (a retry first looks for a lost post)

    world.fake.recover()
    clock.advance(minutes=5)
    await world.settle()
    cards = _cards(world)
    assert len(cards) == 1
    ts = await _thread(world)
    assert ts is not None
    assert world.thread_posts(ts) == ["*Ann:* are you there?"]
    clock.advance(minutes=10)
    await world.settle()
    assert len(_cards(world)) == 1


async def test_rate_limit_retry_after_is_honoured(world: SlackWorld, clock: FakeClock) -> None:
    world.fake.fail_next["chat.postMessage"] = [(429, "ratelimited", 30)]
    from bot.core.events import CustomerCommand

    await world.harness.engine.handle(CustomerCommand(world.customer(), "human", delivery_id="h"))
    await world.settle()
    assert _cards(world) == []

    async def last_error(uow: Any) -> str | None:
        from sqlalchemy import select

        rows = (await uow.session.execute(select(OutboxItem.last_error))).scalars().all()
        return next((r for r in rows if r), None)

    assert "rate limited" in (await world.harness.query(last_error) or "")
    clock.advance(seconds=20)
    await world.settle()
    assert _cards(world) == []
    clock.advance(seconds=15)
    await world.settle()
    assert len(_cards(world)) == 1


async def test_a_card_whose_answer_was_lost_is_not_posted_twice(
    world: SlackWorld, clock: FakeClock
) -> None:
    world.fake.outage(502)
    from bot.core.events import CustomerCommand

    await world.harness.engine.handle(CustomerCommand(world.customer(), "human", delivery_id="h"))
    await world.settle()
    # Slack did post it, but the answer never reached us:
    world.fake.messages.setdefault(DESK, []).append(
        {
            "type": "message",
            "ts": "1700000000.999999",
            "text": "card",
            "metadata": {"event_type": "carebot_handoff", "event_payload": {"handoff_id": 1}},
        }
    )
    world.fake.recover()
    clock.advance(minutes=5)
    await world.settle()
    assert _cards(world) == []
    assert world.fake.of("conversations.history")
    assert await _thread(world) == "1700000000.999999"


async def test_unclaimed_handoff_reminds_then_escalates_with_a_group_mention(
    world: SlackWorld,
) -> None:
    conversation_id, ts = await world.handoff()
    await world.harness.later(minutes=16)
    reminder = world.thread_posts(ts)
    assert len(reminder) == 1
    assert "<!subteam^S0STAFF>" in reminder[0] and "Reminder" in reminder[0]
    await world.harness.later(minutes=16)
    posts = world.thread_posts(ts)
    assert len(posts) == 2 and "Still unclaimed" in posts[1]
    assert "<!subteam^S0STAFF>" in posts[1]
    await world.harness.later(minutes=60)
    assert len(world.thread_posts(ts)) == 2  # escalates once more, then stops

    await world.press(kit.CLAIM, conversation_id, ANA, ts)
    await world.until(lambda: world.fake.of("chat.update"))


async def test_claimed_handoff_gets_no_reminder(world: SlackWorld) -> None:
    conversation_id, ts = await world.handoff()
    await world.press(kit.CLAIM, conversation_id, ANA, ts)
    await world.until(lambda: world.fake.of("chat.update"))
    await world.harness.later(minutes=40)
    assert world.thread_posts(ts) == []


async def test_expected_wait_is_told_when_the_handoff_starts(
    database: Database, understander: Understander, clock: FakeClock, settings_env: Any
) -> None:
    async with slack_world(
        database, understander, clock, office_hours="Mon-Fri 09:00-17:00"
    ) as world:
        clock.advance(hours=10)  # Monday 20:00 UTC: closed
        await world.handoff()
        assert "back" in world.customer_out.texts()[-1]
        assert (
            "Tuesday" in world.customer_out.texts()[-1]
            or "09:00" in (world.customer_out.texts()[-1])
        )


async def test_expected_wait_is_the_median_first_response_once_there_is_data(
    database: Database, understander: Understander, clock: FakeClock, settings_env: Any
) -> None:
    async with slack_world(database, understander, clock, expected_wait_min_samples=1) as world:
        conversation_id, ts = await world.handoff()
        assert "as soon as possible" in world.customer_out.texts()[-1]  # too little data
        clock.advance(minutes=4)
        await world.reply(ts, ANA, "Hello, Ana here")
        await world.until(lambda: any("Ana here" in t for t in world.customer_out.texts()))
        await world.press(kit.RESOLVE, conversation_id, ANA, ts)
        await world.until(lambda: len(world.fake.of("chat.update")) >= 2)

        await world.handoff(world.customer(external_id="43", name="Bob"))
        assert "about 4 minutes" in world.customer_out.texts()[-1]
