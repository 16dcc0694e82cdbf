"""The lowest-rated and at-risk lists equal the plain one-query ranking.

The report reads them by walking indexes (lowest-rated one score at a time; at-risk
only for the customers with the most 1–2 ratings); here each is compared with a
straightforward grouped and sorted query over the same rows, for several periods and
list lengths, with ties and a stray score of 0.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, case, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.db import Database
from storage.models import Agent, Conversation, Customer, Resolution, Survey, SurveyStatus
from storage.report_lists import customers_at_risk, lowest_rated
from storage.report_queries import Window
from storage.seed import seed_database

END = datetime(2026, 3, 31, 18, tzinfo=UTC)


def _window(days: int, sqlite: bool) -> Window:
    since = END - timedelta(days=days)
    return Window(
        sqlite=sqlite,
        since=since,
        until=END,
        previous_since=since,
        bucket_starts=[since],
        day_starts=[since],
        now=END,
        sla_seconds=900,
        vip_sla_seconds=300,
    )


async def _plain_lowest(
    connection: AsyncConnection, window: Window, limit: int
) -> list[tuple[object, ...]]:
    c, s = Conversation, Survey
    query = (
        select(s.conversation_id, s.answered_at, s.score, s.comment, c.primary_intent)
        .select_from(s)
        .join(c, c.id == s.conversation_id)
        .join(Customer, Customer.id == c.customer_id)
        .outerjoin(Agent, Agent.id == c.agent_id)
        .where(window.current, s.status == SurveyStatus.ANSWERED, s.score <= 3)
        .order_by(s.score, s.answered_at.desc(), c.id.desc())
        .limit(limit)
    )
    return [tuple(row) for row in await connection.execute(query)]


async def _plain_at_risk(
    connection: AsyncConnection, window: Window, limit: int
) -> list[tuple[object, ...]]:
    c, s = Conversation, Survey
    low = func.sum(case((and_(s.status == SurveyStatus.ANSWERED, s.score <= 2), 1), else_=0))
    open_handoff = and_(
        c.handoff_reason.is_not(None),
        c.resolution.is_(None) | (c.resolution == Resolution.ABANDONED),
    )
    unresolved = func.sum(case((open_handoff, 1), else_=0))
    query = (
        select(c.customer_id, func.count(), low, unresolved, func.max(c.started_at))
        .select_from(c)
        .outerjoin(s, s.conversation_id == c.id)
        .where(window.current)
        .group_by(c.customer_id)
        .having((low > 0) | (unresolved > 0) | (func.count() >= 3))
        .order_by(low.desc(), unresolved.desc(), func.count().desc(), c.customer_id)
        .limit(limit)
    )
    return [tuple(row) for row in await connection.execute(query)]


async def _compare(database: Database) -> None:
    async with database.engine.connect() as connection:
        for days in (1, 3, 28, 70):
            window = _window(days, database.is_sqlite)
            for limit in (1, 3, 10, 40, 2000):
                low = await lowest_rated(connection, window, limit)
                plain = await _plain_lowest(connection, window, limit)
                assert [
                    (r.conversation_id, r.answered_at, r.score, r.comment, r.intent) for r in low
                ] == plain
                risk = await customers_at_risk(connection, window, limit)
                assert [
                    (
                        r.customer_id,
                        r.conversations,
                        r.low_scores,
                        r.unresolved_handoffs,
                        r.last_contact,
                    )
                    for r in risk
                ] == [
                    (a, n, int(b), int(u), t)
                    for a, n, b, u, t in await _plain_at_risk(connection, window, limit)
                ]


async def test_lists_equal_the_plain_ranking(database: Database) -> None:
    await seed_database(database, 3000, weeks=10, seed=7, end=END)
    await _compare(database)
    async with database.engine.begin() as connection:
        # Ties on every ranking key, and a score outside 1–5 (sorts first).
        await connection.execute(
            update(Survey)
            .where(Survey.status == SurveyStatus.ANSWERED, Survey.score <= 2)
            .values(answered_at=END - timedelta(hours=5))
        )
        first = (await connection.execute(select(func.max(Survey.id)))).scalar_one()
        await connection.execute(
            update(Survey).where(Survey.id == first).values(score=0, status=SurveyStatus.ANSWERED)
        )
    await _compare(database)
