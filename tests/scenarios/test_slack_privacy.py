"""``/carebot customer export|erase <id>``: DSARs from Slack, staff only, data kept private.

Through the real Bolt app and the fake Web API, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.channels import slack_privacy
from bot.channels.slack_sender import SlackSender
from bot.core.actions import STAFF_DELETE, Delivery
from intents.base import Understander
from storage.db import Database
from tests.fakes import slack_signing as signing
from tests.fakes.slack_world import ANA, DESK, EVE, SlackWorld, slack_world
from tests.helpers import FakeClock


@pytest.fixture
async def world(
    database: Database, understander: Understander, clock: FakeClock, settings_env: Any
) -> AsyncIterator[SlackWorld]:
    async with slack_world(database, understander, clock) as built:
        yield built


def _answers(world: SlackWorld) -> list[dict[str, Any]]:
    return world.fake.of("respond")


async def _ann(world: SlackWorld) -> int:
    """Our id of the console customer ``42`` (Ann)."""
    customer = await world.harness.query(lambda uow: uow.customers.find("console", "42"))
    return int(customer.id)


async def test_export_goes_to_the_requester_only(world: SlackWorld) -> None:
    await world.say("My email is ann@example.com and my parcel is late")
    await world.handoff()
    cid = await _ann(world)
    posted_before = len(world.fake.of("chat.postMessage"))

    await world.command(f"customer export {cid}")
    answer = (await world.until(lambda: _answers(world)))[0]
    assert answer["response_type"] == "ephemeral"
    assert "direct messages" in answer["text"]
    assert world.fake.of("conversations.open")[0]["users"] == ANA
    complete = world.fake.of("files.completeUploadExternal")[0]
    assert complete["channel_id"] == f"D{ANA}"
    exported = json.loads(next(iter(world.fake.uploads.values())))
    assert exported["customer"]["id"] == cid
    assert "parcel is late" in json.dumps(exported)
    assert "ann@example.com" not in json.dumps(exported)  # masked at ingestion
    # nothing personal was posted in a channel
    assert len(world.fake.of("chat.postMessage")) == posted_before

    await world.command("customer export 999")
    assert "No customer 999" in (await world.until(lambda: _answers(world)[1:]))[0]["text"]
    await world.command(f"customer export {cid}; DROP TABLE")
    usage = (await world.until(lambda: _answers(world)[2:]))[0]["text"]
    assert usage.startswith("Usage")
    await world.command("customer export console:42")
    assert "direct messages" in (await world.until(lambda: _answers(world)[3:]))[0]["text"]


async def test_outsiders_can_neither_export_nor_erase(world: SlackWorld) -> None:
    await world.handoff()
    cid = await _ann(world)
    await world.command(f"customer export {cid}", user=EVE)
    await world.command(f"customer erase {cid}", user=EVE)
    body = signing.action_body(
        slack_privacy.CONFIRM_ERASE, str(cid), EVE, DESK, "1700000000.000001"
    )
    assert (await world.post(body, signing.FORM)).status_code == 200
    await world.until(lambda: len(world.ephemerals(EVE)) >= 3)
    assert all("only members" in t for t in world.ephemerals(EVE))
    assert world.fake.attempts("conversations.open") == 0 and not world.fake.uploads
    assert not _answers(world)
    customer = await world.harness.query(lambda uow: uow.customers.get(cid))
    assert customer.erased_at is None


async def test_erase_asks_first_then_erases_and_deletes_the_bot_posts(world: SlackWorld) -> None:
    _, ts = await world.handoff()
    cid = await _ann(world)
    await world.command(f"customer erase {cid}")
    question = (await world.until(lambda: _answers(world)))[0]
    assert question["response_type"] == "ephemeral"
    buttons = question["blocks"][1]["elements"]
    assert [b["action_id"] for b in buttons] == [
        slack_privacy.CONFIRM_ERASE,
        slack_privacy.CANCEL_ERASE,
    ]
    assert buttons[0]["text"]["text"] == "Yes, erase" and buttons[0]["value"] == str(cid)
    customer = await world.harness.query(lambda uow: uow.customers.get(cid))
    assert customer.erased_at is None  # nothing happens before the confirmation

    cancel = signing.action_body(slack_privacy.CANCEL_ERASE, str(cid), ANA, DESK, "1700000000.9")
    await world.post(cancel, signing.FORM)
    await world.until(lambda: any("Nothing was erased" in t for t in world.ephemerals(ANA)))

    confirm = signing.action_body(slack_privacy.CONFIRM_ERASE, str(cid), ANA, DESK, "1700000000.9")
    assert (await world.post(confirm, signing.FORM)).status_code == 200
    await world.until(lambda: any("is erased" in t for t in world.ephemerals(ANA)))
    deleted = await world.until(lambda: world.fake.of("chat.delete"))
    assert (DESK, ts) in [(d["channel"], d["ts"]) for d in deleted]
    customer = await world.harness.query(lambda uow: uow.customers.get(cid))
    assert customer.erased_at is not None

    await world.command(f"customer erase {cid}")
    again = (await world.until(lambda: _answers(world)[1:]))[0]
    assert "already erased" in again["text"] and "blocks" not in again


async def test_staff_delete_treats_a_missing_message_as_done(world: SlackWorld) -> None:
    sender: SlackSender = world.channel.sender
    gone = Delivery(1, STAFF_DELETE, "slack", {"channel": DESK, "ts": "1699999999.000001"})
    assert (await sender.deliver(gone)).platform_id is None
    assert world.fake.attempts("chat.delete") == 1
    world.fake.fail_next["chat.delete"] = [(200, "channel_not_found", None)]
    with pytest.raises(Exception, match="channel_not_found"):
        await sender.deliver(gone)
