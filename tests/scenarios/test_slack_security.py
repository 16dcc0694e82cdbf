"""The desk's edges: signatures, replays, retries, outsiders, the bot itself, mrkdwn injection."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.channels import slack_blocks as kit
from intents.base import Understander
from storage.db import Database
from tests.fakes import slack_signing as signing
from tests.fakes.slack_server import BOT_ID, BOT_USER
from tests.fakes.slack_world import ANA, DESK, EVE, SlackWorld, slack_world
from tests.helpers import FakeClock


@pytest.fixture
async def world(
    database: Database, understander: Understander, clock: FakeClock, settings_env: Any
) -> AsyncIterator[SlackWorld]:
    async with slack_world(database, understander, clock, slack_staff_group="S0STAFF") as built:
        yield built


async def _claimed(world: SlackWorld, conversation_id: int) -> bool:
    conversation = await world.harness.conversation(conversation_id)
    return bool(conversation.status == "with_staff")


async def test_forged_missing_and_stale_signatures_get_401(world: SlackWorld) -> None:
    conversation_id, ts = await world.handoff()
    body = signing.action_body(kit.CLAIM, str(conversation_id), ANA, DESK, ts)

    forged = await world.post(body, signing.FORM, secret="not-the-secret")
    stale = await world.post(body, signing.FORM, ts=time.time() - 301)
    future = await world.post(body, signing.FORM, ts=time.time() + 301)
    missing = await world.http.post(
        "/slack/events", content=body, headers={"Content-Type": signing.FORM}
    )
    signed = signing.sign(body, signing.FORM)
    tampered = await world.http.post("/slack/events", content=body + b"x", headers=signed)

    for response in (forged, stale, future, missing, tampered):
        assert response.status_code == 401
    await asyncio.sleep(0.05)
    await world.settle()
    assert not await _claimed(world, conversation_id)
    assert world.fake.of("chat.update") == []


async def test_url_verification_answers_the_challenge(world: SlackWorld) -> None:
    body = json.dumps({"token": "t", "challenge": "abc123", "type": "url_verification"}).encode()
    response = await world.post(body, signing.JSON)
    assert response.status_code == 200
    assert response.json() == {"challenge": "abc123"}


async def test_retried_event_is_relayed_once(world: SlackWorld) -> None:
    _, ts = await world.handoff()
    event = signing.thread_reply(DESK, ts, ANA, "Your refund is on its way")
    first = await world.event(event, event_id="EvSAME")
    retry = await world.event(
        event,
        event_id="EvSAME",
        headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"},
    )
    assert first.status_code == retry.status_code == 200
    await world.until(lambda: any("refund" in t for t in world.customer_out.texts()))
    await asyncio.sleep(0.05)
    await world.settle()
    assert sum("refund" in t for t in world.customer_out.texts()) == 1


async def test_redelivery_after_restart_is_dropped_by_the_engine_inbox(world: SlackWorld) -> None:
    _, ts = await world.handoff()
    event = signing.thread_reply(DESK, ts, ANA, "Only once please")
    await world.event(event, event_id="EvRESTART")
    await world.until(lambda: any("Only once" in t for t in world.customer_out.texts()))
    world.channel._seen.clear()  # a new worker has no memory of it
    await world.event(event, event_id="EvRESTART", headers={"X-Slack-Retry-Num": "2"})
    await asyncio.sleep(0.1)
    await world.settle()
    assert sum("Only once" in t for t in world.customer_out.texts()) == 1


async def test_outsiders_are_refused_ephemerally_and_nothing_happens(world: SlackWorld) -> None:
    conversation_id, ts = await world.handoff()
    await world.press(kit.CLAIM, conversation_id, EVE, ts)
    refusal = await world.until(lambda: world.ephemerals(EVE))
    assert "only members of the support channel" in refusal[0]
    assert not await _claimed(world, conversation_id)

    await world.reply(ts, EVE, "hello from outside")
    await world.until(lambda: len(world.ephemerals(EVE)) == 2)
    assert world.fake.of("chat.postEphemeral")[-1]["thread_ts"] == ts
    await world.press(kit.RESOLVE, conversation_id, EVE, ts)
    await world.until(lambda: len(world.ephemerals(EVE)) == 3)
    await world.command("queue", user=EVE)
    await world.until(lambda: len(world.ephemerals(EVE)) == 4)
    await world.settle()
    assert not any("outside" in t for t in world.customer_out.texts())
    assert world.responses() == []
    conversation = await world.harness.conversation(conversation_id)
    assert conversation.status == "waiting_for_staff"


async def test_staff_group_members_may_act_outside_the_channel(world: SlackWorld) -> None:
    world.fake.group_members.add("U7GRP")
    conversation_id, ts = await world.handoff()
    await world.press(kit.CLAIM, conversation_id, "U7GRP", ts)
    await world.until(lambda: world.fake.of("chat.update"))
    assert await _claimed(world, conversation_id)
    assert world.ephemerals("U7GRP") == []


async def test_bot_messages_in_the_thread_are_not_relayed(world: SlackWorld) -> None:
    _, ts = await world.handoff()
    own = signing.thread_reply(DESK, ts, BOT_USER, "echo of our own post", bot_id=BOT_ID)
    other_bot = signing.thread_reply(DESK, ts, "U5OTHER", "another bot", bot_id="B5OTHER")
    edited = signing.thread_reply(DESK, ts, ANA, "edited text", subtype="message_changed")
    for event in (own, other_bot, edited):
        assert (await world.event(event)).status_code == 200
    await world.reply(ts, ANA, "the real reply")
    await world.until(lambda: any("real reply" in t for t in world.customer_out.texts()))
    texts = " ".join(world.customer_out.texts())
    assert "echo" not in texts and "another bot" not in texts and "edited text" not in texts


async def test_channel_chatter_outside_handoff_threads_is_ignored(world: SlackWorld) -> None:
    await world.handoff()
    top_level = {"type": "message", "channel": DESK, "user": ANA, "text": "lunch?", "ts": "1.2"}
    unrelated = signing.thread_reply(DESK, "1699999999.000001", ANA, "in another thread")
    await world.event(top_level)
    await world.event(unrelated)
    await asyncio.sleep(0.05)
    await world.settle()
    assert not any("lunch" in t or "another thread" in t for t in world.customer_out.texts())
    assert world.ephemerals() == []


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("<!channel> help", "&lt;!channel&gt; help"),
        ("<!here|x>", "&lt;!here|x&gt;"),
        ("hi <@U1ANA>", "hi &lt;@U1ANA&gt;"),
        ("<https://evil.example|your bank>", "&lt;https://evil.example|your bank&gt;"),
        ("a & b < c", "a &amp; b &lt; c"),
        ("&lt;!here&gt;", "&amp;lt;!here&amp;gt;"),
    ],
)
async def test_customer_text_cannot_ping_or_link(world: SlackWorld, raw: str, shown: str) -> None:
    await world.say(f"start {raw}")
    conversation_id, ts = await world.handoff()
    card = world.cards_for(conversation_id)[0]
    mrkdwn = [
        json.dumps(block) for block in card["blocks"] if block["type"] in ("section", "context")
    ]
    assert any(shown in text for text in mrkdwn)
    assert raw not in json.dumps(card["blocks"]) or raw == shown
    assert "<!" not in card["text"]
    await world.say(f"again {raw}")
    posts = await world.until(lambda: world.thread_posts(ts))
    assert posts[-1] == f"*Ann:* again {shown}"
    thread_call = world.fake.of("chat.postMessage")[-1]
    assert thread_call["blocks"][0]["text"]["verbatim"] is True
    assert "link_names" not in thread_call


async def test_customer_name_cannot_ping(world: SlackWorld) -> None:
    sneaky = world.customer(external_id="77", name="<!channel>")
    conversation_id, _ = await world.handoff(sneaky)
    card = world.cards_for(conversation_id)[0]
    blob = card["text"] + json.dumps([b for b in card["blocks"] if b["type"] != "header"])
    assert "<!channel>" not in blob
    assert "&lt;!channel&gt;" in blob
