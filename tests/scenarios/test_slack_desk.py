"""The whole staff-desk loop through the real Bolt stack and a fake Slack Web API.

Handoff posted → claim → staff reply reaches the customer → customer reply reaches the
thread → internal note not relayed → resolve → CSAT sent, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.channels import slack_blocks as kit
from bot.core.actions import CUSTOMER_SURVEY
from bot.core.events import CustomerChoice
from intents.base import Understander
from storage.db import Database
from tests.fakes.slack_world import ANA, BEN, DESK, SlackWorld, slack_world
from tests.helpers import FakeClock


@pytest.fixture
async def world(
    database: Database, understander: Understander, clock: FakeClock, settings_env: Any
) -> AsyncIterator[SlackWorld]:
    async with slack_world(database, understander, clock, survey_delay_minutes=0) as built:
        yield built


def _updates(world: SlackWorld, ts: str) -> list[dict[str, Any]]:
    return [b for b in world.fake.of("chat.update") if b["ts"] == ts]


def _status(update: dict[str, Any]) -> str:
    fields = update["blocks"][1]["fields"]
    return str(fields[0]["text"])


async def test_full_loop(world: SlackWorld) -> None:
    await world.say("Hello, my parcel is late")
    conversation_id, ts = await world.handoff()

    card = world.cards_for(conversation_id)[0]
    assert card["channel"] == DESK
    assert card["unfurl_links"] is False and card["unfurl_media"] is False
    assert "link_names" not in card and "parse" not in card
    header = card["blocks"][0]["text"]["text"]
    assert "Ann Example" in header and f"#{conversation_id}" in header
    everything = str(card["blocks"])
    assert "the customer asked for a person" in everything
    assert "my parcel is late" in everything  # the transcript so far
    buttons = [e["action_id"] for e in card["blocks"][5]["elements"]]
    assert buttons == [kit.CLAIM, kit.RESOLVE, kit.RELEASE]
    assert (
        "usually replies" in world.customer_out.texts()[-1]
        or "as soon as" in (world.customer_out.texts()[-1])
    )

    response = await world.press(kit.CLAIM, conversation_id, ANA, ts)
    assert response.status_code == 200
    await world.until(lambda: any("Claimed" in _status(u) for u in _updates(world, ts)))
    assert "<@U1ANA>" in _status(_updates(world, ts)[-1])
    assert any("Ana" in t for t in world.customer_out.texts())  # "Ana joined"

    await world.reply(ts, ANA, "Hi Ann, I am checking your parcel now.")
    await world.until(lambda: any("checking your parcel" in t for t in world.customer_out.texts()))
    relayed = world.customer_out.deliveries[-1].payload
    assert relayed["author"] == "agent" and relayed["agent_name"] == "Ana"

    await world.say("Thanks! Order 1234.")
    await world.until(lambda: any("Order 1234" in t for t in world.thread_posts(ts)))
    assert world.thread_posts(ts)[-1].startswith("*Ann:*")

    sent_before = len(world.customer_out.deliveries)
    await world.reply(ts, ANA, "note: courier says Tuesday, do not promise")
    await world.until(lambda: any("Internal note saved" in t for t in world.ephemerals(ANA)))
    await world.settle()
    assert len(world.customer_out.deliveries) == sent_before
    assert not any("courier" in t for t in world.customer_out.texts())

    await world.press(kit.RESOLVE, conversation_id, ANA, ts)
    await world.until(lambda: any("Resolved" in _status(u) for u in _updates(world, ts)))
    survey = await world.until(
        lambda: [d for d in world.customer_out.deliveries if d.kind == CUSTOMER_SURVEY]
    )
    data = survey[0].payload["buttons"][0][4]["data"]
    await world.harness.engine.handle(CustomerChoice(world.customer(), data, delivery_id="tap-5"))
    await world.until(lambda: any("CSAT 5/5" in _status(u) for u in _updates(world, ts)))


async def test_second_claim_says_who_has_it_and_owner_can_pass_it_on(world: SlackWorld) -> None:
    conversation_id, ts = await world.handoff()
    await world.press(kit.CLAIM, conversation_id, ANA, ts)
    await world.until(lambda: any("Claimed" in _status(u) for u in _updates(world, ts)))

    await world.press(kit.CLAIM, conversation_id, BEN, ts)
    refusal = await world.until(lambda: world.ephemerals(BEN))
    assert "Ana Agent already has this conversation" in refusal[0]

    await world.reply(ts, BEN, "I can take it")  # not the owner: not relayed
    await world.until(lambda: len(world.ephemerals(BEN)) > 1)
    assert not any("I can take it" in t for t in world.customer_out.texts())

    await world.press(
        kit.TRANSFER, conversation_id, ANA, ts, selected_user=BEN, type="users_select"
    )
    await world.until(lambda: any("<@U2BEN>" in _status(u) for u in _updates(world, ts)))

    await world.press(kit.UNCLAIM, conversation_id, BEN, ts)
    await world.until(lambda: "Waiting" in _status(_updates(world, ts)[-1]))


async def test_back_to_bot_returns_control_with_a_notice(world: SlackWorld) -> None:
    conversation_id, ts = await world.handoff()
    await world.press(kit.RELEASE, conversation_id, ANA, ts)
    await world.until(lambda: any("Back with the bot" in _status(u) for u in _updates(world, ts)))
    assert "actions" not in [b["type"] for b in _updates(world, ts)[-1]["blocks"]]
    conversation = await world.harness.conversation(conversation_id)
    assert conversation.status == "bot"
    assert any(
        "assistant" in t.lower() or "bot" in t.lower() for t in world.customer_out.texts()[-1:]
    )


async def test_customer_attachment_is_announced_in_the_thread(world: SlackWorld) -> None:
    from bot.core.events import CustomerAttachment

    _, ts = await world.handoff()
    await world.harness.engine.handle(
        CustomerAttachment(world.customer(), "photo", caption="<!here> see", delivery_id="ph1")
    )
    posts = await world.until(lambda: world.thread_posts(ts))
    assert "photo" in posts[-1]
    assert "<!here>" not in posts[-1] and "&lt;!here&gt;" in posts[-1]


async def test_slash_commands(world: SlackWorld) -> None:
    conversation_id, _ = await world.handoff()
    response = await world.command("queue")
    assert response.status_code == 200
    answer = await world.until(world.responses)
    assert f"#{conversation_id}" in answer[0] and "Ann Example" in answer[0]
    assert "slack.com/archives/C0DESK/p" in answer[0]

    await world.command("report 7d")
    report = await world.until(lambda: world.responses()[1:])
    assert "Conversations: 1" in report[0] and "Handoff rate: 1 of 1 handed off" in report[0]

    await world.command("customer 1")
    history = await world.until(lambda: world.responses()[2:])
    assert "Ann Example" in history[0] and f"#{conversation_id}" in history[0]

    await world.command(f"note {conversation_id} refund approved by finance")
    note = await world.until(lambda: world.responses()[3:])
    assert "Internal note saved" in note[0]
    assert not any("finance" in t for t in world.customer_out.texts())

    await world.command("dance")
    usage = await world.until(lambda: world.responses()[4:])
    assert usage[0].startswith("Usage")
