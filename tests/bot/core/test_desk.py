"""The staff desk's read-only questions, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from bot.core import desk
from bot.core.events import CustomerCommand, StaffReply, StaffResolve
from intents.base import Understander
from storage.db import Database
from tests.helpers import FakeClock, build_harness


async def test_thread_queue_history_and_report(
    database: Database, understander: Understander, clock: FakeClock, settings_env: Any
) -> None:
    harness = build_harness(database, understander, clock)
    ann = harness.customer()
    outcome = await harness.act(CustomerCommand(ann, "human", delivery_id="h1"))
    conversation_id = outcome.conversation_id
    assert conversation_id is not None

    staff_rows = [d for d in harness.staff_out.deliveries if d.kind == "staff.handoff"]
    assert staff_rows
    thread = f"m{harness.staff_out.deliveries.index(staff_rows[0]) + 1}"
    found = await desk.conversation_for_thread(harness.engine, "C-test", thread)
    assert found is not None and found.conversation_id == conversation_id
    assert found.status == "waiting"
    assert await desk.conversation_for_thread(harness.engine, "C-other", thread) is None
    assert await desk.conversation_for_thread(harness.engine, "C-test", "nope") is None

    clock.advance(minutes=12)
    queue = await desk.open_queue(harness.engine)
    assert len(queue) == 1
    item = queue[0]
    assert item.conversation_id == conversation_id and item.waited_minutes == 12
    assert item.customer == "Ann Example" and item.staff_thread == thread

    await harness.act(StaffReply(conversation_id, harness.agent, "On it"))
    await harness.act(StaffResolve(conversation_id, harness.agent))
    assert await desk.open_queue(harness.engine) == []

    history = await desk.customer_history(harness.engine, 1)
    assert history is not None and history.name == "Ann Example"
    assert [t.conversation_id for t in history.touchpoints] == [conversation_id]
    assert history.touchpoints[0].handoff_reason == "customer_request"
    assert await desk.customer_history(harness.engine, 999) is None

    report = await desk.report_summary(harness.engine, 7)
    assert report.startswith("Last 7 days: 1 conversations")
    assert "Handed to a person: 1 of 1" in report
    assert "Last 1 day:" in await desk.report_summary(harness.engine, 1)
