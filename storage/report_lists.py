"""Row-level report parts: the lowest-rated conversations, customers at risk, and the
touchpoint export (one row per conversation, streamed so memory stays flat)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, exists, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.models import (
    Agent,
    Conversation,
    Customer,
    Handoff,
    Resolution,
    Survey,
    SurveyStatus,
)
from storage.report_model import AtRisk, LowRated
from storage.report_queries import BOT_AGENT, Window
from storage.report_sql import seconds_between

TOUCHPOINT_COLUMNS = (
    "conversation_id",
    "started_at",
    "channel",
    "customer_id",
    "customer",
    "tags",
    "intent",
    "mood",
    "handoff_reason",
    "agent",
    "status",
    "resolution",
    "resolved_at",
    "ended_at",
    "first_response_seconds",
    "reopened_count",
    "csat_score",
    "csat_comment",
    "survey_status",
)


def is_low_rating() -> ColumnElement[bool]:
    """A survey answered with 1 or 2: what puts a customer at risk (rollups count it too)."""
    return and_(Survey.status == SurveyStatus.ANSWERED, Survey.score <= 2)


async def agent_names(connection: AsyncConnection) -> dict[int, str]:
    """Agent id → display name (a small table)."""
    rows = await connection.execute(select(Agent.id, Agent.display_name))
    return {int(agent_id): str(name) for agent_id, name in rows}


async def lowest_rated(
    connection: AsyncConnection,
    window: Window,
    limit: int = 10,
) -> list[LowRated]:
    """Answered surveys of 1–3 in the period, worst and most recent first.

    One score at a time, walking the surveys' ``(score, answered_at)`` index from the
    newest answer and checking each conversation's start by primary key, so it stops
    after ``limit`` rows whatever the planner knows (joining first, SQLite would scan
    the period's conversations). The same order as sorting all 1–3 ratings at once.
    """
    s, c = Survey, Conversation
    in_period = exists().where(
        c.id == s.conversation_id, Customer.id == c.customer_id, window.current
    )
    postgres = connection.dialect.name == "postgresql"
    picked: list[tuple[Any, ...]] = []
    # Scores below 1 are not written by Carebot, but sort first if a row has one.
    for score_is in (s.score < 1, s.score == 1, s.score == 2, s.score == 3):
        answered = (s.status == SurveyStatus.ANSWERED, score_is, in_period)
        walk = (
            select(s.conversation_id, s.answered_at, s.score, s.comment)
            .where(*answered)
            .order_by(s.score, s.answered_at.desc(), s.conversation_id.desc())
        )
        queries = [walk]
        if postgres:
            # PostgreSQL sorts a missing answer time first under DESC, so its walk would
            # step over every unanswered survey before the newest answer: the few
            # untimed rows are read apart, by score (OFFSET 0 keeps the planner from
            # ordering by an index), and the walk starts at the newest answer.
            stray = (
                select(s.conversation_id, s.answered_at, s.score, s.comment)
                .where(*answered, s.answered_at.is_(None))
                .offset(0)
                .subquery()
            )
            untimed = select(stray).order_by(stray.c.score, stray.c.conversation_id.desc())
            queries = [untimed, walk.where(s.answered_at.is_not(None))]
        for query in queries:
            if len(picked) >= limit:
                break
            rows = await connection.execute(query.limit(limit - len(picked)))
            picked.extend(tuple(row) for row in rows)
    if not picked:
        return []
    details = {
        row[0]: row[1:]
        for row in await connection.execute(
            select(c.id, c.primary_intent, Agent.display_name, Customer.display_name, c.channel)
            .select_from(c)
            .join(Customer, Customer.id == c.customer_id)
            .outerjoin(Agent, Agent.id == c.agent_id)
            .where(c.id.in_([row[0] for row in picked]))
        )
    }
    result = []
    for conversation_id, answered_at, score, comment in picked:
        intent, agent, customer, channel = details[conversation_id]
        result.append(
            LowRated(
                conversation_id=conversation_id,
                answered_at=answered_at,
                score=int(score or 0),
                comment=comment,
                intent=intent,
                agent=agent or BOT_AGENT,
                customer=customer or f"#{conversation_id}",
                channel=channel,
            )
        )
    return result


async def customers_at_risk(
    connection: AsyncConnection,
    window: Window,
    limit: int = 10,
    low_ratings: dict[Any, int] | None = None,
) -> list[AtRisk]:
    """Customers with a rating of 1–2, an unresolved handoff, or three or more contacts.

    Ranked by low ratings first, so only customers with at least as many low ratings as
    the ``limit``-th most can make the list: when enough customers have one, only they
    are grouped (their other counts read from an index without the survey join), which
    gives the same rows as grouping everyone. ``low_ratings`` (customer → 1–2 ratings in
    the period, as :func:`low_ratings_live` counts them) may come from the rollups.
    """
    c, s = Conversation, Survey
    low = func.sum(case((is_low_rating(), 1), else_=0))
    unresolved = func.sum(
        case(
            (
                and_(
                    c.handoff_reason.is_not(None),
                    (c.resolution.is_(None)) | (c.resolution == Resolution.ABANDONED),
                ),
                1,
            ),
            else_=0,
        )
    )
    contacts = func.count()
    query = (
        select(
            c.customer_id,
            contacts.label("n"),
            low.label("low"),
            unresolved.label("unresolved"),
            func.max(c.started_at).label("last"),
        )
        .select_from(c)
        .outerjoin(s, s.conversation_id == c.id)
        .where(window.current)
        .group_by(c.customer_id)
        .having((low > 0) | (unresolved > 0) | (contacts >= 3))
        .order_by(low.desc(), unresolved.desc(), contacts.desc(), c.customer_id)
        .limit(limit)
    )
    if low_ratings is None:
        low_ratings = await low_ratings_live(connection, window)
    candidates = _most_low_rated(low_ratings, limit)
    if candidates is None:
        rows = [tuple(row) for row in (await connection.execute(query)).all()]
    else:
        rows = await _rank_low_rated(connection, window, candidates, unresolved, limit)
    if not rows:
        return []
    people = {
        row[0]: (row[1], row[2])
        for row in await connection.execute(
            select(Customer.id, Customer.display_name, Customer.tags).where(
                Customer.id.in_([row[0] for row in rows])
            )
        )
    }
    result = []
    for customer_id, n, low_count, open_count, last in rows:
        name, tags = people.get(customer_id, (None, []))
        last_contact = last if isinstance(last, datetime) or last is None else None
        result.append(
            AtRisk(
                customer_id=int(customer_id),
                name=name or f"customer #{customer_id}",
                tags=list(tags or []),
                conversations=int(n),
                low_scores=int(low_count or 0),
                repeat_contacts=max(0, int(n) - 1),
                unresolved_handoffs=int(open_count or 0),
                last_contact=last_contact,
            )
        )
    return result


async def low_ratings_live(
    connection: AsyncConnection, window: Window, only: ColumnElement[bool] | None = None
) -> dict[Any, int]:
    """Customer → answered 1–2 ratings of conversations started in the period (and
    matching ``only``), for every customer with any."""
    c, s = Conversation, Survey
    query = (
        select(c.customer_id, func.count())
        .select_from(s)
        .join(c, c.id == s.conversation_id)
        .where(is_low_rating(), window.current)
        .group_by(c.customer_id)
    )
    if only is not None:
        query = query.where(only)
    return {customer: int(n) for customer, n in await connection.execute(query)}


def _most_low_rated(lows: dict[Any, int], limit: int) -> dict[Any, int] | None:
    """Those with at least as many 1–2 ratings as the ``limit``-th most, or None when
    fewer than ``limit`` customers have any (then everyone must be ranked)."""
    if limit < 1 or len(lows) < limit:
        return None
    threshold = sorted(lows.values(), reverse=True)[limit - 1]
    return {customer: n for customer, n in lows.items() if n >= threshold}


_IDS_PER_QUERY = 500


async def _rank_low_rated(
    connection: AsyncConnection,
    window: Window,
    lows: dict[Any, int],
    unresolved: ColumnElement[Any],
    limit: int,
) -> list[tuple[Any, ...]]:
    """The grouped rows for the candidates, ranked as the full query ranks them.

    Their low ratings are already counted (each conversation has at most one survey);
    contacts, unresolved handoffs and the last contact then come from the index on
    ``(customer_id, started_at, handoff_reason, resolution)`` (migration 0005) with no
    survey join and no row read.
    """
    c = Conversation
    ids = list(lows)
    grouped = []
    for start in range(0, len(ids), _IDS_PER_QUERY):
        query = (
            select(c.customer_id, func.count(), unresolved, func.max(c.started_at))
            .where(window.current, c.customer_id.in_(ids[start : start + _IDS_PER_QUERY]))
            .group_by(c.customer_id)
        )
        grouped += [
            (customer, n, lows[customer], open_count, last)
            for customer, n, open_count, last in await connection.execute(query)
        ]
    grouped.sort(key=lambda row: (-row[2], -int(row[3] or 0), -int(row[1]), row[0]))
    return grouped[:limit]


async def touchpoints(
    connection: AsyncConnection,
    window: Window,
) -> AsyncIterator[dict[str, Any]]:
    """One row per conversation started in the period, in start order."""
    c, s = Conversation, Survey
    first_reply = (
        select(
            func.min(
                seconds_between(Handoff.requested_at, Handoff.first_human_reply_at, window.sqlite)
            )
        )
        .where(Handoff.conversation_id == c.id)
        .scalar_subquery()
    )
    query = (
        select(
            c.id,
            c.started_at,
            c.channel,
            c.customer_id,
            Customer.display_name,
            Customer.tags,
            c.primary_intent,
            c.mood,
            c.handoff_reason,
            Agent.display_name,
            c.status,
            c.resolution,
            c.resolved_at,
            c.ended_at,
            first_reply,
            c.reopened_count,
            s.score,
            s.comment,
            s.status,
        )
        .select_from(c)
        .join(Customer, Customer.id == c.customer_id)
        .outerjoin(Agent, Agent.id == c.agent_id)
        .outerjoin(s, s.conversation_id == c.id)
        .where(window.current)
        .order_by(c.started_at, c.id)
    )
    result = await connection.stream(query.execution_options(yield_per=2000))
    async for row in result:
        values = dict(zip(TOUCHPOINT_COLUMNS, row, strict=True))
        values["agent"] = values["agent"] or (
            BOT_AGENT if values["handoff_reason"] is None else None
        )
        values["tags"] = list(values["tags"] or [])
        yield values
