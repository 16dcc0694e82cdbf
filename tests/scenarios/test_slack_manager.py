"""Manager summaries in Slack: ``/carebot report``, the weekly digest, low-CSAT alerts.

Through the real Bolt app (signed requests) and the fake Web API, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.channels import slack_blocks as kit
from bot.core.actions import CUSTOMER_SURVEY
from bot.core.events import CustomerChoice
from intents.base import Understander
from storage.db import Database
from tests.fakes.slack_world import ANA, DESK, SlackWorld, slack_world
from tests.helpers import FakeClock

MANAGERS = "C0MGRS"


@pytest.fixture
async def world(
    database: Database, understander: Understander, clock: FakeClock, settings_env: Any
) -> AsyncIterator[SlackWorld]:
    async with slack_world(
        database, understander, clock, survey_delay_minutes=0, slack_managers_channel=MANAGERS
    ) as built:
        yield built


def _answers(world: SlackWorld) -> list[dict[str, Any]]:
    return world.fake.of("respond")


async def _rate(world: SlackWorld, score: int) -> tuple[int, str]:
    """A handoff resolved by Ana and rated ``score``; returns (conversation, card ts)."""
    await world.say("Hello, my parcel is late")
    conversation_id, ts = await world.handoff()
    await world.press(kit.CLAIM, conversation_id, ANA, ts)
    await world.until(lambda: world.fake.of("chat.update"))
    await world.press(kit.RESOLVE, conversation_id, ANA, ts)
    survey = await world.until(
        lambda: [d for d in world.customer_out.deliveries if d.kind == CUSTOMER_SURVEY]
    )
    data = survey[-1].payload["buttons"][0][score - 1]["data"]
    await world.harness.engine.handle(
        CustomerChoice(world.customer(), data, delivery_id=f"tap-{score}")
    )
    await world.settle()
    return conversation_id, ts


async def test_report_is_a_block_kit_summary(world: SlackWorld) -> None:
    await _rate(world, 5)
    response = await world.command("report 28d")
    assert response.status_code == 200
    answer = (await world.until(lambda: _answers(world)))[0]
    assert answer["response_type"] == "ephemeral"
    blocks = answer["blocks"]
    assert blocks[0]["type"] == "header" and "last 28 days" in blocks[0]["text"]["text"]
    fields = [f["text"] for f in blocks[2]["fields"]]
    assert fields[0].startswith("*Conversations*\n1")
    assert "*CSAT (4–5 of 5)*\n1 of 1 satisfied" in fields
    assert any(f.startswith("*Handoff rate*\n1 of 1") for f in fields)
    assert any(f.startswith("*Median first human response*") for f in fields)
    assert "Compared with the 28 days before" in blocks[3]["text"]["text"]
    assert "not enough data" in blocks[3]["text"]["text"]
    assert "Wilson" in blocks[-1]["elements"][0]["text"]
    assert all(b["text"].get("verbatim") for b in blocks if b["type"] == "section" and "text" in b)
    assert "Conversations: 1" in answer["text"]

    await world.command("report 24h")
    day = (await world.until(lambda: _answers(world)[1:]))[0]
    assert "last 1 day" in day["blocks"][0]["text"]["text"]
    await world.command("report 7d")
    week = (await world.until(lambda: _answers(world)[2:]))[0]
    assert "last 7 days" in week["blocks"][0]["text"]["text"]
    assert "Week over week" in week["blocks"][3]["text"]["text"]
    await world.command("report fortnight")
    usage = (await world.until(lambda: _answers(world)[3:]))[0]
    assert usage["text"].startswith("Usage") and "blocks" not in usage
    # nothing about the report was posted where others can see it
    assert not [b for b in world.fake.of("chat.postMessage") if b["channel"] == MANAGERS]


async def test_weekly_digest_posts_to_the_managers_channel_once(
    world: SlackWorld, clock: FakeClock
) -> None:
    await _rate(world, 5)
    clock.now = datetime(2026, 3, 9, 9, 0, 5, tzinfo=UTC)  # the first Monday 09:00 slot
    posts = await world.until(
        lambda: [b for b in world.fake.of("chat.postMessage") if b["channel"] == MANAGERS]
    )
    digest = posts[0]
    assert digest["blocks"][0]["text"]["text"] == "Weekly support digest"
    assert "2026-03-02 – 2026-03-08" in digest["blocks"][1]["elements"][0]["text"]
    assert "1 of 1 satisfied" in digest["text"]
    assert digest["unfurl_links"] is False
    clock.advance(hours=3)
    await world.settle()
    assert len([b for b in world.fake.of("chat.postMessage") if b["channel"] == MANAGERS]) == 1


async def test_digest_is_skipped_quietly_without_a_managers_channel(
    database: Database, understander: Understander, clock: FakeClock, settings_env: Any
) -> None:
    async with slack_world(database, understander, clock) as world:
        await world.settle()
        clock.now = datetime(2026, 3, 9, 9, 0, 5, tzinfo=UTC)
        await world.settle()
        assert world.fake.attempts("chat.postMessage") == 0
        rows = await world.harness.query(lambda uow: uow.jobs.get("weekly_digest"))
        assert rows.due_at.replace(tzinfo=UTC) == datetime(2026, 3, 16, 9, 0, tzinfo=UTC)


async def test_low_csat_posts_a_service_recovery_alert(world: SlackWorld) -> None:
    rated, _ = await _rate(world, 1)
    cards = await world.until(
        lambda: [
            b
            for b in world.fake.of("chat.postMessage")
            if b.get("blocks") and "Service recovery" in b["blocks"][0]["text"]["text"]
        ]
    )
    card = cards[0]
    assert card["channel"] == DESK
    assert card["text"].startswith(f"Service recovery: Ann Example rated conversation #{rated}")
    alert = card["blocks"][2]["text"]["text"]
    assert f"*Low CSAT: 1/5* for conversation #{rated}" in alert
    assert "Waiting for the customer's answer" in alert
    assert f"`/carebot customer {card['blocks'][1]['fields'][4]['text'].split()[1]}`" in alert

    await world.say("<!channel> the courier was rude & late")  # the "what went wrong?" answer
    updates = await world.until(
        lambda: [
            u
            for u in world.fake.of("chat.update")
            if "What went wrong" in str(u.get("blocks"))
            and "Service recovery" in u["blocks"][0]["text"]["text"]
        ]
    )
    text = updates[-1]["blocks"][2]["text"]["text"]
    assert "“&lt;!channel&gt; the courier was rude &amp; late”" in text
    assert "<!channel>" not in str(updates[-1])
