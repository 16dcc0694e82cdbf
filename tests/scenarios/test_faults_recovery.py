"""Regression tests for what the worker fault tests found, fast and on both engines.

* A dropped database connection used to make the engine answer "something went wrong"
  (or, when even that failed, lose the message while the webhook still said 200): the
  engine now handles the event again on a fresh connection.
* A dropped connection while recording delivery results used to leave rows that had
  reached the platform to be sent again once their lease expired: recording is retried.
* Leases and the back-off cap are settings, so a deployment (and the fault tests) can
  recover from a killed worker in seconds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from bot.app import assemble_carebot
from bot.core.dispatcher import Dispatcher, backoff_seconds
from bot.core.events import CustomerMessage
from intents.base import Understander
from storage.db import Database
from storage.models import Message, OutboxItem
from tests.helpers import FakeClock, Harness, build_harness, make_settings

DROPPED = OperationalError("SELECT 1", {}, ConnectionResetError("connection was closed"))


def failing_once(real: Callable[..., Awaitable[Any]], calls: list[int]) -> Any:
    """``real``, except that its first call raises like a killed backend."""

    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise DROPPED
        return await real(*args, **kwargs)

    return wrapper


@pytest.fixture
def harness(database: Database, understander: Understander, clock: FakeClock) -> Harness:
    return build_harness(database, understander, clock)


async def inbound_count(harness: Harness) -> int:
    async def count(uow: Any) -> int:
        stmt = select(func.count()).select_from(Message).where(Message.direction == "in")
        return int((await uow.session.execute(stmt)).scalar_one())

    result: int = await harness.query(count)
    return result


async def test_event_is_handled_again_after_a_dropped_connection(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = harness.engine
    calls: list[int] = []
    monkeypatch.setattr(engine, "_handle_customer", failing_once(engine._handle_customer, calls))
    outcome = await harness.say("hello", delivery_id="u1")
    assert outcome.handled and not outcome.duplicate
    assert len(calls) == 2
    assert not any("went wrong" in text for text in harness.replies())
    assert harness.replies()  # the real answer
    assert await inbound_count(harness) == 1
    again = await harness.say("hello", delivery_id="u1")  # a redelivery is still a no-op
    assert again.duplicate
    assert await inbound_count(harness) == 1


async def test_delivery_is_recorded_again_after_a_dropped_connection(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    dispatcher: Dispatcher = harness.carebot.dispatcher
    await harness.engine.handle(CustomerMessage(harness.customer(), "hello", delivery_id="u2"))
    calls: list[int] = []
    monkeypatch.setattr(dispatcher, "_record", failing_once(dispatcher._record, calls))
    stop = asyncio.Event()
    loop = asyncio.create_task(dispatcher.run_forever(stop))

    async def statuses(uow: Any) -> list[str]:
        return list((await uow.session.execute(select(OutboxItem.status))).scalars())

    try:
        async with asyncio.timeout(10):
            while set(await harness.query(statuses)) != {"sent"}:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
    finally:
        stop.set()
        await loop
    assert len(calls) == 2  # failed once, recorded on the retry
    assert len(harness.replies()) == 1  # delivered once, not again after the lease


def test_leases_and_backoff_cap_are_settings(understander: Understander) -> None:
    settings = make_settings(
        outbox_lease_seconds=2, job_lease_seconds=3, outbox_max_backoff_seconds=1.5
    )
    carebot = assemble_carebot(settings, understander=understander, with_channels=False)
    assert carebot.dispatcher.lease == timedelta(seconds=2)
    assert carebot.jobs.lease == timedelta(seconds=3)
    assert carebot.dispatcher.max_backoff == 1.5
    assert backoff_seconds(10, 1.5) <= 1.5 * 1.2
    defaults = make_settings()
    assert (defaults.outbox_lease_seconds, defaults.job_lease_seconds) == (60, 120)
