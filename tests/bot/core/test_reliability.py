"""Nothing lost, nothing doubled: dedupe, ordering, retries, restarts and bad input."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from bot.core.events import CustomerMessage, StaffClaim
from bot.errors import PermanentDeliveryError, TransientDeliveryError
from intents.base import Understander
from storage.db import Database
from storage.models import Message, OutboxItem
from tests.helpers import FakeClock, Harness, build_harness
from tests.scripted import ScriptedUnderstander


async def _count(h: Harness, model: type, *where: object) -> int:
    async def run(uow):  # type: ignore[no-untyped-def]
        stmt = select(func.count()).select_from(model).where(*where)
        return (await uow.session.execute(stmt)).scalar_one()

    return int(await h.query(run))


async def test_redelivered_event_is_handled_once(harness: Harness) -> None:
    first = await harness.say("how can I pay", delivery_id="update-7")
    again = await harness.say("how can I pay", delivery_id="update-7")
    assert first.handled and again.duplicate and not again.handled
    assert await _count(harness, Message, Message.direction == "in") == 1
    assert len(harness.replies()) == 1


async def test_same_platform_message_id_is_stored_once(harness: Harness) -> None:
    await harness.say("how can I pay", delivery_id="u1", platform_message_id="42:1")
    again = await harness.say("how can I pay", delivery_id="u2", platform_message_id="42:1")
    assert again.duplicate
    assert await _count(harness, Message, Message.direction == "in") == 1


async def test_concurrent_events_keep_order_per_conversation(harness: Harness) -> None:
    customers = [harness.customer(name=f"C{i}", external_id=f"c{i}") for i in range(12)]
    for who in customers:
        await harness.say("hi", who=who)  # create the customers first
    texts = ["how can I pay", "do you ship abroad", "blorp"]
    await asyncio.gather(
        *(
            harness.engine.handle(CustomerMessage(who, text, f"{who.external_id}-{n}"))
            for n, text in enumerate(texts)
            for who in customers
        )
    )
    await harness.settle()

    async def inbound(uow):  # type: ignore[no-untyped-def]
        stmt = select(Message.conversation_id, Message.text).where(Message.direction == "in")
        return (await uow.session.execute(stmt.order_by(Message.id))).all()

    rows = await harness.query(inbound)
    by_conversation: dict[int, list[str]] = {}
    for conversation_id, text in rows:
        by_conversation.setdefault(conversation_id, []).append(text)
    assert len(by_conversation) == 12
    for sequence in by_conversation.values():
        assert sequence == ["hi", *texts]
    lanes: dict[str, list[int]] = {}
    for delivery in harness.customer_out.deliveries:
        lanes.setdefault(delivery.payload["address"], []).append(delivery.id)
    assert all(ids == sorted(ids) for ids in lanes.values())  # delivered in order per chat


async def test_a_sender_failing_twice_then_succeeding_delivers_exactly_once(
    harness: Harness,
) -> None:
    harness.customer_out.fail_next = [
        TransientDeliveryError("HTTP 502"),
        TransientDeliveryError("429", retry_after=30),
    ]
    await harness.say("how can I pay")
    assert harness.customer_out.deliveries == []  # first failure: waits for its back-off
    await harness.later(seconds=2)
    assert harness.customer_out.deliveries == []  # second failure asked for 30 s
    await harness.later(seconds=20)
    assert harness.customer_out.deliveries == []
    await harness.later(seconds=11)
    assert len(harness.customer_out.deliveries) == 1
    await harness.later(minutes=5)
    assert len(harness.customer_out.deliveries) == 1
    item = await harness.query(lambda uow: uow.outbox.get(harness.customer_out.deliveries[0].id))
    assert item.status == "sent" and item.attempts == 3 and "429" in item.last_error


async def test_a_failing_message_holds_back_later_ones_of_the_same_chat(harness: Harness) -> None:
    harness.customer_out.fail_next = [TransientDeliveryError("timeout")]
    await harness.say("how can I pay")
    await harness.say("do you ship abroad")
    assert harness.customer_out.deliveries == []
    await harness.later(seconds=3)
    ids = [d.id for d in harness.customer_out.deliveries]
    assert len(ids) == 2 and ids == sorted(ids)


async def test_permanent_failures_are_parked_not_retried(harness: Harness) -> None:
    harness.customer_out.fail_next = [PermanentDeliveryError("chat not found")]
    await harness.say("how can I pay")
    await harness.later(minutes=10)
    assert harness.customer_out.deliveries == []
    assert await _count(harness, OutboxItem, OutboxItem.status == "dead") == 1


async def test_restart_in_the_middle_of_a_handoff_loses_nothing(
    database: Database, understander: Understander, clock: FakeClock
) -> None:
    scripted = ScriptedUnderstander(understander)
    first = build_harness(database, scripted, clock)
    cid = (await first.say("human")).conversation_id
    assert cid is not None
    await first.engine.handle(StaffClaim(cid, first.agent))  # committed, not yet delivered
    await first.engine.handle(CustomerMessage(first.customer(), "are you there?", "u-late"))
    # The process dies here: nothing of the last two events was delivered.
    second = build_harness(database, scripted, clock)
    clock.advance(minutes=2)
    await second.carebot.dispatcher.drain()
    assert any("joined" in text for text in second.customer_out.texts())
    assert second.staff_out.kinds() == ["staff.handoff_update", "staff.customer_message"]
    queue = await second.engine.staff_queue()
    assert queue[0]["status"] == "claimed"


async def test_a_lease_of_a_dead_worker_expires_and_the_row_is_sent(harness: Harness) -> None:
    await harness.engine.handle(CustomerMessage(harness.customer(), "how can I pay", "x"))

    async def claim(uow):  # type: ignore[no-untyped-def]
        from datetime import timedelta

        items = await uow.outbox.claim(
            channels=["console"], limit=10, lease=timedelta(seconds=60), now=harness.clock()
        )
        await uow.commit()
        return len(items)

    assert await harness.query(claim) == 1  # a worker took it and died
    await harness.settle()
    assert harness.customer_out.deliveries == []
    await harness.later(seconds=61)
    assert len(harness.customer_out.deliveries) == 1


BAD_INPUTS = [
    "",
    "   ",
    "x" * 10_000,
    "😀🙈🔥 where is 📦",
    "hello\x00\x07\x1b[31m world\u202e",
    "<b>bold</b> <script>alert(1)</script> <!channel> @here *boom* [link](http://evil)",
]


async def test_bad_input_gets_a_kind_answer_and_is_stored_safely(harness: Harness) -> None:
    for number, text in enumerate(BAD_INPUTS):
        outcome = await harness.say(text, delivery_id=f"bad-{number}")
        assert outcome.handled, text[:20]
        assert harness.last_reply(), text[:20]

    async def stored(uow):  # type: ignore[no-untyped-def]
        stmt = select(Message.text).where(Message.direction == "in").order_by(Message.id)
        return list((await uow.session.execute(stmt)).scalars())

    texts = await harness.query(stored)
    assert all("\x00" not in t and "\x1b" not in t and "\u202e" not in t for t in texts)
    assert max(len(t) for t in texts) <= 4002
    assert any("<!channel>" in t for t in texts)  # kept as text; escaped on the way out
    assert any("first part" in r for r in harness.replies())  # the long one was cut, kindly


async def test_card_numbers_are_masked_before_storage(harness: Harness) -> None:
    await harness.say("my card is 4242 4242 4242 4242 and cvv 123", platform_message_id="9:9")

    async def stored(uow):  # type: ignore[no-untyped-def]
        return list((await uow.session.execute(select(Message.text))).scalars())

    everything = " ".join(await harness.query(stored))
    assert "4242 4242" not in everything and "123" not in everything
    assert "[CARD ••••4242]" in everything
    assert any("don't share card numbers" in t for t in harness.replies())


async def test_unknown_conversation_for_staff_is_a_notice_not_a_crash(harness: Harness) -> None:
    outcome = await harness.act(StaffClaim(999, harness.agent))
    assert not outcome.handled and outcome.notice


async def test_an_edit_is_not_answered_twice_but_reaches_staff(harness: Harness) -> None:
    await harness.say("how can I pay", delivery_id="u1", platform_message_id="42:1")
    replies = len(harness.replies())
    await harness.say("how can I pay?", delivery_id="u2", platform_message_id="42:1", edited=True)
    assert len(harness.replies()) == replies
    cid = (await harness.say("human", delivery_id="u3", platform_message_id="42:2")).conversation_id
    await harness.say("human!!", delivery_id="u4", platform_message_id="42:2", edited=True)
    assert harness.staff_out.deliveries[-1].payload["text"] == "(edited) human!!"
    assert cid is not None


async def test_a_bug_keeps_the_message_and_says_sorry(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.core import customer_flow

    async def broken(*_args: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(customer_flow, "respond", broken)
    outcome = await harness.say("how can I pay", delivery_id="b1")
    assert not outcome.handled and not outcome.failed
    assert "something went wrong on our side" in harness.last_reply()
    assert await _count(harness, Message, Message.text == "how can I pay") == 1


async def test_when_nothing_can_be_stored_the_outcome_says_failed(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    def database_down() -> None:
        raise OSError("connection refused")

    monkeypatch.setattr(harness.carebot.db, "sessions", database_down)
    outcome = await harness.engine.handle(CustomerMessage(harness.customer(), "hi", "d1"))
    assert outcome.failed and not outcome.handled
