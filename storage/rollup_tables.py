"""The report rollup tables (migration 0004) as SQLAlchemy Core tables, and their keys.

A *slot* is a UTC hour, counted in hours since 1970; a *day* is a UTC day (slot // 24).
``report_rollup_days`` (migration 0006) holds each day's sum of the hourly rows, and
``report_low_ratings`` each hour's 1–2 ratings per customer (the at-risk ranking).
Durations fall into fixed *buckets* (eight per doubling, from one second up), ordered as
the durations are, so a histogram tells which bucket holds a wanted rank.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    Float,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    case,
    literal_column,
)

from storage.models._base import UTCDateTime
from storage.report_model import Counts

COUNT_FIELDS = tuple(Counts.__dataclass_fields__)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
FIRST_RESPONSE, RESOLUTION = 0, 1
PER_DOUBLING = 8
BUCKET_LIMITS = tuple(2.0 ** (index / PER_DOUBLING) for index in range(PER_DOUBLING * 26))

metadata = MetaData()

dirty = Table(
    "report_dirty",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("slot", BigInteger, nullable=False),
)


def _counts_table(name: str, unit: str) -> Table:
    """A rollup of the report's count sums per time unit, dimension and value."""
    return Table(
        name,
        metadata,
        Column(unit, BigInteger, nullable=False),
        Column("dim", String(16), nullable=False),
        Column("value", String(64)),
        *(Column(field, BigInteger, nullable=False, default=0) for field in COUNT_FIELDS),
    )


rollup = _counts_table("report_rollup", "slot")
rollup_days = _counts_table("report_rollup_days", "day")
low_ratings = Table(
    "report_low_ratings",
    metadata,
    Column("slot", BigInteger, nullable=False),
    Column("customer_id", Integer, nullable=False),
    Column("n", BigInteger, nullable=False),
)
durations = Table(
    "report_durations",
    metadata,
    Column("slot", BigInteger, nullable=False),
    Column("metric", SmallInteger, nullable=False),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("intent", String(64), nullable=False),
    Column("agent", Integer, nullable=False),
    Column("reason", String(32), nullable=False),
    Column("channel", String(32), nullable=False),
    Column("seconds", Float, nullable=False),
    Column("bucket", Integer, nullable=False),
)
histogram = Table(
    "report_histogram",
    metadata,
    Column("day", BigInteger, nullable=False),
    Column("metric", SmallInteger, nullable=False),
    Column("dim", String(16), nullable=False),
    Column("value", String(64), nullable=False),
    Column("bucket", Integer, nullable=False),
    Column("n", BigInteger, nullable=False),
)
rollup_settings = Table(
    "report_rollup_settings",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("sla_seconds", Float, nullable=False),
    Column("vip_sla_seconds", Float, nullable=False),
)


def slot_of(column: str, sqlite: bool) -> ColumnElement[int]:
    """The UTC hour of a timestamp column, as the triggers of migration 0004 compute it."""
    if sqlite:
        sql = f"(CAST(strftime('%s', substr({column}, 1, 13) || ':00:00') AS INTEGER) / 3600)"
    else:
        sql = f"floor(extract(epoch FROM {column}) / 3600)::bigint"
    return literal_column(sql, BigInteger())


def hours(moment: datetime) -> tuple[int, bool]:
    """The slot ``moment`` falls in, and whether it is exactly the slot's start."""
    slot, rest = divmod(moment - EPOCH, HOUR)
    return slot, not rest


def days(moment: datetime) -> tuple[int, bool]:
    """The UTC day ``moment`` falls in, and whether it is exactly that day's midnight."""
    day, rest = divmod(moment - EPOCH, DAY)
    return day, not rest


def slot_start(slot: int) -> datetime:
    """The UTC instant a slot starts."""
    return EPOCH + slot * HOUR


def bucket_of(seconds: Any, low: int = 0, high: int = len(BUCKET_LIMITS)) -> Any:
    """The bucket of a duration: how many limits it reaches, as a binary-search ``CASE``.

    Bucket ``i`` holds durations in ``[BUCKET_LIMITS[i - 1], BUCKET_LIMITS[i])``; bucket 0
    everything under one second (negative durations included), the last one the rest.
    """
    if low == high:
        return literal_column(str(low), Integer())
    middle = (low + high + 1) // 2
    return case(
        (seconds < BUCKET_LIMITS[middle - 1], bucket_of(seconds, low, middle - 1)),
        else_=bucket_of(seconds, middle, high),
    )


def bucket_in_python(seconds: float) -> int:
    """The same bucket computed in Python (tests)."""
    return sum(1 for limit in BUCKET_LIMITS if seconds >= limit)
