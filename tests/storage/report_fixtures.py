"""Fixed report data with hand-computed expectations (see test_reports.py).

Times are UTC; the business is in Europe/Berlin (UTC+1 in February and March 2026).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from storage.db import Database
from storage.models import Agent, Conversation, Customer, Handoff, Survey


def at(text: str) -> datetime:
    """``"03-02 10:00"`` → 2026-03-02 10:00 UTC."""
    return datetime.strptime(f"2026-{text}", "%Y-%m-%d %H:%M").replace(tzinfo=UTC)


async def add_all(db: Database, *rows: Any) -> None:
    """Insert rows in order, flushing each so ids are known."""
    async with db.sessions() as session, session.begin():
        for row in rows:
            session.add(row)
            await session.flush()


def conversation(cid: int, customer: int, start: str, **kw: Any) -> Conversation:
    """A conversation with sensible defaults."""
    kw.setdefault("channel", "telegram")
    kw.setdefault("status", "resolved" if kw.get("resolved_at") else "bot")
    return Conversation(
        id=cid,
        customer_id=customer,
        started_at=at(start),
        last_activity_at=at(start),
        moods=[],
        context={},
        **kw,
    )


def survey(
    cid: int,
    customer: int,
    status: str,
    score: int | None = None,
    comment: str | None = None,
    sent: str | None = "03-20 00:00",
    agent: int | None = None,
) -> Survey:
    """A survey; sent_at defaults to a time after everything else."""
    return Survey(
        conversation_id=cid,
        customer_id=customer,
        status=status,
        score=score,
        comment=comment,
        sent_at=at(sent) if sent else None,
        agent_id=agent,
        answered_at=at("03-20 01:00") if score else None,
    )


async def seed_fixed(db: Database) -> None:
    """Eight conversations: five in 2026-03-02..15 (Berlin), two before, one after."""
    await add_all(
        db,
        Agent(id=1, platform="slack", external_id="U1", display_name="Ana Agent"),
        Agent(id=2, platform="slack", external_id="U2", display_name="Bo Boss"),
        Customer(
            id=1,
            channel="telegram",
            external_id="a",
            address="a",
            display_name="Alice",
            tags=["vip"],
            extra={},
        ),
        Customer(
            id=2,
            channel="telegram",
            external_id="b",
            address="b",
            display_name="Bob",
            tags=[],
            extra={},
        ),
        Customer(
            id=3,
            channel="telegram",
            external_id="c",
            address="c",
            display_name="Cleo",
            tags=["vip", "b2b"],
            extra={},
        ),
        # previous period
        conversation(
            8,
            2,
            "02-20 10:00",
            primary_intent="payment_failed",
            handoff_reason="customer_request",
            agent_id=1,
            resolution="human",
            resolved_at=at("02-20 10:20"),
            ended_at=at("02-20 10:20"),
        ),
        conversation(
            7,
            2,
            "03-01 22:30",
            primary_intent="order_status",
            resolution="bot_confirmed",
            resolved_at=at("03-01 22:40"),
        ),
        # current period
        conversation(
            1,
            1,
            "03-02 10:00",
            primary_intent="order_status",
            resolution="bot_confirmed",
            resolved_at=at("03-02 10:05"),
            ended_at=at("03-02 10:05"),
        ),
        conversation(
            2,
            2,
            "03-03 09:00",
            primary_intent="refund_status",
            handoff_reason="customer_request",
            agent_id=1,
            resolution="human",
            resolved_at=at("03-03 09:30"),
            ended_at=at("03-03 09:30"),
        ),
        conversation(
            3,
            2,
            "03-05 12:00",
            primary_intent="refund_status",
            handoff_reason="negative_mood",
            agent_id=2,
            resolution="human",
            resolved_at=at("03-05 13:00"),
            reopened_count=1,
            channel="console",
        ),
        conversation(
            4,
            3,
            "03-09 23:30",
            primary_intent="order_status",
            resolution="bot_assumed",
            resolved_at=at("03-10 00:00"),
        ),
        conversation(
            5,
            3,
            "03-15 22:59",
            primary_intent=None,
            handoff_reason="vip",
            resolution="abandoned",
            status="closed_inactive",
            ended_at=at("03-16 00:30"),
        ),
        # after the period (00:30 on 16 March in Berlin)
        conversation(6, 1, "03-15 23:30", primary_intent="order_status"),
        Handoff(
            conversation_id=8,
            reason="customer_request",
            status="resolved",
            requested_at=at("02-20 10:01"),
            first_human_reply_at=at("02-20 10:04"),
            resolved_at=at("02-20 10:20"),
            agent_id=1,
        ),
        Handoff(
            conversation_id=2,
            reason="customer_request",
            status="resolved",
            requested_at=at("03-03 09:02"),
            first_human_reply_at=at("03-03 09:10"),
            resolved_at=at("03-03 09:30"),
            agent_id=1,
        ),
        Handoff(
            conversation_id=3,
            reason="negative_mood",
            status="resolved",
            requested_at=at("03-05 12:01"),
            first_human_reply_at=at("03-05 12:31"),
            resolved_at=at("03-05 13:00"),
            agent_id=2,
        ),
        Handoff(
            conversation_id=5,
            reason="vip",
            status="closed",
            priority=True,
            requested_at=at("03-15 23:00"),
            ended_at=at("03-16 00:30"),
        ),
        survey(8, 2, "answered", 5, agent=1),
        survey(7, 2, "answered", 4),
        survey(1, 1, "answered", 5),
        survey(2, 2, "answered", 2, "slow", agent=1),
        survey(3, 2, "expired", agent=2),
        survey(4, 3, "unreachable", sent=None),
    )
