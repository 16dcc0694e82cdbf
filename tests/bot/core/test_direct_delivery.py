"""Replies handed straight to the running dispatcher: leased with the turn, still durable.

The engine leases a turn's first reply per chat in the turn's own transaction and hands
it to the dispatcher's background loop, so it is not re-claimed from the table. These
tests check the guarantees that must survive that shortcut: a chat's order, retries,
at-least-once after a crash, and no claim of a handed row by anyone else.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from bot.core.dispatcher import Dispatcher
from bot.core.events import CustomerMessage
from bot.errors import TransientDeliveryError
from intents.base import Understander
from storage.db import Database
from storage.models import OutboxItem
from storage.unit_of_work import UnitOfWork
from tests.helpers import FakeClock, Harness, build_harness
from tests.scripted import ScriptedUnderstander


@pytest.fixture
async def running(
    request: pytest.FixtureRequest,
    database: Database,
    understander: Understander,
    clock: FakeClock,
) -> AsyncIterator[Harness]:
    """A harness whose dispatcher loop runs in the background (polling every 50 ms unless
    the test says otherwise)."""
    poll = float(getattr(request, "param", 0.05))
    harness = build_harness(
        database, ScriptedUnderstander(understander), clock, outbox_poll_seconds=poll
    )
    stop = asyncio.Event()
    loop = asyncio.create_task(harness.carebot.dispatcher.run_forever(stop))
    await asyncio.sleep(0)  # the loop is running: the engine may hand rows to it
    yield harness
    stop.set()
    await asyncio.wait_for(loop, 10)


async def _until(check: Callable[[], bool], seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


def _count_claims(dispatcher: Dispatcher) -> list[int]:
    claimed: list[int] = []
    original = dispatcher._claim

    async def counting(limit: int) -> list[Any]:
        found = await original(limit)
        claimed.extend(d.id for d in found)
        return found

    dispatcher._claim = counting  # type: ignore[method-assign]
    return claimed


async def _rows(harness: Harness) -> list[OutboxItem]:
    async def run(uow):  # type: ignore[no-untyped-def]
        from sqlalchemy import select

        return list(
            (await uow.session.execute(select(OutboxItem).order_by(OutboxItem.id))).scalars()
        )

    return await harness.query(run)


async def test_a_reply_is_delivered_without_being_claimed(running: Harness) -> None:
    claimed = _count_claims(running.carebot.dispatcher)
    await running.engine.handle(CustomerMessage(running.customer(), "how can I pay", "u1"))
    await _until(lambda: len(running.customer_out.deliveries) == 1)
    await _until(lambda: not running.carebot.dispatcher._flying)  # recorded
    [row] = await _rows(running)
    assert row.status == "sent" and row.attempts == 1 and row.leased_until is None
    assert row.result_ref == "m1"
    assert claimed == []


async def test_a_chat_keeps_its_order_behind_a_failing_reply(
    running: Harness, clock: FakeClock
) -> None:
    running.customer_out.fail_next = [TransientDeliveryError("timeout")]
    await running.engine.handle(CustomerMessage(running.customer(), "how can I pay", "u1"))
    await _until(lambda: not running.carebot.dispatcher._flying)  # failure recorded
    await running.engine.handle(CustomerMessage(running.customer(), "do you ship abroad", "u2"))
    await asyncio.sleep(0.2)
    assert running.customer_out.deliveries == []  # the second waits behind the first
    first, second = await _rows(running)
    assert first.status == "pending" and first.attempts == 1
    assert second.leased_until is None and second.attempts == 0  # not handed over
    clock.advance(seconds=3)  # the first one's back-off is over
    await _until(lambda: len(running.customer_out.deliveries) == 2)
    assert [d.id for d in running.customer_out.deliveries] == [first.id, second.id]


@pytest.mark.parametrize("running", [5.0], indirect=True)  # no poll in time: a wake-up
async def test_a_reply_waits_for_the_previous_one_still_being_sent(running: Harness) -> None:
    gate = asyncio.Event()
    sender = running.customer_out
    original = sender.deliver

    async def slow(delivery: Any) -> Any:
        await gate.wait()
        return await original(delivery)

    sender.deliver = slow  # type: ignore[method-assign]
    await running.engine.handle(CustomerMessage(running.customer(), "how can I pay", "u1"))
    await running.engine.handle(CustomerMessage(running.customer(), "do you ship abroad", "u2"))
    first, second = await _rows(running)
    assert first.leased_until is not None and second.leased_until is None
    await asyncio.sleep(0.2)  # the claim loop has looked, found the chat busy, and sleeps
    gate.set()
    await _until(lambda: len(sender.deliveries) == 2, seconds=2.0)  # well before a poll
    assert [d.id for d in sender.deliveries] == [first.id, second.id]


class _DeadWorker:
    """Accepts rows like a running dispatcher, then dies before sending them."""

    lease = timedelta(seconds=60)
    settled: set[int] = set()

    def accepts(self, channel: str) -> bool:
        return True

    def take(self, items: list[OutboxItem], waiting: set[str]) -> None:
        return None

    def board(self) -> list[Any]:
        return []


async def test_a_handed_reply_of_a_dead_worker_is_sent_once_its_lease_expires(
    database: Database, understander: Understander, clock: FakeClock
) -> None:
    harness = build_harness(database, ScriptedUnderstander(understander), clock)
    harness.engine.courier = _DeadWorker()  # type: ignore[assignment]
    await harness.engine.handle(CustomerMessage(harness.customer(), "how can I pay", "u1"))
    [row] = await _rows(harness)
    assert row.leased_until is not None and row.attempts == 1  # committed with the turn
    harness.engine.courier = None
    await harness.settle()
    assert harness.customer_out.deliveries == []  # no other worker takes a leased row
    await harness.later(seconds=61)
    assert len(harness.customer_out.deliveries) == 1
    await harness.later(minutes=5)
    assert len(harness.customer_out.deliveries) == 1


def _count_own_records(dispatcher: Dispatcher) -> list[int]:
    """Rows the dispatcher recorded in a transaction of its own."""
    recorded: list[int] = []
    original = dispatcher._record

    async def counting(attempts: list[Any]) -> None:
        await original(attempts)
        recorded.extend(a.delivery.id for a in attempts)

    dispatcher._record = counting  # type: ignore[method-assign]
    return recorded


async def _one_send_waiting_for_a_turn(running: Harness) -> tuple[Dispatcher, list[int]]:
    """A reply sent and waiting to be recorded; only a turn can record it in the test.
    Returns the dispatcher and the rows it records in transactions of its own."""
    dispatcher = running.carebot.dispatcher
    dispatcher.ride_seconds = 30.0
    own = _count_own_records(dispatcher)
    await running.engine.handle(CustomerMessage(running.customer(), "how can I pay", "u1"))
    await _until(lambda: bool(dispatcher._rides))
    return dispatcher, own


@pytest.mark.parametrize("running", [5.0], indirect=True)
async def test_a_send_is_recorded_by_the_next_turn(running: Harness) -> None:
    dispatcher = running.carebot.dispatcher
    dispatcher.ride_seconds = 30.0  # only a turn can record it within the test
    own = _count_own_records(dispatcher)
    await running.engine.handle(CustomerMessage(running.customer(), "how can I pay", "u1"))
    await _until(lambda: bool(dispatcher._rides))  # sent, waiting for a turn
    [first] = await _rows(running)
    assert first.status == "pending" and first.leased_until is not None
    delivered = dispatcher.delivered
    await running.engine.handle(CustomerMessage(running.customer(), "do you ship abroad", "u2"))
    await _until(lambda: dispatcher.delivered == delivered + 1)
    first, second = await _rows(running)
    assert first.status == "sent" and first.result_ref == "m1" and first.leased_until is None
    assert second.leased_until is not None  # handed over: the first no longer holds it back
    await _until(lambda: len(running.customer_out.deliveries) == 2)
    assert own == []


async def test_a_send_no_turn_takes_is_recorded_by_the_dispatcher(running: Harness) -> None:
    dispatcher = running.carebot.dispatcher
    assert dispatcher.ride_seconds == 0.05  # the default
    own = _count_own_records(dispatcher)
    await running.engine.handle(CustomerMessage(running.customer(), "how can I pay", "u1"))
    await _until(lambda: not dispatcher._flying)
    [row] = await _rows(running)
    assert row.status == "sent" and row.leased_until is None
    assert own == [row.id] and dispatcher.delivered == 1


async def test_sends_boarded_by_a_turn_that_failed_are_recorded_by_the_dispatcher(
    running: Harness,
) -> None:
    dispatcher, own = await _one_send_waiting_for_a_turn(running)
    rides = dispatcher.board()  # as a turn does before its commit
    assert [a.delivery.kind for ride in rides for a in ride.attempts] == ["customer.text"]
    Dispatcher.landed(rides, False)  # ... which then rolled back
    await _until(lambda: own != [])
    [row] = await _rows(running)
    assert row.status == "sent" and own == [row.id] and dispatcher.delivered == 1


async def test_a_turn_whose_commit_fails_gives_its_riders_back(
    running: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, own = await _one_send_waiting_for_a_turn(running)
    original = UnitOfWork.commit
    failures = [OperationalError("COMMIT", {}, Exception("disk I/O error"))]
    turns: list[asyncio.Task[Any]] = []

    async def turn_commit_failing_once(self: UnitOfWork) -> None:
        # Only the turn's: the dispatcher's claims commit meanwhile, on their own timing.
        if failures and asyncio.current_task() in turns:
            await self.rollback()
            raise failures.pop()
        await original(self)

    monkeypatch.setattr(UnitOfWork, "commit", turn_commit_failing_once)
    # The engine handles the event again after the failed commit; the send it had
    # boarded goes back to the dispatcher, which records it in a transaction of its own.
    message = CustomerMessage(running.customer(), "do you ship abroad", "u2")
    turns.append(asyncio.ensure_future(running.engine.handle(message)))
    await turns[0]
    assert failures == []  # the turn's commit did fail once
    await _until(lambda: own != [] and len(running.customer_out.deliveries) == 2)
    first, second = await _rows(running)
    assert own[0] == first.id and first.status == "sent"
    assert second.status in ("pending", "sent")  # sent, recorded or riding


async def test_a_waiting_send_is_recorded_before_the_dispatcher_stops(
    database: Database, understander: Understander, clock: FakeClock
) -> None:
    harness = build_harness(database, ScriptedUnderstander(understander), clock)
    dispatcher = harness.carebot.dispatcher
    dispatcher.ride_seconds = 0.5
    stop = asyncio.Event()
    loop = asyncio.create_task(dispatcher.run_forever(stop))
    await asyncio.sleep(0)
    await harness.engine.handle(CustomerMessage(harness.customer(), "how can I pay", "u1"))
    await _until(lambda: bool(dispatcher._rides))
    stop.set()
    await asyncio.wait_for(loop, 10)
    [row] = await _rows(harness)
    assert row.status == "sent" and row.leased_until is None
