"""Realistic synthetic touchpoints for demos and benchmarks (``carebot seed``).

Distributions follow what PRODUCT.md expects of a small shop: about 30% of
conversations handed off (sensitive intents far more often), CSAT answered by about a
third of those asked and skewed high, six agents of uneven speed and quality, a few VIP
customers, repeat contacts, reopenings and abandoned handoffs. Rows go in with bulk
inserts of a few thousand at a time (COPY on PostgreSQL), so a million conversations
take minutes, not hours.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Table, func, select

from storage import facts, rollup_tables, rollups
from storage.db import Database
from storage.models import Agent, Base, Conversation, Customer, Handoff, Survey

INTENTS = {  # shop domain intent → (weight, handoff probability)
    "order_status": (18, 0.12),
    "delivery_problem": (9, 0.35),
    "damaged_item": (4, 0.55),
    "wrong_item": (3, 0.5),
    "return_item": (8, 0.2),
    "refund_status": (9, 0.3),
    "refund_dispute": (2, 0.9),
    "cancel_order": (5, 0.3),
    "cancel_subscription": (3, 0.9),
    "manage_subscription": (2, 0.15),
    "change_address": (4, 0.2),
    "modify_order": (3, 0.25),
    "payment_failed": (4, 0.3),
    "payment_methods": (3, 0.05),
    "charged_twice": (2, 0.95),
    "unauthorised_payment": (1, 0.95),
    "invoice": (3, 0.1),
    "login_problem": (4, 0.3),
    "delete_data": (1, 0.9),
    "complaint": (3, 0.8),
    "product_question": (6, 0.15),
    "shipping_info": (5, 0.05),
    "discount_code": (3, 0.1),
}
REASONS = {
    "customer_request": 40,
    "not_understood": 20,
    "negative_mood": 15,
    "sensitive_intent": 15,
    "long_conversation": 5,
    "vip": 5,
}
AGENTS = [
    ("Maria Lopez", 1.0, 0.3),
    ("Sam Okafor", 0.7, 0.1),
    ("Li Wei", 1.4, 0.0),
    ("Ana Costa", 1.0, -0.2),
    ("Tom Berg", 2.2, -0.4),
    ("Priya Nair", 0.8, 0.2),
]
COMMENTS = [
    "took too long",
    "still no refund",
    "the bot did not understand me",
    "had to repeat myself",
    "nobody answered",
    "wrong information",
    None,
    None,
]
BATCH = 20_000


@dataclass
class SeedStats:
    """What was inserted."""

    customers: int = 0
    conversations: int = 0
    handoffs: int = 0
    surveys: int = 0


def _score(rng: random.Random, shift: float) -> int:
    weights = [0.05, 0.05, 0.1, 0.3, 0.5]
    value = rng.choices(range(1, 6), weights)[0] + shift + rng.gauss(0, 0.3)
    return max(1, min(5, round(value)))


def _row_for(
    rng: random.Random, cid: int, customer: int, vip: bool, start: datetime, previous: int | None
) -> tuple[dict[str, Any], dict[str, Any] | None, dict[str, Any] | None]:
    intent = rng.choices(list(INTENTS), [w for w, _ in INTENTS.values()])[0]
    handoff_p = INTENTS[intent][1] + (0.3 if vip else 0.0)
    mood = rng.choices(["neutral", "negative", "positive"], [70, 20, 10])[0]
    row: dict[str, Any] = dict(
        id=cid,
        customer_id=customer,
        channel="telegram" if rng.random() < 0.85 else "console",
        started_at=start,
        primary_intent=intent,
        last_intent=intent,
        mood=mood,
        handoff_reason=None,
        agent_id=None,
        resolution=None,
        resolved_at=None,
        ended_at=None,
        reopened_count=0,
        previous_id=previous,
        customer_turns=rng.randint(1, 9),
        answered=True,
        introduced=True,
        status="closed_inactive",
    )
    handoff = None
    shift = -0.6 if mood == "negative" else 0.0
    if rng.random() < handoff_p:
        reason = (
            "vip"
            if vip and rng.random() < 0.5
            else rng.choices(list(REASONS), list(REASONS.values()))[0]
        )
        requested = start + timedelta(minutes=rng.uniform(0.5, 6))
        row["handoff_reason"] = reason
        handoff = dict(
            conversation_id=cid,
            reason=reason,
            priority=vip,
            requested_at=requested,
            status="closed",
            agent_id=None,
            claimed_at=None,
            first_human_reply_at=None,
            resolved_at=None,
            ended_at=None,
        )
        if rng.random() < 0.07:
            ended = requested + timedelta(minutes=rng.uniform(30, 90))
            row.update(resolution="abandoned", ended_at=ended)
            handoff["ended_at"] = ended
        else:
            agent = rng.randrange(len(AGENTS))
            speed, quality = AGENTS[agent][1], AGENTS[agent][2]
            wait = timedelta(minutes=speed * math.exp(rng.gauss(1.6, 0.8)))
            done = requested + wait + timedelta(minutes=rng.uniform(3, 60))
            handoff.update(
                status="resolved",
                agent_id=agent + 1,
                claimed_at=requested + wait * 0.8,
                first_human_reply_at=requested + wait,
                resolved_at=done,
                ended_at=done,
            )
            row.update(
                resolution="human",
                agent_id=agent + 1,
                resolved_at=done,
                ended_at=done,
                status="resolved",
            )
            shift += quality - (0.5 if wait > timedelta(minutes=30) else 0.0)
    else:
        outcome = rng.choices(["bot_confirmed", "bot_assumed", None], [45, 35, 20])[0]
        end = start + timedelta(minutes=rng.uniform(1, 8))
        row.update(
            resolution=outcome,
            ended_at=end + timedelta(hours=24) if outcome != ("bot_confirmed") else end,
        )
        if outcome:
            row.update(resolved_at=end, status="resolved")
            shift += 0.0 if outcome == "bot_confirmed" else -0.3
    if row["resolved_at"] is not None and rng.random() < 0.04:
        row["reopened_count"] = 1
    row["last_activity_at"] = row["ended_at"] or start
    survey = None
    if row["resolved_at"] is not None and rng.random() < 0.9:
        sent = row["resolved_at"] + timedelta(minutes=10)
        survey = dict(
            conversation_id=cid,
            customer_id=customer,
            agent_id=row["agent_id"],
            status="sent",
            created_at=row["resolved_at"],
            scheduled_for=sent,
            sent_at=sent,
            expires_at=sent + timedelta(days=7),
            score=None,
            comment=None,
            answered_at=None,
        )
        roll = rng.random()
        if roll < 0.03:
            survey.update(status="unreachable", sent_at=None)
        elif roll < 0.38:
            score = _score(rng, shift)
            survey.update(
                status="answered",
                score=score,
                answered_at=sent + timedelta(minutes=rng.uniform(1, 300)),
                comment=rng.choice(COMMENTS) if score <= 2 else None,
            )
        else:
            survey["status"] = "expired"
    return row, handoff, survey


def generate(
    conversations: int,
    weeks: int,
    seed: int,
    end: datetime,
) -> Iterator[tuple[dict[str, Any], dict[str, Any] | None, dict[str, Any] | None]]:
    """Conversations in start order, each with its handoff and survey (or None)."""
    rng = random.Random(seed)
    customers = max(1, conversations // 4)
    span = weeks * 7 * 86400
    starts = sorted(rng.random() for _ in range(conversations))
    last: dict[int, int] = {}
    for index, fraction in enumerate(starts):
        customer = (
            min(customers, int(rng.paretovariate(1.2)))
            if rng.random() < 0.3
            else (rng.randint(1, customers))
        )
        start = end - timedelta(seconds=span * (1 - fraction))
        yield _row_for(rng, index + 1, customer, customer % 20 == 0, start, last.get(customer))
        last[customer] = index + 1


def _customers(count: int, start: datetime) -> Iterator[dict[str, Any]]:
    for cid in range(1, count + 1):
        tags = ["vip"] if cid % 20 == 0 else (["b2b"] if cid % 33 == 0 else [])
        yield dict(
            id=cid,
            channel="telegram",
            external_id=f"seed-{cid}",
            address=f"seed-{cid}",
            display_name=f"Customer {cid}",
            first_name="Customer",
            language="en",
            tags=tags,
            first_seen_at=start,
            last_seen_at=start,
            unreachable=False,
            extra={},
        )


async def _copy(db: Database, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert a batch: COPY on PostgreSQL, executemany elsewhere."""
    if not rows:
        return
    defaults = {
        column.name: column.default.arg  # type: ignore[attr-defined]
        for column in table.columns
        if column.default is not None and not callable(column.default.arg)  # type: ignore[attr-defined]
    }
    full = [{**defaults, **row} for row in rows]
    async with db.engine.begin() as connection:
        if db.is_postgres:
            import json

            raw = (await connection.get_raw_connection()).driver_connection
            names = [c.name for c in table.columns if c.name in full[0]]
            json_columns = {c.name for c in table.columns if c.type.__class__.__name__ == "JSON"}
            records = [
                tuple(json.dumps(r[n]) if n in json_columns else r[n] for n in names) for r in full
            ]
            await raw.copy_records_to_table(table.name, records=records, columns=names)  # type: ignore[union-attr,attr-defined]
        else:
            await connection.execute(table.insert(), full)


async def seed_database(
    db: Database,
    conversations: int,
    *,
    weeks: int = 12,
    seed: int = 1,
    end: datetime | None = None,
    progress: Callable[[int], None] | None = None,
) -> SeedStats:
    """Fill an empty, migrated database; ``progress(n)`` is called after each batch."""
    async with db.engine.connect() as connection:
        if (await connection.execute(select(func.count()).select_from(Conversation))).scalar():
            raise ValueError("the database already has conversations; seed an empty one")
    end = end or datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    stats = SeedStats(customers=max(1, conversations // 4))
    tables = Base.metadata.tables
    first = end - timedelta(weeks=weeks)
    await _copy(
        db,
        Agent.__table__,  # type: ignore[arg-type]
        [
            dict(id=i + 1, platform="slack", external_id=f"U-seed-{i + 1}", display_name=name)
            for i, (name, _, _) in enumerate(AGENTS)
        ],
    )
    batch: list[dict[str, Any]] = []
    for row in _customers(stats.customers, first):
        batch.append(row)
        if len(batch) >= BATCH:
            await _copy(db, tables["customers"], batch)
            batch = []
    await _copy(db, tables["customers"], batch)
    # The next-contact triggers (storage.facts) cost an index probe per inserted row;
    # for a bulk load, drop them and recompute the column once, set-based, at the end.
    async with db.engine.begin() as connection:
        await connection.run_sync(facts.uninstall)
        saved_triggers = await rollups.suspend_triggers(connection)
    rows: list[dict[str, Any]] = []
    handoffs: list[dict[str, Any]] = []
    surveys: list[dict[str, Any]] = []
    for conversation, handoff, survey in generate(conversations, weeks, seed, end):
        rows.append(conversation)
        if handoff:
            handoffs.append(handoff)
        if survey:
            surveys.append(survey)
        if len(rows) >= BATCH:
            await _flush(db, rows, handoffs, surveys, stats, progress)
            rows, handoffs, surveys = [], [], []
    await _flush(db, rows, handoffs, surveys, stats, progress)
    async with db.engine.begin() as connection:
        await connection.run_sync(facts.backfill)
        await connection.run_sync(facts.install)
    # Likewise the rollups: one set-based count of every hour once the rows are in.
    async with db.engine.begin() as connection:
        await rollups.restore_triggers(connection, saved_triggers)
        await rollups.mark_everything(connection)
        await rollups.refresh(connection, *await rollups.stored_settings(connection))
    if db.is_postgres:
        async with db.engine.begin() as connection:
            for name in ("customers", "conversations", "agents"):
                await connection.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                    f"(SELECT max(id) FROM {name}))"
                )
        # A bulk load leaves no page marked all-visible, so index-only scans would still
        # read the table until autovacuum comes by; VACUUM (outside a transaction) sets
        # the visibility map and ANALYZE the statistics now.
        async with db.engine.connect() as connection:
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            loaded = [*Base.metadata.tables, *rollup_tables.metadata.tables]
            await connection.exec_driver_sql(f"VACUUM ANALYZE {', '.join(loaded)}")
    else:  # committed: on SQLite every connection opens a write transaction
        async with db.engine.begin() as connection:
            await connection.exec_driver_sql("ANALYZE")
    return stats


async def _flush(
    db: Database,
    rows: list[dict[str, Any]],
    handoffs: list[dict[str, Any]],
    surveys: list[dict[str, Any]],
    stats: SeedStats,
    progress: Callable[[int], None] | None,
) -> None:
    tables = Base.metadata.tables
    await _copy(db, tables["conversations"], [{"moods": [], "context": {}, **r} for r in rows])
    await _copy(db, tables["handoffs"], handoffs)
    await _copy(db, tables["surveys"], surveys)
    stats.conversations += len(rows)
    stats.handoffs += len(handoffs)
    stats.surveys += len(surveys)
    if progress:
        progress(len(rows))


__all__ = ["SeedStats", "generate", "seed_database"]
_ = (Customer, Handoff, Survey)
