"""``conversations.next_contact_at`` stays exact through inserts, updates and deletes.

The column is kept by database triggers (storage/facts.py); here it is checked against
the definition computed in Python over the same rows, after every kind of write.
"""

from __future__ import annotations

import asyncio
import random
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update

from storage.db import Database
from storage.models import Conversation, Customer
from storage.reports import ReportRequest, build_report
from tests.storage.report_fixtures import add_all, at, conversation

WEEK = timedelta(days=7)


async def _rows(db: Database) -> dict[int, tuple[int, datetime, datetime | None, datetime | None]]:
    query = select(
        Conversation.id,
        Conversation.customer_id,
        Conversation.started_at,
        Conversation.resolved_at,
        Conversation.next_contact_at,
    )
    async with db.engine.connect() as connection:
        return {row[0]: (row[1], row[2], row[3], row[4]) for row in await connection.execute(query)}


async def _check(db: Database) -> int:
    """Every stored value equals the definition; returns how many are repeats."""
    rows = await _rows(db)
    repeats = 0
    for cid, (customer, _, resolved, stored) in rows.items():
        expected = None
        if resolved is not None:
            later = [
                start
                for other, (who, start, _, _) in rows.items()
                if who == customer and other != cid and resolved < start <= resolved + WEEK
            ]
            expected = min(later) if later else None
        assert stored == expected, (cid, stored, expected)
        repeats += expected is not None
    return repeats


def _customers() -> list[Customer]:
    return [
        Customer(id=n, channel="telegram", external_id=str(n), address=str(n), tags=[], extra={})
        for n in (1, 2, 3)
    ]


async def test_edges_of_the_seven_days(database: Database) -> None:
    resolved = at("03-02 10:00") + timedelta(microseconds=123456)
    await add_all(
        database,
        *_customers(),
        conversation(1, 1, "03-02 09:00", resolved_at=resolved),
        conversation(2, 2, "03-02 09:00", resolved_at=resolved),
        conversation(3, 3, "03-02 09:00", resolved_at=resolved),
    )
    async with database.sessions() as session, session.begin():
        session.add(
            Conversation(
                id=4,
                customer_id=1,
                channel="telegram",
                started_at=resolved + WEEK,
                last_activity_at=resolved,
                moods=[],
                context={},
            )
        )  # exactly 7 days later: a repeat
        session.add(
            Conversation(
                id=5,
                customer_id=2,
                channel="telegram",
                started_at=resolved + WEEK + timedelta(microseconds=1),
                last_activity_at=resolved,
                moods=[],
                context={},
            )
        )
        session.add(
            Conversation(
                id=6,
                customer_id=3,
                channel="telegram",
                started_at=resolved,
                last_activity_at=resolved,
                moods=[],
                context={},
            )
        )
    assert await _check(database) == 1
    stored = await _rows(database)
    assert stored[1][3] == resolved + WEEK and stored[2][3] is None and stored[3][3] is None


async def test_every_kind_of_write(database: Database) -> None:
    rng = random.Random(7)
    base = at("03-01 00:00")
    rows: list[object] = list(_customers())
    ids = list(range(1, 41))
    rng.shuffle(ids)  # inserted out of start order
    for cid in ids:
        start = base + timedelta(minutes=rng.randrange(0, 30 * 24 * 60), microseconds=cid)
        resolved = start + timedelta(hours=rng.choice([0, 1, 30, 100])) if cid % 3 else None
        rows.append(
            Conversation(
                id=cid,
                customer_id=1 + cid % 3,
                channel="telegram",
                started_at=start,
                resolved_at=resolved,
                last_activity_at=start,
                moods=[],
                context={},
            )
        )
    await add_all(database, *rows)
    assert await _check(database) > 5
    async with database.sessions() as session, session.begin():
        await session.execute(
            update(Conversation).where(Conversation.id.in_([3, 6, 9])).values(resolved_at=None)
        )
        await session.execute(
            update(Conversation)
            .where(Conversation.id.in_([1, 2, 4]))
            .values(resolved_at=base + timedelta(days=5))
        )
        await session.execute(
            update(Conversation)
            .where(Conversation.id == 5)
            .values(started_at=base + timedelta(days=5, hours=2))
        )
        await session.execute(
            update(Conversation).where(Conversation.id == 7).values(customer_id=2)
        )
    await _check(database)
    async with database.sessions() as session, session.begin():
        await session.execute(delete(Conversation).where(Conversation.id.in_([5, 10, 11, 12])))
    await _check(database)


async def test_report_counts_the_stored_repeats(database: Database) -> None:
    await add_all(
        database,
        *_customers(),
        conversation(1, 1, "03-02 10:00", resolved_at=at("03-02 10:05")),
        conversation(2, 1, "03-09 10:05"),  # exactly 7 days after the resolution
        conversation(3, 2, "03-03 10:00", resolved_at=at("03-03 10:05")),
        conversation(4, 2, "03-10 10:06"),  # one minute too late
    )
    request = ReportRequest(
        first_day=at("03-02 00:00").date(), last_day=at("03-15 00:00").date(), timezone="UTC"
    )
    seven = (await build_report(database, request)).current.counts
    eight = (
        await build_report(
            database,
            ReportRequest(
                first_day=request.first_day,
                last_day=request.last_day,
                timezone="UTC",
                repeat_days=8,
            ),
        )
    ).current.counts  # the live fallback
    assert (seven.resolved, seven.repeat) == (2, 1)
    assert (eight.resolved, eight.repeat) == (2, 2)


async def test_concurrent_new_conversations_of_one_customer(database: Database) -> None:
    """The later writer waits and then sees the earlier one's conversation (no stale value)."""
    resolved = at("03-02 10:00")
    await add_all(database, *_customers(), conversation(1, 1, "03-02 09:00", resolved_at=resolved))
    table = Conversation.__table__

    def row(cid: int, start: datetime) -> dict[str, object]:
        return dict(
            id=cid,
            customer_id=1,
            channel="telegram",
            started_at=start,
            last_activity_at=start,
            moods=[],
            context={},
        )

    async with database.engine.connect() as first, database.engine.connect() as second:
        transaction = await first.begin()
        await first.execute(table.insert(), row(2, resolved + timedelta(days=1)))

        async def later_conversation() -> None:
            async with second.begin():
                await second.execute(table.insert(), row(3, resolved + timedelta(days=2)))

        task = asyncio.create_task(later_conversation())
        await asyncio.sleep(0.5)  # the second writer is now waiting for the first
        await transaction.commit()
        await task
    assert await _check(database) == 1
    assert (await _rows(database))[1][3] == resolved + timedelta(days=1)
