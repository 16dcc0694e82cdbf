"""The Slack sender against the fake Web API: calls, and failures the outbox understands."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.channels.slack_sender import SlackSender
from bot.core.actions import (
    STAFF_CUSTOMER_MESSAGE,
    STAFF_HANDOFF,
    STAFF_HANDOFF_UPDATE,
    STAFF_NOTICE,
    Delivery,
)
from bot.errors import PermanentDeliveryError, TransientDeliveryError
from tests.fakes.slack_server import FakeSlack

CARD: dict[str, Any] = {
    "handoff_id": 1,
    "conversation_id": 9,
    "status": "waiting",
    "reason": "vip",
    "reason_text": "the customer is a VIP",
    "priority": True,
    "customer": {"id": 1, "name": "Ann", "channel": "telegram", "tags": ["vip"]},
    "summary": "s",
    "history": [],
    "transcript": [],
    "mood": "neutral",
}


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    server = await FakeSlack().start()
    yield server
    await server.stop()


def _sender(fake: FakeSlack) -> SlackSender:
    client = AsyncWebClient(token=fake.token, base_url=fake.url, retry_handlers=[])
    return SlackSender(client, "C0DESK", "S0STAFF")


def _delivery(kind: str, payload: dict[str, Any], **kw: Any) -> Delivery:
    return Delivery(id=1, kind=kind, channel="slack", payload=payload, **kw)


async def test_card_is_posted_without_unfurls_or_link_names(fake: FakeSlack) -> None:
    receipt = await _sender(fake).deliver(_delivery(STAFF_HANDOFF, CARD))
    body = fake.of("chat.postMessage")[0]
    assert receipt.platform_id == fake.messages["C0DESK"][0]["ts"]
    assert receipt.channel_ref == "C0DESK"
    assert body["unfurl_links"] is False and body["unfurl_media"] is False
    assert "link_names" not in body and "parse" not in body
    assert body["metadata"]["event_payload"] == {"handoff_id": 1}
    assert fake.calls[0].auth == "Bearer xoxb-test"


async def test_update_and_thread_posts_use_the_stored_thread(fake: FakeSlack) -> None:
    sender = _sender(fake)
    where = {"staff_thread": "1700.1", "staff_channel": "C0DESK"}
    await sender.deliver(_delivery(STAFF_HANDOFF_UPDATE, {**CARD, "status": "claimed"}, **where))
    await sender.deliver(
        _delivery(
            STAFF_CUSTOMER_MESSAGE, {"handoff_id": 1, "text": "hi", "customer_name": "Ann"}, **where
        )
    )
    await sender.deliver(
        _delivery(STAFF_NOTICE, {"handoff_id": 1, "text": "late", "mention_group": True}, **where)
    )
    assert fake.of("chat.update")[0]["ts"] == "1700.1"
    posts = fake.of("chat.postMessage")
    assert [p["thread_ts"] for p in posts] == ["1700.1", "1700.1"]
    assert posts[1]["text"].startswith(":information_source: <!subteam^S0STAFF>")


async def test_thread_rows_wait_for_their_card(fake: FakeSlack) -> None:
    with pytest.raises(TransientDeliveryError):
        await _sender(fake).deliver(_delivery(STAFF_NOTICE, {"handoff_id": 1, "text": "x"}))
    with pytest.raises(TransientDeliveryError):
        await _sender(fake).deliver(_delivery(STAFF_HANDOFF_UPDATE, CARD))


@pytest.mark.parametrize(
    ("failure", "error", "retry_after"),
    [
        ((429, "ratelimited", 7), TransientDeliveryError, 7.0),
        ((503, "service_unavailable", None), TransientDeliveryError, None),
        ((500, "internal_error", None), TransientDeliveryError, None),
        ((200, "not_in_channel", None), TransientDeliveryError, None),
        ((200, "invalid_auth", None), TransientDeliveryError, None),
        ((200, "channel_not_found", None), TransientDeliveryError, None),
        ((200, "is_archived", None), PermanentDeliveryError, None),
    ],
)
async def test_failures_map_onto_the_outbox_errors(
    fake: FakeSlack,
    failure: tuple[int, str, float | None],
    error: type[Exception],
    retry_after: float | None,
) -> None:
    fake.fail_next["chat.postMessage"] = [failure]
    with pytest.raises(error) as caught:
        await _sender(fake).deliver(_delivery(STAFF_HANDOFF, CARD))
    if retry_after is not None:
        assert isinstance(caught.value, TransientDeliveryError)
        assert caught.value.retry_after == retry_after


async def test_network_errors_are_transient() -> None:
    client = AsyncWebClient(token="x", base_url="http://127.0.0.1:9/api/", retry_handlers=[])
    with pytest.raises(TransientDeliveryError):
        await SlackSender(client, "C0DESK").deliver(_delivery(STAFF_HANDOFF, CARD))


async def test_refused_blocks_fall_back_to_plain_text(fake: FakeSlack) -> None:
    fake.fail_next["chat.postMessage"] = [(200, "invalid_blocks", None)]
    receipt = await _sender(fake).deliver(_delivery(STAFF_HANDOFF, CARD))
    assert receipt.platform_id
    body = fake.of("chat.postMessage")[0]
    assert "blocks" not in body and "Ann" in body["text"]


async def test_unknown_kinds_are_permanent(fake: FakeSlack) -> None:
    with pytest.raises(PermanentDeliveryError):
        await _sender(fake).deliver(_delivery("staff.unknown", {"handoff_id": 1}))
