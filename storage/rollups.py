"""Keeping the report rollups exact: recount the hours the triggers marked dirty.

Database triggers (migration 0004) only note the UTC hour of every conversation whose
report facts changed, whoever wrote it. :func:`refresh` claims those notes and recounts
each marked hour from the live tables with the very expressions the live report uses
(:mod:`storage.report_queries`), so a rollup row always equals the live sum of its hour.
It runs at the start of every report and after migrations; hot-path writes stay one tiny
insert (or, usually, none: the hour is already marked).

Claim first, recount after: on PostgreSQL a writer share-locks the hour's note, so the
claiming ``DELETE`` waits for writers still in flight and the recount (a later statement,
a fresh snapshot under READ COMMITTED) sees their rows; a writer that comes later finds
no note and leaves a new one for the next refresh.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    String,
    and_,
    case,
    cast,
    delete,
    func,
    insert,
    literal,
    literal_column,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.db import Database
from storage.models import Conversation, Handoff, Survey
from storage.report_lists import is_low_rating
from storage.report_queries import (
    NO_INTENT,
    NO_REASON,
    Window,
    conversation_sums,
    handoff_target,
)
from storage.report_sql import seconds_between, utc
from storage.rollup_tables import (
    COUNT_FIELDS,
    FIRST_RESPONSE,
    RESOLUTION,
    bucket_of,
    dirty,
    durations,
    histogram,
    low_ratings,
    rollup,
    rollup_days,
    rollup_settings,
    slot_of,
    slot_start,
)

_LOCK = 742_163_903  # advisory-lock namespace (storage.migrate 742_163_901, facts …902)
_TRIGGER_PREFIX = "trg_report_dirty_"
_BRIDGE_HOURS = 48
HANDOFF_FIELDS = ("handoffs", "handoffs_answered", "sla_met", "sla_breached")


def _dimension_values() -> dict[str, ColumnElement[Any]]:
    c = Conversation
    return {
        "reason": c.handoff_reason.expression,
        "intent": func.coalesce(c.primary_intent, NO_INTENT),
        "agent": cast(func.coalesce(c.agent_id, 0), String),
        "channel": c.channel.expression,
    }


def _window(sqlite: bool, sla_seconds: float, vip_sla_seconds: float) -> Window:
    """A window carrying only what the sums need (engine, SLA targets, 7-day repeats)."""
    now = datetime.now(UTC)
    return Window(sqlite, now, now, now, [], [], now, sla_seconds, vip_sla_seconds)


def _settled_handoff_sums(window: Window) -> list[ColumnElement[Any]]:
    """Handoff sums that do not depend on "now": waits that already ended."""
    h = Handoff
    settled_at = func.coalesce(h.first_human_reply_at, h.ended_at)
    elapsed = seconds_between(h.requested_at, settled_at, window.sqlite)
    target = handoff_target(window)

    def one(condition: ColumnElement[bool]) -> ColumnElement[Any]:
        return func.sum(case((condition, 1), else_=0))

    return [
        func.count(),
        one(h.first_human_reply_at.is_not(None)),
        one(and_(h.first_human_reply_at.is_not(None), elapsed <= target)),
        one(and_(settled_at.is_not(None), elapsed > target)),
    ]


def runs(values: Iterable[int], bridge: int = 0) -> list[tuple[int, int]]:
    """Sorted integers as inclusive ``(first, last)`` runs of consecutive values; a run
    also spans gaps of up to ``bridge`` missing values."""
    result: list[tuple[int, int]] = []
    for value in sorted(set(values)):
        if result and value <= result[-1][1] + 1 + bridge:
            result[-1] = (result[-1][0], value)
        else:
            result.append((value, value))
    return result


async def _recount(connection: AsyncConnection, first: int, last: int, window: Window) -> None:
    """Rebuild the rollup, low-rating and duration rows of slots ``first..last``."""
    c, s, h = Conversation, Survey, Handoff
    sqlite = window.sqlite
    in_range = and_(
        c.started_at >= utc(slot_start(first)), c.started_at < utc(slot_start(last + 1))
    )
    slot = slot_of("conversations.started_at", sqlite)
    await connection.execute(delete(rollup).where(rollup.c.slot.between(first, last)))
    sums = conversation_sums(window)
    names = [str(column.key) for column in sums]
    for dim, value in _dimension_values().items():
        counted = (
            select(slot, literal(dim), value, *sums)
            .select_from(c)
            .outerjoin(s, s.conversation_id == c.id)
            .where(in_range)
            .group_by(slot, value)
        )
        await connection.execute(
            insert(rollup).from_select(["slot", "dim", "value", *names], counted)
        )
        waited = (
            select(slot, literal(dim), value, *_settled_handoff_sums(window))
            .select_from(h)
            .join(c, c.id == h.conversation_id)
            .where(in_range)
            .group_by(slot, value)
        )
        await connection.execute(
            insert(rollup).from_select(["slot", "dim", "value", *HANDOFF_FIELDS], waited)
        )
    await connection.execute(delete(low_ratings).where(low_ratings.c.slot.between(first, last)))
    low = (
        select(slot, c.customer_id, func.count())
        .select_from(c)
        .join(s, s.conversation_id == c.id)
        .where(in_range, is_low_rating())
        .group_by(slot, c.customer_id)
    )
    await connection.execute(insert(low_ratings).from_select(["slot", "customer_id", "n"], low))
    await connection.execute(delete(durations).where(durations.c.slot.between(first, last)))
    keys: list[ColumnElement[Any]] = [
        func.coalesce(c.primary_intent, NO_INTENT),
        func.coalesce(c.agent_id, 0),
        func.coalesce(c.handoff_reason, NO_REASON),
        c.channel.expression,
    ]
    response = seconds_between(h.requested_at, h.first_human_reply_at, sqlite)
    resolution = seconds_between(c.started_at, c.resolved_at, sqlite)
    sources = [
        (
            FIRST_RESPONSE,
            select(slot.label("slot"), c.started_at, *keys, response.label("seconds"))
            .select_from(h)
            .join(c, c.id == h.conversation_id)
            .where(in_range, response.is_not(None)),
        ),
        (
            RESOLUTION,
            select(slot.label("slot"), c.started_at, *keys, resolution.label("seconds"))
            .select_from(c)
            .where(in_range, resolution.is_not(None)),
        ),
    ]
    columns = ["slot", "metric", "started_at", "intent", "agent", "reason", "channel"]
    for metric, source in sources:
        rows = source.subquery()
        picked = select(
            rows.c.slot,
            literal(metric),
            *(rows.c[index] for index in range(1, 6)),
            rows.c.seconds,
            bucket_of(rows.c.seconds),
        )
        await connection.execute(
            insert(durations).from_select([*columns, "seconds", "bucket"], picked)
        )


async def _resum_days(connection: AsyncConnection, first: int, last: int) -> None:
    """Rebuild the daily rollup rows of UTC days ``first..last`` from their hourly rows."""
    r = rollup.c
    await connection.execute(delete(rollup_days).where(rollup_days.c.day.between(first, last)))
    day = literal_column("report_rollup.slot / 24", rollup_days.c.day.type)
    summed = (
        select(day, r.dim, r.value, *(func.sum(r[name]) for name in COUNT_FIELDS))
        .where(r.slot >= first * 24, r.slot < (last + 1) * 24)
        .group_by(day, r.dim, r.value)
    )
    await connection.execute(
        insert(rollup_days).from_select(["day", "dim", "value", *COUNT_FIELDS], summed)
    )


async def _rebin(connection: AsyncConnection, first: int, last: int) -> None:
    """Rebuild the duration histograms of UTC days ``first..last``."""
    d = durations.c
    await connection.execute(delete(histogram).where(histogram.c.day.between(first, last)))
    day = literal_column("report_durations.slot / 24", histogram.c.day.type)
    in_days = and_(d.slot >= first * 24, d.slot < (last + 1) * 24)
    values: dict[str, ColumnElement[Any]] = {
        "all": literal("", String),
        "intent": d.intent,
        "agent": cast(d.agent, String),
        "channel": d.channel,
        "reason": d.reason,
    }
    for dim, value in values.items():
        grouped = (
            select(day, d.metric, literal(dim), value, d.bucket, func.count())
            .where(in_days)
            .group_by(day, d.metric, value, d.bucket)
        )
        await connection.execute(
            insert(histogram).from_select(["day", "metric", "dim", "value", "bucket", "n"], grouped)
        )


async def refresh(connection: AsyncConnection, sla_seconds: float, vip_sla_seconds: float) -> int:
    """Recount every dirty hour (inside the caller's transaction); returns how many.

    When the SLA targets differ from those the rollup was counted with, every hour is
    recounted with the new ones.
    """
    sqlite = connection.dialect.name == "sqlite"
    if not sqlite:
        await connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK})
    stored = (
        await connection.execute(
            select(rollup_settings.c.sla_seconds, rollup_settings.c.vip_sla_seconds)
        )
    ).one()
    if (float(stored[0]), float(stored[1])) != (float(sla_seconds), float(vip_sla_seconds)):
        await connection.execute(
            update(rollup_settings).values(sla_seconds=sla_seconds, vip_sla_seconds=vip_sla_seconds)
        )
        await mark_everything(connection)
    claimed = await connection.execute(delete(dirty).returning(dirty.c.slot))
    slots = {int(row[0]) for row in claimed}
    window = _window(sqlite, sla_seconds, vip_sla_seconds)
    # Recounting an hour nobody changed rewrites the same rows, and one statement over
    # a day of hours costs about what one over a single hour does: bridging short gaps
    # turns a full rebuild (a migration, a bulk load) into a few hundred statements.
    for first, last in runs(slots, bridge=_BRIDGE_HOURS):
        await _recount(connection, first, last, window)
    for first, last in runs((slot // 24 for slot in slots), bridge=_BRIDGE_HOURS // 24):
        await _resum_days(connection, first, last)
        await _rebin(connection, first, last)
    return len(slots)


async def mark_everything(connection: AsyncConnection) -> None:
    """Mark every hour that has a conversation dirty (a full rebuild on the next refresh)."""
    slot = slot_of("conversations.started_at", connection.dialect.name == "sqlite")
    await connection.execute(
        insert(dirty).from_select(["slot"], select(slot).select_from(Conversation).distinct())
    )


async def refresh_database(db: Database, sla_seconds: float, vip_sla_seconds: float) -> int:
    """:func:`refresh` in a transaction of its own, committed."""
    async with db.engine.begin() as connection:
        return await refresh(connection, sla_seconds, vip_sla_seconds)


async def stored_settings(connection: AsyncConnection) -> tuple[float, float]:
    """The SLA targets the rollup holds."""
    row = (
        await connection.execute(
            select(rollup_settings.c.sla_seconds, rollup_settings.c.vip_sla_seconds)
        )
    ).one()
    return float(row[0]), float(row[1])


async def installed(connection: AsyncConnection) -> bool:
    """Whether the rollup tables exist (a database migrated to 0004 or later)."""
    return bool(
        await connection.run_sync(
            lambda sync: sync.dialect.has_table(sync, "report_rollup_settings")
        )
    )


async def dirty_between(connection: AsyncConnection, first: int, last: int) -> bool:
    """Whether any slot in ``first..last`` is marked dirty in this snapshot."""
    query = select(literal(1)).where(dirty.c.slot.between(first, last)).limit(1)
    return (await connection.execute(query)).first() is not None


async def suspend_triggers(connection: AsyncConnection) -> list[str]:
    """Drop the dirty-marking triggers (bulk loads); returns what :func:`restore_triggers` needs."""
    if connection.dialect.name == "sqlite":
        rows = (
            await connection.execute(
                text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE :p"),
                {"p": _TRIGGER_PREFIX + "%"},
            )
        ).all()
        for name, _ in rows:
            await connection.exec_driver_sql(f"DROP TRIGGER {name}")
        return [str(sql) for _, sql in rows]
    rows = (
        await connection.execute(
            text(
                "SELECT t.tgname, c.relname, pg_get_triggerdef(t.oid) FROM pg_trigger t "
                "JOIN pg_class c ON c.oid = t.tgrelid "
                "WHERE t.tgname LIKE :p AND c.relnamespace = current_schema()::regnamespace"
            ),
            {"p": _TRIGGER_PREFIX + "%"},
        )
    ).all()
    for name, table, _ in rows:
        await connection.exec_driver_sql(f'DROP TRIGGER {name} ON "{table}"')
    return [str(sql) for _, _, sql in rows]


async def restore_triggers(connection: AsyncConnection, saved: Sequence[str]) -> None:
    """Recreate triggers saved by :func:`suspend_triggers`."""
    for sql in saved:
        await connection.exec_driver_sql(sql)


__all__ = [
    "dirty_between",
    "installed",
    "mark_everything",
    "refresh",
    "refresh_database",
    "restore_triggers",
    "runs",
    "stored_settings",
    "suspend_triggers",
]
