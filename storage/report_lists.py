"""Row-level report parts: the lowest-rated conversations, customers at risk, and the
touchpoint export (one row per conversation, streamed so memory stays flat)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, case, func, select
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


async def agent_names(connection: AsyncConnection) -> dict[int, str]:
    """Agent id → display name (a small table)."""
    rows = await connection.execute(select(Agent.id, Agent.display_name))
    return {int(agent_id): str(name) for agent_id, name in rows}


async def lowest_rated(
    connection: AsyncConnection,
    window: Window,
    limit: int = 10,
) -> list[LowRated]:
    """Answered surveys of 1–3 in the period, worst and most recent first."""
    query = (
        select(
            Conversation.id,
            Survey.answered_at,
            Survey.score,
            Survey.comment,
            Conversation.primary_intent,
            Agent.display_name,
            Customer.display_name,
            Conversation.channel,
        )
        .select_from(Survey)
        .join(Conversation, Conversation.id == Survey.conversation_id)
        .join(Customer, Customer.id == Conversation.customer_id)
        .outerjoin(Agent, Agent.id == Conversation.agent_id)
        .where(window.current, Survey.status == SurveyStatus.ANSWERED, Survey.score <= 3)
        .order_by(Survey.score, Survey.answered_at.desc(), Conversation.id.desc())
        .limit(limit)
    )
    return [
        LowRated(
            conversation_id=row[0],
            answered_at=row[1],
            score=int(row[2] or 0),
            comment=row[3],
            intent=row[4],
            agent=row[5] or BOT_AGENT,
            customer=row[6] or f"#{row[0]}",
            channel=row[7],
        )
        for row in await connection.execute(query)
    ]


async def customers_at_risk(
    connection: AsyncConnection,
    window: Window,
    limit: int = 10,
) -> list[AtRisk]:
    """Customers with a rating of 1–2, an unresolved handoff, or three or more contacts.

    Ranked by low ratings first, so only customers with at least as many low ratings as
    the ``limit``-th most can make the list: when enough customers have one, only they
    are grouped (found through the surveys' score index), which gives the same rows as
    grouping everyone.
    """
    c, s = Conversation, Survey
    low = func.sum(case((and_(s.status == SurveyStatus.ANSWERED, s.score <= 2), 1), else_=0))
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
    candidates = await _low_rated_customers(connection, window, limit)
    if candidates is not None:
        query = query.where(c.customer_id.in_(candidates))
    rows = (await connection.execute(query)).all()
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


async def _low_rated_customers(
    connection: AsyncConnection, window: Window, limit: int
) -> Select[Any] | None:
    """Customers with at least as many 1–2 ratings as the ``limit``-th most, or None
    when fewer than ``limit`` customers have any (then everyone must be ranked)."""
    c, s = Conversation, Survey
    low = func.count().label("low")
    per_customer = (
        select(c.customer_id.label("customer"), low)
        .select_from(s)
        .join(c, c.id == s.conversation_id)
        .where(s.status == SurveyStatus.ANSWERED, s.score <= 2, window.current)
        .group_by(c.customer_id)
        .subquery()
    )
    threshold = (
        await connection.execute(
            select(per_customer.c.low)
            .order_by(per_customer.c.low.desc())
            .limit(1)
            .offset(max(0, limit - 1))
        )
    ).scalar()
    if threshold is None or limit < 1:
        return None
    return select(per_customer.c.customer).where(per_customer.c.low >= threshold)


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
