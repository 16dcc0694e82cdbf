"""The rollup path gives exactly the live report, after every kind of write.

Each check builds the same report twice, from the rollups and live
(``use_rollups=False``), and compares every number, percentiles to the last bit.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from alembic import command
from sqlalchemy import delete, func, select, text, update

from storage import rollups
from storage.data_subject import erase_customer
from storage.db import Database
from storage.migrate import alembic_config
from storage.models import Conversation, Customer, Handoff, Survey
from storage.reports import BREAKDOWNS, Report, ReportRequest, build_report
from storage.rollup_tables import COUNT_FIELDS, bucket_in_python
from storage.seed import seed_database

END = datetime(2026, 3, 31, 18, tzinfo=UTC)
NOW = datetime(2026, 3, 31, 17, 41, 13, 5, tzinfo=UTC)


def _request(**kw: object) -> ReportRequest:
    base: dict[str, object] = dict(
        first_day=date(2026, 3, 4),
        last_day=date(2026, 3, 31),
        timezone="Europe/Berlin",  # DST starts on 2026-03-29 inside the period
        breakdowns=("intent", "agent"),
        now=NOW,
    )
    base.update(kw)
    return ReportRequest(**base)  # type: ignore[arg-type]


def _numbers(report: Report) -> tuple[object, ...]:
    return (
        report.period,
        report.previous_period,
        report.current,
        report.previous,
        report.breakdowns,
        report.trend,
        report.lowest_rated,
        report.at_risk,
    )


async def _same(db: Database, request: ReportRequest) -> Report:
    fast = await build_report(db, request)
    live = await build_report(db, replace(request, use_rollups=False))
    assert _numbers(fast) == _numbers(live)
    return fast


async def _seeded(db: Database) -> None:
    await seed_database(db, 3000, weeks=9, seed=5, end=END)


async def test_seeded_rollups_match_live(database: Database) -> None:
    await _seeded(database)
    report = await _same(database, _request(breakdowns=BREAKDOWNS))
    assert report.current.counts.conversations > 500
    assert report.current.resolution_time.n > 300
    assert report.breakdowns["agent"] and report.breakdowns["intent"]
    await _same(database, _request(breakdowns=(), trend="day"))


@pytest.mark.parametrize(
    "zone", ["Asia/Kolkata", "America/St_Johns", "UTC", "Pacific/Chatham", "America/New_York"]
)
async def test_time_zones_and_period_edges(database: Database, zone: str) -> None:
    await _seeded(database)
    await _same(database, _request(timezone=zone, breakdowns=("channel", "reason", "day")))
    await _same(database, _request(timezone=zone, first_day=date(2026, 3, 30)))
    await _same(database, _request(timezone=zone, first_day=date(2026, 3, 31), trend="day"))


async def test_every_kind_of_write(database: Database) -> None:
    await _seeded(database)
    rng = random.Random(3)
    request = _request(breakdowns=("intent", "agent", "channel", "reason"))
    async with database.sessions() as session, session.begin():
        next_id = int((await session.execute(select(func.max(Conversation.id)))).scalar_one())
        for offset in range(1, 40):  # new conversations, some on the edges of the periods
            start = datetime(2026, 3, 3, 23, tzinfo=UTC) + timedelta(
                hours=rng.choice([-1, 0, 0.5, 24 * 14, 24 * 25]), seconds=rng.randrange(3600)
            )
            resolved = start + timedelta(minutes=rng.randrange(1, 300))
            session.add(
                Conversation(
                    id=next_id + offset,
                    customer_id=rng.randrange(1, 40),
                    channel="telegram",
                    started_at=start,
                    last_activity_at=start,
                    resolved_at=resolved if offset % 3 else None,
                    resolution="bot_assumed" if offset % 3 else None,
                    primary_intent=rng.choice(["order_status", None, "brand_new_intent"]),
                    moods=[],
                    context={},
                )
            )
    await _same(database, request)
    async with database.sessions() as session, session.begin():
        # A survey answered later, a handoff claimed and answered, one resolved.
        await session.execute(
            update(Survey)
            .where(Survey.status == "sent", Survey.id % 7 == 0)
            .values(status="answered", score=1, answered_at=NOW, comment="late")
        )
        for handoff in (
            await session.execute(select(Handoff).where(Handoff.id % 5 == 0))
        ).scalars():
            handoff.first_human_reply_at = handoff.requested_at + timedelta(seconds=61)
        await session.execute(
            update(Conversation)
            .where(Conversation.id % 11 == 0, Conversation.resolved_at.is_not(None))
            .values(reopened_count=Conversation.reopened_count + 1, resolved_at=None)
        )
        await session.execute(
            update(Conversation).where(Conversation.id % 13 == 0).values(agent_id=2)
        )
        moved = select(Conversation).where(Conversation.id % 17 == 0)
        for row in (await session.execute(moved)).scalars():
            row.started_at -= timedelta(days=3, minutes=7)
    await _same(database, request)
    async with database.sessions() as session, session.begin():
        # Handoffs still waiting: their SLA breach depends on "now".
        waiting = (await session.execute(select(Handoff).where(Handoff.id % 9 == 0))).scalars()
        for handoff in waiting:
            handoff.first_human_reply_at = None
            handoff.ended_at = None
            handoff.requested_at = NOW - timedelta(minutes=rng.choice([1, 4, 6, 20, 900]))
            handoff.priority = rng.random() < 0.5
    await _same(database, request)
    await _same(database, replace(request, now=NOW + timedelta(hours=2)))
    async with database.sessions() as session, session.begin():
        customer = await session.get(Customer, 1)
        assert customer is not None
        await erase_customer(session, customer)
        await session.execute(
            update(Handoff)
            .where(Handoff.id % 23 == 0)
            .values(conversation_id=Handoff.conversation_id + 1)
        )
        await session.execute(delete(Survey).where(Survey.id % 4 == 0))
        await session.execute(delete(Handoff).where(Handoff.id % 4 == 1))
        await session.execute(delete(Conversation).where(Conversation.id % 19 == 0))
    await _same(database, request)


async def test_sla_change_recounts(database: Database) -> None:
    await _seeded(database)
    await _same(database, _request())
    await _same(database, _request(sla_minutes=7.5, vip_sla_minutes=2))
    await _same(database, _request())


async def test_writes_between_refresh_and_read_are_seen(database: Database) -> None:
    """A write landing after the refresh but before the read is never lost."""
    await _seeded(database)
    original = rollups.refresh_database
    writes = 0

    async def refresh_then_write(db: Database, sla: float, vip: float) -> int:
        nonlocal writes
        done = await original(db, sla, vip)
        if writes < 2:
            writes += 1
            async with db.sessions() as session, session.begin():
                latest = (await session.execute(select(func.max(Survey.id)))).scalar_one()
                await session.execute(
                    update(Survey)
                    .where(Survey.id == latest - writes)
                    .values(status="answered", score=2, answered_at=NOW)
                )
        return done

    rollups.refresh_database = refresh_then_write  # type: ignore[assignment]
    try:
        await _same(database, _request())
    finally:
        rollups.refresh_database = original  # type: ignore[assignment]
    assert writes == 2


async def test_concurrent_writers_and_reports(database: Database) -> None:
    await _seeded(database)

    async def writer(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(15):
            async with database.sessions() as session, session.begin():
                await session.execute(
                    update(Survey)
                    .where(Survey.id == rng.randrange(1, 2000))
                    .values(status="answered", score=rng.randrange(1, 6), answered_at=NOW)
                )
                await session.execute(
                    update(Conversation)
                    .where(Conversation.id == rng.randrange(1, 3000))
                    .values(resolution="abandoned")
                )

    async def reporter() -> None:
        for _ in range(3):
            await rollups.refresh_database(database, 900, 300)

    await asyncio.gather(writer(1), writer(2), reporter(), reporter())
    await _same(database, _request())


async def test_buckets_follow_the_durations(database: Database) -> None:
    """The SQL bucket of a duration is the Python one, and buckets keep the order."""
    await _seeded(database)
    async with database.engine.connect() as connection:
        rows = (
            await connection.execute(text("SELECT seconds, bucket FROM report_durations"))
        ).all()
    assert rows
    assert all(bucket_in_python(seconds) == bucket for seconds, bucket in rows)
    assert bucket_in_python(-5.0) == 0 and bucket_in_python(1.0) == 1


async def test_moving_a_conversation_to_another_customer(database: Database) -> None:
    """The at-risk ranking follows a conversation moved between customers."""
    await _seeded(database)
    request = _request(list_limit=3)
    before = await _same(database, request)
    assert before.at_risk and before.at_risk[0].low_scores > 0
    top = before.at_risk[0].customer_id
    async with database.sessions() as session, session.begin():
        low_rated = (
            select(Survey.conversation_id)
            .where(Survey.status == "answered", Survey.score <= 2)
            .scalar_subquery()
        )
        await session.execute(
            update(Conversation)
            .where(Conversation.customer_id == top, Conversation.id.in_(low_rated))
            .values(customer_id=top + 1)
        )
    after = await _same(database, request)
    assert top not in [row.customer_id for row in after.at_risk[:1]]


def _daily_sums_sql() -> str:
    sums = ", ".join(f"sum({name})" for name in COUNT_FIELDS)
    return f"SELECT slot / 24, dim, value, {sums} FROM report_rollup GROUP BY slot / 24, dim, value"


async def _tables(database: Database) -> dict[str, list[tuple[object, ...]]]:
    queries = {
        "days": "SELECT * FROM report_rollup_days",
        "low": "SELECT slot, customer_id, n FROM report_low_ratings",
        "hourly sums": _daily_sums_sql(),
    }

    def plain(row: Any) -> tuple[object, ...]:  # PostgreSQL sums bigints as numeric
        return tuple(int(v) if isinstance(v, Decimal) else v for v in row)

    async with database.engine.connect() as connection:
        return {
            name: sorted((plain(row) for row in await connection.execute(text(sql))), key=repr)
            for name, sql in queries.items()
        }


async def test_daily_rows_are_the_sum_of_their_hours(database: Database) -> None:
    await _seeded(database)
    async with database.sessions() as session, session.begin():
        moved = select(Conversation).where(Conversation.id % 7 == 0)
        for row in (await session.execute(moved)).scalars():
            row.started_at += timedelta(hours=5)
        await session.execute(delete(Survey).where(Survey.id % 5 == 0))
    await rollups.refresh_database(database, 900, 300)
    tables = await _tables(database)
    assert len(tables["days"]) > 100 and tables["low"]
    assert tables["days"] == tables["hourly sums"]
    # A full recount from the live tables gives the very same rows.
    async with database.engine.begin() as connection:
        await rollups.mark_everything(connection)
        await rollups.refresh(connection, 900, 300)
    assert await _tables(database) == tables


async def test_migration_fills_the_daily_and_low_rating_rows(database: Database) -> None:
    """Down to 0005 and up again: the migration's set-based fill equals a recount, and
    the re-created trigger again marks a conversation moved to another customer."""
    await _seeded(database)
    await rollups.refresh_database(database, 900, 300)
    counted = await _tables(database)
    config = alembic_config()

    def migrate(sync: Any, target: str, up: bool) -> None:
        config.attributes["connection"] = sync
        (command.upgrade if up else command.downgrade)(config, target)

    async with database.engine.begin() as connection:
        await connection.run_sync(migrate, "0005", False)
        assert not await connection.run_sync(
            lambda sync: sync.dialect.has_table(sync, "report_rollup_days")
        )
    async with database.engine.begin() as connection:
        await connection.run_sync(migrate, "head", True)
    assert await _tables(database) == counted
    async with database.sessions() as session, session.begin():
        await session.execute(
            update(Conversation).where(Conversation.id == 1).values(customer_id=2)
        )
    async with database.engine.connect() as connection:
        marked = (await connection.execute(text("SELECT count(*) FROM report_dirty"))).scalar()
    assert marked == 1
    await _same(database, _request())


def test_runs_bridge_short_gaps() -> None:
    assert rollups.runs([5, 1, 2, 3, 9]) == [(1, 3), (5, 5), (9, 9)]
    assert rollups.runs([5, 1, 2, 3, 9], bridge=1) == [(1, 5), (9, 9)]
    assert rollups.runs([5, 1, 2, 3, 9], bridge=3) == [(1, 9)]
    assert rollups.runs([]) == []
