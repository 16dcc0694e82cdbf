"""Satisfaction numbers for managers, computed in SQL on SQLite and PostgreSQL alike.

Every proportion comes with its count and a Wilson 95% interval (PRODUCT.md §2), and
under ten responses only counts are shown: small samples are not dressed up as percentages.

A conversation belongs to the period in which it *started* (business time zone); its
survey, handoffs and resolution count with it even when they happened after the period
ended, so a report never splits one touchpoint across two periods.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.db import Database
from storage.facts import REPEAT_DAYS
from storage.models import Conversation, Resolution, Survey, SurveyStatus
from storage.report_lists import agent_names, customers_at_risk, lowest_rated
from storage.report_model import (
    LOW_SAMPLE,
    MIN_FOR_PERCENT,
    AtRisk,
    Change,
    Counts,
    Durations,
    GroupRow,
    LowRated,
    Metrics,
    Period,
    Proportion,
    TrendPoint,
)
from storage.report_queries import (
    BOT_AGENT,
    NO_REASON,
    Window,
    cube,
    percentiles,
)
from storage.stats import Z95, wilson_interval

__all__ = [
    "BREAKDOWNS",
    "LOW_SAMPLE",
    "MIN_FOR_PERCENT",
    "Z95",
    "AtRisk",
    "Change",
    "Counts",
    "Durations",
    "GroupRow",
    "LowRated",
    "Metrics",
    "Period",
    "Proportion",
    "Report",
    "ReportRequest",
    "Summary",
    "TrendPoint",
    "build_report",
    "local_midnight",
    "make_period",
    "summary",
    "wilson_interval",
]

BREAKDOWNS = ("intent", "reason", "agent", "channel", "tag", "day", "week")


@dataclass(frozen=True)
class Summary:
    """The short summary shown after the demo and in the first reports."""

    conversations: int
    handed_off: Proportion
    bot_resolved: Proportion
    csat: Proportion
    response_rate: Proportion
    mean_score: float | None


async def summary(db: Database, since: datetime, until: datetime) -> Summary:
    """Conversations started in [since, until): handoffs, bot resolution and CSAT."""
    in_period = (Conversation.started_at >= since) & (Conversation.started_at < until)
    bot_resolutions = [Resolution.BOT_CONFIRMED, Resolution.BOT_ASSUMED]
    conversations = select(
        func.count(),
        func.sum(case((Conversation.handoff_reason.is_not(None), 1), else_=0)),
        func.sum(case((Conversation.resolution.in_(bot_resolutions), 1), else_=0)),
    ).where(in_period)
    surveyed = (
        select(
            func.sum(
                case(
                    (
                        (Survey.sent_at.is_not(None)) & (Survey.status != SurveyStatus.UNREACHABLE),
                        1,
                    ),
                    else_=0,
                )
            ),
            func.sum(case((Survey.status == SurveyStatus.ANSWERED, 1), else_=0)),
            func.sum(
                case(((Survey.status == SurveyStatus.ANSWERED) & (Survey.score >= 4), 1), else_=0)
            ),
            func.avg(case((Survey.status == SurveyStatus.ANSWERED, Survey.score))),
        )
        .join(Conversation, Conversation.id == Survey.conversation_id)
        .where(in_period)
    )
    async with db.engine.connect() as connection:
        total, handed, bot_ok = (await connection.execute(conversations)).one()
        sent, answered, satisfied, mean = (await connection.execute(surveyed)).one()
    total = int(total or 0)
    return Summary(
        conversations=total,
        handed_off=Proportion(int(handed or 0), total),
        bot_resolved=Proportion(int(bot_ok or 0), total),
        csat=Proportion(int(satisfied or 0), int(answered or 0)),
        response_rate=Proportion(int(answered or 0), int(sent or 0)),
        mean_score=float(mean) if mean is not None else None,
    )


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The UTC instant at which ``day`` starts in ``zone`` (DST-safe)."""
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def make_period(first_day: date, last_day: date, zone: ZoneInfo) -> Period:
    """Whole local days, both inclusive."""
    if last_day < first_day:
        raise ValueError("the period ends before it starts")
    return Period(
        local_midnight(first_day, zone),
        local_midnight(last_day + timedelta(1), zone),
        first_day,
        last_day,
    )


@dataclass(frozen=True)
class ReportRequest:
    """What to report on; days are business-local and inclusive."""

    first_day: date
    last_day: date
    timezone: str = "UTC"
    breakdowns: tuple[str, ...] = ()
    trend: str = "auto"  # "day", "week" or "auto" (weeks from 14 days on)
    sla_minutes: float = 15
    vip_sla_minutes: float = 5
    repeat_days: int = 7
    list_limit: int = 10
    now: datetime | None = None
    use_rollups: bool = True  # False: count everything live (same numbers, slower)

    @property
    def zone(self) -> ZoneInfo:
        """The business time zone."""
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class Report:
    """A finished report: the period, the previous one, and every view of them."""

    request: ReportRequest
    period: Period
    previous_period: Period
    generated_at: datetime
    current: Metrics
    previous: Metrics
    changes: list[Change]
    breakdowns: dict[str, list[GroupRow]]
    trend: list[TrendPoint]
    trend_unit: str
    lowest_rated: list[LowRated] = field(default_factory=list)
    at_risk: list[AtRisk] = field(default_factory=list)


def _buckets(first: date, last: date, unit: str) -> list[date]:
    days = [first + timedelta(offset) for offset in range((last - first).days + 1)]
    if unit == "day":
        return days
    return [first] + [day for day in days[1:] if day.weekday() == 0]


_FIELDS = tuple(f.name for f in fields(Counts))


def _vectorise(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    """Attach each row's sums as one tuple, so folding thousands of rows stays cheap."""
    for row in rows:
        row["_v"] = tuple(int(row.get(name) or 0) for name in _FIELDS)  # type: ignore[call-overload]
    return rows


def _counts(rows: Iterable[dict[str, object]]) -> Counts:
    vectors = [row["_v"] for row in rows]
    if not vectors:
        return Counts()
    return Counts(*(sum(column) for column in zip(*vectors, strict=True)))  # type: ignore[arg-type]


def _durations(
    table: dict[tuple[object, ...], tuple[int, float | None, float | None]], key: tuple[object, ...]
) -> Durations:
    n, median, p90 = table.get(key, (0, None, None))
    return Durations(n, median, p90)


def _metrics(
    rows: list[dict[str, object]],
    pct: dict[str, dict[tuple[object, ...], tuple[int, float | None, float | None]]],
    period: int,
) -> Metrics:
    mine = [row for row in rows if row["d_period"] == period]
    reasons: dict[str, int] = defaultdict(int)
    for row in mine:
        if row["d_reason"] is not None:
            reasons[str(row["d_reason"])] += int(row.get("handed") or 0)  # type: ignore[call-overload]
    return Metrics(
        counts=_counts(mine),
        bot_only=_counts(row for row in mine if row["d_reason"] is None),
        handed_off=_counts(row for row in mine if row["d_reason"] is not None),
        reasons=dict(sorted(((k, v) for k, v in reasons.items() if v), key=lambda kv: -kv[1])),
        first_response=_durations(pct["first_response"], (period,)),
        resolution_time=_durations(pct["resolution"], (period,)),
    )


def _changes(now: Counts, before: Counts) -> list[Change]:
    return [
        Change("CSAT", now.csat, before.csat),
        Change("Response rate", now.response_rate, before.response_rate),
        Change("Handoff rate", now.handoff_rate, before.handoff_rate),
        Change("Bot resolution", now.bot_resolution, before.bot_resolution),
        Change("Abandonment", now.abandonment, before.abandonment),
        Change("Repeat contact (7 d)", now.repeat_rate, before.repeat_rate),
        Change("Reopen rate", now.reopen_rate, before.reopen_rate),
        Change("SLA met", now.sla, before.sla),
    ]


def _group_rows(
    key: str,
    rows: list[dict[str, object]],
    pct: dict[str, dict[tuple[object, ...], tuple[int, float | None, float | None]]],
    labels: dict[object, str],
) -> list[GroupRow]:
    column = "d_bucket" if key == "week" else f"d_{key}"
    current: dict[object, list[dict[str, object]]] = defaultdict(list)
    previous: dict[object, list[dict[str, object]]] = defaultdict(list)
    for row in rows:
        value = row[column] if key != "reason" else (row["d_reason"] or NO_REASON)
        (current if row["d_period"] == 0 else previous)[value].append(row)
    result = [
        GroupRow(
            key=str(value),
            label=labels.get(value, str(value)),
            counts=_counts(mine),
            previous=_counts(previous.get(value, [])),
            first_response=_durations(pct["first_response"], (value,)),
            resolution_time=_durations(pct["resolution"], (value,)),
        )
        for value, mine in current.items()
    ]
    if key in ("day", "week"):
        return sorted(result, key=lambda row: int(row.key))
    return sorted(result, key=lambda row: (-row.counts.conversations, row.label))


async def build_report(db: Database, request: ReportRequest) -> Report:
    """Compute the whole report in a handful of aggregate queries."""
    zone = request.zone
    now = request.now or datetime.now(UTC)
    period = make_period(request.first_day, request.last_day, zone)
    span = timedelta(days=period.days)
    previous = make_period(request.first_day - span, request.first_day - timedelta(1), zone)
    unit = request.trend if request.trend != "auto" else ("week" if period.days >= 14 else "day")
    bucket_days = _buckets(previous.first_day, period.last_day, unit)
    day_days = _buckets(previous.first_day, period.last_day, "day")
    window = Window(
        sqlite=db.is_sqlite,
        since=period.since,
        until=period.until,
        previous_since=previous.since,
        bucket_starts=[local_midnight(day, zone) for day in bucket_days],
        day_starts=[local_midnight(day, zone) for day in day_days],
        now=now,
        sla_seconds=request.sla_minutes * 60,
        vip_sla_seconds=request.vip_sla_minutes * 60,
        repeat_days=request.repeat_days,
    )
    plain_keys = [key for key in request.breakdowns if key != "tag"]
    parts = None
    if request.use_rollups and request.repeat_days == REPEAT_DAYS:
        parts = await _from_rollups(db, window, request, plain_keys, bucket_days, day_days)
    if parts is None:
        parts = await _live(db, window, request, plain_keys, bucket_days, day_days)
    rows, overall, breakdowns, low, risk = parts
    current, before = _metrics(rows, overall, 0), _metrics(rows, overall, 1)
    return Report(
        request=request,
        period=period,
        previous_period=previous,
        generated_at=now,
        current=current,
        previous=before,
        changes=_changes(current.counts, before.counts),
        breakdowns=breakdowns,
        trend=_trend(rows, bucket_days, unit, previous, period),
        trend_unit=unit,
        lowest_rated=low,
        at_risk=risk,
    )


_Parts = tuple[
    list[dict[str, object]],
    dict[str, dict[tuple[object, ...], tuple[int, float | None, float | None]]],
    dict[str, list[GroupRow]],
    list[LowRated],
    list[AtRisk],
]


async def _live(
    db: Database,
    window: Window,
    request: ReportRequest,
    plain_keys: list[str],
    bucket_days: list[date],
    day_days: list[date],
) -> _Parts:
    """Every number straight from the conversations, surveys and handoffs."""
    breakdowns: dict[str, list[GroupRow]] = {}
    async with db.engine.connect() as connection:
        await _tune(connection, db.is_postgres)
        rows, handoff_rows = await cube(connection, window, plain_keys)
        rows = _vectorise(rows + handoff_rows)
        overall = await percentiles(connection, window, None, current_only=False)
        names = await agent_names(connection)
        for key in request.breakdowns:
            labels = _labels(key, names, bucket_days, day_days)
            key_rows = rows
            if key == "tag":
                tag_rows, tag_handoffs = await cube(connection, window, ["tag"])
                key_rows = _vectorise(tag_rows + tag_handoffs)
            pct = await percentiles(connection, window, key, current_only=True)
            breakdowns[key] = _group_rows(key, key_rows, pct, labels)
        low = await lowest_rated(connection, window, request.list_limit)
        risk = await customers_at_risk(connection, window, request.list_limit)
    return rows, overall, breakdowns, low, risk


async def _from_rollups(
    db: Database,
    window: Window,
    request: ReportRequest,
    plain_keys: list[str],
    bucket_days: list[date],
    day_days: list[date],
) -> _Parts | None:
    """The same numbers from the rollups (storage.report_fast), refreshed first.

    The refresh commits on its own; the numbers are then read in one snapshot, which
    must show no hour of the two periods marked dirty (a write landed in between):
    then refresh again, and after a few tries compute live. None means "compute live".
    """
    from storage import report_fast, rollups

    sla, vip = window.sla_seconds, window.vip_sla_seconds
    first, last = report_fast.slot_range(window)
    for _ in range(3):
        await rollups.refresh_database(db, sla, vip)
        async with db.engine.connect() as connection:
            if db.is_postgres:
                connection = await connection.execution_options(isolation_level="REPEATABLE READ")
            await _tune(connection, db.is_postgres)
            if await rollups.dirty_between(connection, first, last):
                continue
            if await rollups.stored_settings(connection) != (float(sla), float(vip)):
                continue
            base, by_key = await report_fast.fast_cube(connection, window, plain_keys)
            rows = _vectorise(base)
            overall = await report_fast.fast_percentiles(
                connection, window, None, current_only=False
            )
            names = await agent_names(connection)
            breakdowns: dict[str, list[GroupRow]] = {}
            for key in request.breakdowns:
                labels = _labels(key, names, bucket_days, day_days)
                key_rows = _vectorise(by_key[key]) if key in by_key else rows
                if key == "tag":
                    tag_rows, tag_handoffs = await cube(connection, window, ["tag"])
                    key_rows = _vectorise(tag_rows + tag_handoffs)
                if key in report_fast.PERCENTILE_KEYS:
                    pct = await report_fast.fast_percentiles(
                        connection, window, key, current_only=True
                    )
                else:
                    pct = await percentiles(connection, window, key, current_only=True)
                breakdowns[key] = _group_rows(key, key_rows, pct, labels)
            low = await lowest_rated(connection, window, request.list_limit)
            lows = await report_fast.fast_low_ratings(connection, window)
            risk = await customers_at_risk(connection, window, request.list_limit, lows)
            return rows, overall, breakdowns, low, risk
    return None


async def _tune(connection: AsyncConnection, postgres: bool) -> None:
    """Session settings for a few large read-only aggregates.

    PostgreSQL's JIT compiler spends over a second compiling the wide report
    expressions, far more than it saves on them. Its planner guesses thousands of groups
    where there are dozens, so with the default 4 MB ``work_mem`` it sorts on disk
    instead of hashing, and starts parallel workers whose start-up costs more than these
    short scans. Settings made local (``set_config(…, true)``) end with the transaction.
    """
    if postgres:
        await connection.exec_driver_sql(
            "SELECT set_config('jit', 'off', true), set_config('work_mem', '64MB', true), "
            "set_config('max_parallel_workers_per_gather', '0', true)"
        )
    else:  # temp_store = MEMORY is set on every connection (storage.db)
        await connection.exec_driver_sql("PRAGMA cache_size = -65536")


def _labels(
    key: str,
    names: dict[int, str],
    buckets: Sequence[date],
    days: Sequence[date],
) -> dict[object, str]:
    if key == "agent":
        return {0: BOT_AGENT, **{agent_id: name for agent_id, name in names.items()}}
    if key == "week":
        return {index: f"week of {day.isoformat()}" for index, day in enumerate(buckets)}
    if key == "day":
        return {index: day.isoformat() for index, day in enumerate(days)}
    return {}


def _trend(
    rows: list[dict[str, object]],
    starts: Sequence[date],
    unit: str,
    previous: Period,
    period: Period,
) -> list[TrendPoint]:
    by_bucket: dict[int, list[dict[str, object]]] = defaultdict(list)
    for row in rows:
        by_bucket[int(row["d_bucket"])].append(row)  # type: ignore[call-overload]
    points: list[TrendPoint] = []
    for index, start in enumerate(starts):
        end = starts[index + 1] if index + 1 < len(starts) else period.last_day + timedelta(1)
        length = (end - start).days
        counts = _counts(by_bucket.get(index, []))
        change = Change("CSAT", counts.csat, points[-1].counts.csat) if points else None
        label = start.isoformat() if unit == "day" else f"week of {start.isoformat()}"
        partial = unit == "week" and length < 7
        points.append(TrendPoint(start, label, counts, change, partial))
    return points


def with_counts(metrics: Metrics, counts: Counts) -> Metrics:
    """A copy of ``metrics`` with other counts (used by tests and renderers)."""
    return replace(metrics, counts=counts)
