"""The report's numbers read from the rollups, with the same shape and values as live.

Counts: every whole UTC hour of the two periods comes from ``report_rollup``; an hour
that a period, trend or day boundary cuts (a time zone that is not a whole number of
hours from UTC) is counted live, as are the SLA breaches of handoffs still waiting (they
depend on "now"). Percentiles: the daily histograms (live counts for the cut days at
the period edges) give each group's size and the bucket holding each wanted rank; the
exact value is then read from the stored durations of that one bucket, by index.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    bindparam,
    case,
    func,
    literal,
    not_,
    or_,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import aliased

from storage.models import Conversation, Handoff
from storage.models._base import UTCDateTime
from storage.report_queries import (
    Window,
    cube,
    cube_dimensions,
    handoff_target,
    handoff_wait,
)
from storage.report_sql import utc
from storage.rollup_tables import (
    COUNT_FIELDS,
    FIRST_RESPONSE,
    RESOLUTION,
    days,
    durations,
    histogram,
    hours,
    rollup,
    slot_start,
)

ROLLUP_KEYS = ("intent", "agent", "channel")
FAST_KEYS = ("intent", "agent", "channel", "reason", "day", "week")
PERCENTILE_KEYS = ("intent", "agent", "channel", "reason")
Rows = list[dict[str, object]]
Table = dict[tuple[object, ...], tuple[int, float | None, float | None]]


def _ceil_slot(moment: datetime) -> int:
    slot, exact = hours(moment)
    return slot if exact else slot + 1


def _slot_index(slot: Any, starts: Sequence[datetime]) -> ColumnElement[Any]:
    """:func:`storage.report_sql.bucket_index` for whole slots (cut slots are excluded)."""
    if len(starts) <= 1:
        return literal(0)
    whens = [(slot < _ceil_slot(boundary), index) for index, boundary in enumerate(starts[1:])]
    whens.insert(0, (slot < _ceil_slot(starts[0]), -1))
    return case(*whens, else_=len(starts) - 1)


def slot_range(window: Window) -> tuple[int, int]:
    """First and last slot touching the two periods."""
    last, exact = hours(window.until)
    return hours(window.previous_since)[0], last - 1 if exact else last


def _cut_slots(window: Window, keys: Sequence[str]) -> list[int]:
    boundaries = [window.previous_since, window.since, window.until, *window.bucket_starts]
    if "day" in keys:
        boundaries += list(window.day_starts)
    return sorted({hours(moment)[0] for moment in boundaries if not hours(moment)[1]})


def _in_slots(slots: Sequence[int]) -> ColumnElement[bool]:
    started = Conversation.started_at
    return or_(
        *(
            and_(started >= utc(slot_start(slot)), started < utc(slot_start(slot + 1)))
            for slot in slots
        )
    )


async def fast_cube(
    connection: AsyncConnection, window: Window, keys: Sequence[str]
) -> tuple[Rows, dict[str, Rows]]:
    """Rows for the overall numbers and trend, and rows per breakdown key.

    The first list has ``d_period``, ``d_bucket``, ``d_reason`` (and ``d_day`` when asked);
    each per-key list has ``d_period`` and ``d_<key>``. Rows of the cut hours and of
    waiting handoffs carry every column and go into every list.
    """
    r = rollup.c
    first, last = (_ceil_slot(window.previous_since), hours(window.until)[0] - 1)
    cut = _cut_slots(window, keys)
    whole = and_(r.slot >= first, r.slot <= last, r.slot.not_in(cut) if cut else literal(True))
    period = case((r.slot >= _ceil_slot(window.since), 0), else_=1)
    sums = [func.sum(getattr(r, name)).label(name) for name in COUNT_FIELDS]
    groups: list[ColumnElement[Any]] = [
        period.label("d_period"),
        _slot_index(r.slot, window.bucket_starts).label("d_bucket"),
        r.value.label("d_reason"),
    ]
    if "day" in keys:
        groups.append(_slot_index(r.slot, window.day_starts).label("d_day"))
    base_query = select(*groups, *sums).where(r.dim == "reason", whole).group_by(*groups)
    base = [dict(row) for row in (await connection.execute(base_query)).mappings()]
    by_key: dict[str, Rows] = {}
    for key in keys:
        if key not in ROLLUP_KEYS:
            continue
        labelled = [period.label("d_period"), r.value.label(f"d_{key}")]
        query = select(*labelled, *sums).where(r.dim == key, whole).group_by(*labelled)
        rows = [dict(row) for row in (await connection.execute(query)).mappings()]
        if key == "agent":
            for row in rows:
                row["d_agent"] = int(str(row["d_agent"]))
        by_key[key] = rows
    live: Rows = []
    if cut:
        conversations, handoffs = await cube(connection, window, keys, only=_in_slots(cut))
        live = conversations + handoffs
    live += await _waiting_handoffs(connection, window, keys, cut)
    for rows in by_key.values():
        rows.extend(live)
    return base + live, by_key


async def _waiting_handoffs(
    connection: AsyncConnection, window: Window, keys: Sequence[str], cut: Sequence[int]
) -> Rows:
    """SLA breaches of handoffs with no human reply and no end yet (they depend on now)."""
    h, waiting = Handoff, aliased(Handoff)
    dimensions = cube_dimensions(window, keys)
    labelled = [expression.label(f"d_{name}") for name, expression in dimensions.items()]
    breached = func.sum(case((handoff_wait(window) > handoff_target(window), 1), else_=0))
    # The IN repeats the join's condition so that SQLite starts from the few waiting
    # handoffs (partial index ix_handoffs_open) instead of the periods' conversations.
    open_ids = select(waiting.conversation_id).where(
        waiting.first_human_reply_at.is_(None), waiting.ended_at.is_(None)
    )
    query = (
        select(*labelled, breached.label("sla_breached"))
        .select_from(h)
        .join(Conversation, Conversation.id == h.conversation_id)
        .where(h.first_human_reply_at.is_(None), h.ended_at.is_(None), window.both_periods)
        .where(Conversation.id.in_(open_ids))
        .group_by(*labelled)
    )
    if cut:
        query = query.where(not_(_in_slots(cut)))
    return [dict(row) for row in (await connection.execute(query)).mappings()]


def _rank_positions(n: int, postgres: bool) -> list[tuple[int, int, float]]:
    """For the median and p90: (lower rank, upper rank, weight), as each engine computes."""
    positions = []
    for numerator, denominator in ((1, 2), (9, 10)):
        if postgres:  # percentile_cont: floor/ceil of fraction·(n − 1), then lo + w·(hi − lo)
            position = (numerator / denominator) * (n - 1)
            low, high = math.floor(position), math.ceil(position)
            positions.append((low, high, position - low))
        else:  # storage.report_sql.percentiles_select: exact integer ranks
            scaled = (n - 1) * numerator
            low, remainder = divmod(scaled, denominator)
            positions.append((low, low + (1 if remainder else 0), remainder / denominator))
    return positions


def _interpolate(low: float, high: float, weight: float, same: bool, postgres: bool) -> float:
    if postgres:
        return low if same else low + weight * (high - low)
    return low + (high - low) * weight


def _cut_parts(
    since: datetime, until: datetime
) -> tuple[int, int, list[tuple[datetime, datetime]]]:
    """Whole UTC days ``[first, end)`` inside ``[since, until)``, and the cut parts left."""
    first, exact = days(since)
    first = first if exact else first + 1
    end = days(until)[0]
    if first >= end:
        return first, first, [(since, until)]
    parts = []
    if slot_start(first * 24) > since:
        parts.append((since, slot_start(first * 24)))
    if slot_start(end * 24) < until:
        parts.append((slot_start(end * 24), until))
    return first, end, parts


async def fast_percentiles(
    connection: AsyncConnection, window: Window, key: str | None, *, current_only: bool
) -> dict[str, Table]:
    """:func:`storage.report_queries.percentiles` from the histograms and stored durations."""
    postgres = connection.dialect.name == "postgresql"
    periods = [(0, window.since, window.until)]
    if not current_only:
        periods.append((1, window.previous_since, window.since))
    result: dict[str, Table] = {}
    for metric, name in ((FIRST_RESPONSE, "first_response"), (RESOLUTION, "resolution")):
        sizes = await _histograms(connection, metric, key, periods)
        result[name] = await _values(connection, metric, key, periods, sizes, postgres)
    return result


def _group_value(key: str | None, raw: object, period: int) -> object:
    if key is None:
        return period
    return int(str(raw)) if key == "agent" else raw


async def _histograms(
    connection: AsyncConnection,
    metric: int,
    key: str | None,
    periods: Sequence[tuple[int, datetime, datetime]],
) -> dict[tuple[int, object], dict[int, int]]:
    """``{(period, group value): {bucket: count}}``."""
    sizes: dict[tuple[int, object], dict[int, int]] = defaultdict(lambda: defaultdict(int))
    hist, d = histogram.c, durations.c
    for period, since, until in periods:
        first, end, parts = _cut_parts(since, until)
        if first < end:
            query = (
                select(hist.value, hist.bucket, func.sum(hist.n))
                .where(
                    hist.metric == metric,
                    hist.dim == (key or "all"),
                    hist.day >= first,
                    hist.day < end,
                )
                .group_by(hist.value, hist.bucket)
            )
            for raw, bucket, n in await connection.execute(query):
                sizes[(period, _group_value(key, raw, period))][int(bucket)] += int(n)
        for low, high in parts:
            column = d[key] if key else literal("")
            query = (
                select(column, d.bucket, func.count())
                .where(d.metric == metric, d.started_at >= utc(low), d.started_at < utc(high))
                .group_by(column, d.bucket)
            )
            for raw, bucket, n in await connection.execute(query):
                sizes[(period, _group_value(key, raw, period))][int(bucket)] += int(n)
    return sizes


def _locate(counts: dict[int, int], rank: int) -> tuple[int, int]:
    """The bucket holding the 0-based ``rank`` and the rank's offset inside it."""
    seen = 0
    for bucket in sorted(counts):
        if rank < seen + counts[bucket]:
            return bucket, rank - seen
        seen += counts[bucket]
    raise ValueError("rank beyond the histogram")


async def _values(
    connection: AsyncConnection,
    metric: int,
    key: str | None,
    periods: Sequence[tuple[int, datetime, datetime]],
    sizes: dict[tuple[int, object], dict[int, int]],
    postgres: bool,
) -> Table:
    # Written as plain SQL text: a few hundred tiny lookups, and compiling them as
    # SQLAlchemy constructs cost more than running them.
    params: dict[str, object] = {}
    types: dict[str, Any] = {}
    for period, since, until in periods:
        params[f"lo{period}"], params[f"hi{period}"] = since, until
        types[f"lo{period}"] = types[f"hi{period}"] = UTCDateTime()
    wanted: dict[tuple[tuple[int, object], int], int] = {}
    lookups: list[str] = []
    plans: dict[tuple[int, object], tuple[int, list[tuple[int, int, float]]]] = {}
    values: dict[object, str] = {}
    for group, counts in sizes.items():
        n = sum(counts.values())
        if not n:
            continue
        positions = _rank_positions(n, postgres)
        plans[group] = (n, positions)
        for low, high, _ in positions:
            for rank in (low, high):
                if (group, rank) in wanted:
                    continue
                bucket, offset = _locate(counts, rank)
                period, value = group
                match = ""
                if key is not None:
                    if value not in values:
                        values[value] = f"v{len(values)}"
                        params[values[value]] = value
                    match = f" AND {key} = :{values[value]}"
                wanted[(group, rank)] = len(lookups)
                lookups.append(
                    f"SELECT {len(lookups)} AS i, seconds FROM (SELECT seconds "
                    f"FROM report_durations WHERE metric = {int(metric)} "
                    f"AND bucket = {int(bucket)}{match} AND started_at >= :lo{period} "
                    f"AND started_at < :hi{period} ORDER BY seconds "
                    f"LIMIT 1 OFFSET {int(offset)}) AS r{len(lookups)}"
                )
    found: dict[int, float] = {}
    for start in range(0, len(lookups), 250):
        sql = " UNION ALL ".join(lookups[start : start + 250])
        used = {name: value for name, value in params.items() if f":{name} " in sql}
        query = text(sql).bindparams(
            *(bindparam(name, type_=kind) for name, kind in types.items() if name in used)
        )
        for index, seconds in await connection.execute(query, used):
            found[int(index)] = float(seconds)
    table: Table = {}
    for group, (n, positions) in plans.items():
        answers: list[float | None] = []
        for low, high, weight in positions:
            lo, hi = found[wanted[(group, low)]], found[wanted[(group, high)]]
            answers.append(_interpolate(lo, hi, weight, low == high, postgres))
        period, value = group
        table[(period,) if key is None else (value,)] = (n, answers[0], answers[1])
    return table


__all__ = ["FAST_KEYS", "PERCENTILE_KEYS", "fast_cube", "fast_percentiles", "slot_range"]
