"""The report's numbers read from the rollups, with the same shape and values as live.

Counts: every whole UTC hour of the two periods comes from ``report_rollup`` (whole days
that no period, trend bucket or day starts inside from ``report_rollup_days``); an hour
that a period, trend or day boundary cuts (a time zone that is not a whole number of
hours from UTC) is counted live, as are the SLA breaches of handoffs still waiting (they
depend on "now"). Percentiles: the daily histograms (live counts for the cut days at
the period edges) give each group's size and the bucket holding each wanted rank; the
exact value is then read from the stored durations of that one bucket, by index.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    Subquery,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal,
    not_,
    or_,
    select,
    text,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import aliased

from storage.models import Conversation, Handoff
from storage.models._base import UTCDateTime
from storage.report_lists import low_ratings_live
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
    low_ratings,
    rollup,
    rollup_days,
    slot_start,
)
from storage.rollups import runs

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


def _whole_days(
    first: int, last: int, cut: Sequence[int], splits: Sequence[int]
) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Runs of UTC days to read from the daily rows, and of slots to read hourly.

    Together they cover slots ``first..last`` but the ``cut`` ones. A day is read whole
    when all its hours are wanted and no group starts inside it (``splits``: the first
    slot of each period, trend bucket or day); its row then lands in one group, which its
    first slot decides.
    """
    skipped, starts = set(cut), set(splits)
    whole = [
        day
        for day in range(-(-first // 24), (last + 1) // 24)
        if not any(slot in skipped for slot in range(day * 24, day * 24 + 24))
        and not any(slot in starts for slot in range(day * 24 + 1, day * 24 + 24))
    ]
    covered = set(whole)
    hourly = [
        slot for slot in range(first, last + 1) if slot not in skipped and slot // 24 not in covered
    ]
    return runs(whole), runs(hourly)


def _rollup_rows(
    dim: str, days_wanted: list[tuple[int, int]], hours_wanted: list[tuple[int, int]]
) -> Subquery | None:
    """One dimension's rollup rows, daily where possible, as ``(slot, value, counts…)``."""
    r, d = rollup.c, rollup_days.c
    parts: list[Select[Any]] = []
    if hours_wanted:
        parts.append(
            select(
                r.slot.label("slot"), r.value.label("value"), *(r[n] for n in COUNT_FIELDS)
            ).where(r.dim == dim, or_(*(r.slot.between(a, b) for a, b in hours_wanted)))
        )
    if days_wanted:
        parts.append(
            select(
                (d.day * 24).label("slot"), d.value.label("value"), *(d[n] for n in COUNT_FIELDS)
            ).where(d.dim == dim, or_(*(d.day.between(a, b) for a, b in days_wanted)))
        )
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0].subquery()
    return union_all(*parts).subquery()


async def _summed(
    connection: AsyncConnection,
    dim: str,
    ranges: tuple[list[tuple[int, int]], list[tuple[int, int]]],
    groups: Callable[[Any], list[ColumnElement[Any]]],
    since: int,
    value_label: str,
) -> Rows:
    """One dimension's count sums per period, value and the ``groups`` of its slots."""
    source = _rollup_rows(dim, *ranges)
    if source is None:
        return []
    r = source.c
    keys = [
        case((r.slot >= since, 0), else_=1).label("d_period"),
        *groups(r.slot),
        r.value.label(value_label),
    ]
    sums = [func.sum(r[name]).label(name) for name in COUNT_FIELDS]
    query = select(*keys, *sums).group_by(*keys)
    return [dict(row) for row in (await connection.execute(query)).mappings()]


async def fast_cube(
    connection: AsyncConnection, window: Window, keys: Sequence[str]
) -> tuple[Rows, dict[str, Rows]]:
    """Rows for the overall numbers and trend, and rows per breakdown key.

    The first list has ``d_period``, ``d_bucket``, ``d_reason`` (and ``d_day`` when asked);
    each per-key list has ``d_period`` and ``d_<key>``. Rows of the cut hours and of
    waiting handoffs carry every column and go into every list.
    """
    first, last = (_ceil_slot(window.previous_since), hours(window.until)[0] - 1)
    cut = _cut_slots(window, keys)
    since = _ceil_slot(window.since)
    splits = [since, *(_ceil_slot(start) for start in window.bucket_starts)]
    if "day" in keys:
        splits += [_ceil_slot(start) for start in window.day_starts]
    base = await _summed(
        connection,
        "reason",
        _whole_days(first, last, cut, splits),
        lambda slot: [
            _slot_index(slot, window.bucket_starts).label("d_bucket"),
            *([_slot_index(slot, window.day_starts).label("d_day")] if "day" in keys else []),
        ],
        since,
        "d_reason",
    )
    by_key: dict[str, Rows] = {}
    key_ranges = _whole_days(first, last, cut, [since])
    for key in keys:
        if key not in ROLLUP_KEYS:
            continue
        rows = await _summed(connection, key, key_ranges, lambda _: [], since, f"d_{key}")
        if key == "agent":
            for row in rows:
                row["d_agent"] = int(str(row["d_agent"]))
        by_key[key] = rows
    live: Rows = []
    if cut:
        conversations, handoffs = await cube(connection, window, keys, only=_in_slots(cut))
        live = conversations + handoffs
    live += await _waiting_handoffs(connection, window, keys, cut)
    for key_rows in by_key.values():
        key_rows.extend(live)
    return base + live, by_key


async def fast_low_ratings(connection: AsyncConnection, window: Window) -> dict[Any, int]:
    """:func:`storage.report_lists.low_ratings_live` from ``report_low_ratings``: whole
    hours of the period from the rollup, an hour cut by its edges counted live."""
    low = low_ratings.c
    first, last = _ceil_slot(window.since), hours(window.until)[0] - 1
    lows: dict[Any, int] = defaultdict(int)
    if first <= last:
        query = (
            select(low.customer_id, func.sum(low.n))
            .where(low.slot.between(first, last))
            .group_by(low.customer_id)
        )
        for customer, n in (await connection.execute(query)).all():
            lows[customer] += int(n)
    edges = {hours(edge)[0] for edge in (window.since, window.until) if not hours(edge)[1]}
    if edges:
        for customer, n in (
            await low_ratings_live(connection, window, only=_in_slots(sorted(edges)))
        ).items():
            lows[customer] += n
    return dict(lows)


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
    """:func:`storage.report_queries.percentiles` from the histograms and stored durations.

    Two statements whatever the groups: every histogram count (both metrics, both
    periods, the cut days at their edges) in one, every wanted rank in the other.
    """
    postgres = connection.dialect.name == "postgresql"
    periods = [(0, window.since, window.until)]
    if not current_only:
        periods.append((1, window.previous_since, window.since))
    sizes = await _histograms(connection, key, periods)
    tables = await _values(connection, key, periods, sizes, postgres)
    return {
        name: tables.get(metric, {})
        for metric, name in ((FIRST_RESPONSE, "first_response"), (RESOLUTION, "resolution"))
    }


Group = tuple[int, int, object]  # (metric, period, group value)


def _group_value(key: str | None, raw: object, period: int) -> object:
    if key is None:
        return period
    return int(str(raw)) if key == "agent" else raw


async def _histograms(
    connection: AsyncConnection,
    key: str | None,
    periods: Sequence[tuple[int, datetime, datetime]],
) -> dict[Group, dict[int, int]]:
    """``{(metric, period, group value): {bucket: count}}``."""
    hist, d = histogram.c, durations.c
    metrics = (FIRST_RESPONSE, RESOLUTION)
    parts: list[Select[Any]] = []
    for period, since, until in periods:
        first, end, cut = _cut_parts(since, until)
        if first < end:
            parts.append(
                select(hist.metric, literal(period), hist.value, hist.bucket, func.sum(hist.n))
                .where(
                    hist.metric.in_(metrics),
                    hist.dim == (key or "all"),
                    hist.day >= first,
                    hist.day < end,
                )
                .group_by(hist.metric, hist.value, hist.bucket)
            )
        for low, high in cut:
            column = cast(d[key], String) if key else literal("", String)
            parts.append(
                select(d.metric, literal(period), column, d.bucket, func.count())
                .where(d.metric.in_(metrics), d.started_at >= utc(low), d.started_at < utc(high))
                .group_by(d.metric, column, d.bucket)
            )
    sizes: dict[Group, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    if not parts:
        return sizes
    # One row per group and bucket: the cut days' counts are added to the whole days' in
    # SQL, which more than halves the rows to bring back.
    rows = (parts[0] if len(parts) == 1 else union_all(*parts)).subquery()
    c = rows.c
    key_columns = [c[index] for index in range(4)]
    query = select(*key_columns, func.sum(c[4])).group_by(*key_columns)
    found: list[Any] = list((await connection.execute(query)).all())
    for metric, period, raw, bucket, n in found:
        group = (int(metric), int(period), _group_value(key, raw, int(period)))
        sizes[group][int(bucket)] += int(n)
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
    key: str | None,
    periods: Sequence[tuple[int, datetime, datetime]],
    sizes: dict[Group, dict[int, int]],
    postgres: bool,
) -> dict[int, Table]:
    # Written as plain SQL text: a few hundred tiny lookups, and compiling them as
    # SQLAlchemy constructs cost more than running them.
    params: dict[str, object] = {}
    types: dict[str, Any] = {}
    for period, since, until in periods:
        params[f"lo{period}"], params[f"hi{period}"] = since, until
        types[f"lo{period}"] = types[f"hi{period}"] = UTCDateTime()
    # (group, rank) → (lookup, which of its values); a lookup reads one or two
    # neighbouring ranks of one bucket (LIMIT 2 costs what LIMIT 1 does: the offset).
    wanted: dict[tuple[Group, int], tuple[int, int]] = {}
    lookups: list[str] = []
    plans: dict[Group, tuple[int, list[tuple[int, int, float]]]] = {}
    values: dict[object, str] = {}

    def lookup(group: Group, bucket: int, offset: int, count: int) -> int:
        metric, period, value = group
        match = ""
        if key is not None:
            if value not in values:
                values[value] = f"v{len(values)}"
                params[values[value]] = value
            match = f" AND {key} = :{values[value]}"
        lookups.append(
            f"SELECT {len(lookups)} AS i, seconds FROM (SELECT seconds "
            f"FROM report_durations WHERE metric = {int(metric)} "
            f"AND bucket = {int(bucket)}{match} AND started_at >= :lo{period} "
            f"AND started_at < :hi{period} ORDER BY seconds "
            f"LIMIT {count} OFFSET {int(offset)}) AS r{len(lookups)}"
        )
        return len(lookups) - 1

    for group, counts in sizes.items():
        n = sum(counts.values())
        if not n:
            continue
        positions = _rank_positions(n, postgres)
        plans[group] = (n, positions)
        for low, high, _ in positions:
            ranks = [rank for rank in dict.fromkeys((low, high)) if (group, rank) not in wanted]
            places = [_locate(counts, rank) for rank in ranks]
            if len(ranks) == 2 and ranks[1] == ranks[0] + 1 and places[0][0] == places[1][0]:
                index = lookup(group, places[0][0], places[0][1], 2)
                wanted[(group, ranks[0])], wanted[(group, ranks[1])] = (index, 0), (index, 1)
                continue
            for rank, (bucket, offset) in zip(ranks, places, strict=True):
                wanted[(group, rank)] = (lookup(group, bucket, offset, 1), 0)
    found: dict[int, list[float]] = defaultdict(list)
    for start in range(0, len(lookups), 250):
        sql = " UNION ALL ".join(lookups[start : start + 250])
        used = {name: value for name, value in params.items() if f":{name} " in sql}
        query = text(sql).bindparams(
            *(bindparam(name, type_=kind) for name, kind in types.items() if name in used)
        )
        for index, seconds in await connection.execute(query, used):
            found[int(index)].append(float(seconds))
    for seconds in found.values():
        seconds.sort()  # a pair comes back in either order

    def value_at(group: Group, rank: int) -> float:
        index, nth = wanted[(group, rank)]
        return found[index][nth]

    tables: dict[int, Table] = defaultdict(dict)
    for group, (n, positions) in plans.items():
        answers: list[float | None] = []
        for low, high, weight in positions:
            lo, hi = value_at(group, low), value_at(group, high)
            answers.append(_interpolate(lo, hi, weight, low == high, postgres))
        metric, period, value = group
        tables[metric][(period,) if key is None else (value,)] = (n, answers[0], answers[1])
    return tables


__all__ = [
    "FAST_KEYS",
    "PERCENTILE_KEYS",
    "fast_cube",
    "fast_low_ratings",
    "fast_percentiles",
    "slot_range",
]
