"""Small SQL building blocks that differ between SQLite and PostgreSQL.

Reports aggregate in the database on both engines, so the few places where the dialects
disagree (date arithmetic, percentiles, JSON arrays) are written once here. Time-zone
buckets are computed in Python as UTC boundaries and turned into a ``CASE``: SQLite has
no time zones, and doing it this way keeps days and weeks right across DST changes on
both engines.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    Integer,
    Interval,
    Select,
    and_,
    case,
    cast,
    func,
    literal,
    literal_column,
    select,
)
from sqlalchemy.sql.elements import KeyedColumnElement
from sqlalchemy.sql.expression import FromClause

from storage.models import Conversation
from storage.models._base import UTCDateTime


def seconds_between(
    start: Any,
    end: Any,
    sqlite: bool,
) -> ColumnElement[float]:
    """``end − start`` in seconds, as a float."""
    if sqlite:
        return cast((func.julianday(end) - func.julianday(start)) * 86400.0, Float)
    return cast(func.extract("epoch", end - start), Float)


def within_days(start: Any, later: Any, days: int, sqlite: bool) -> ColumnElement[bool]:
    """``start < later ≤ start + days``; the first half can use an index."""
    if sqlite:
        # Stored as 'YYYY-MM-DD HH:MM:SS.ffffff': move the date part only and keep the time
        # text as it is, so the bound is exact to the microsecond and the comparison is a
        # plain text range that an index on ``later`` can answer.
        limit = later <= func.date(func.substr(start, 1, 10), f"+{int(days)} days").op("||")(
            func.substr(start, 11)
        )
    else:
        # 24-hour days, as on SQLite (UTC) and in storage.facts, whatever the session zone.
        hours = literal_column(f"interval '{24 * int(days)} hours'", Interval())
        limit = later <= start + hours
    return and_(later > start, limit)


def utc(value: datetime) -> Any:
    """A bound UTC timestamp, stored the way our columns store it on each engine."""
    return literal(value, UTCDateTime())


def bucket_index(
    column: Any,
    starts: Sequence[datetime],
) -> ColumnElement[Any]:
    """Index of the bucket ``column`` falls in, given each bucket's UTC start (sorted).

    Rows before the first start get -1; the last bucket is open-ended (the query's own
    ``WHERE`` bounds it).
    """
    if len(starts) <= 1:
        return literal(0, Integer)
    whens = [(column < utc(boundary), index) for index, boundary in enumerate(starts[1:])]
    whens.insert(0, (column < utc(starts[0]), -1))
    return case(*whens, else_=len(starts) - 1)


def percentiles_select(
    value: ColumnElement[float],
    keys: Sequence[ColumnElement[Any]],
    where: ColumnElement[bool],
    *joins: tuple[object, ColumnElement[bool]],
    fractions: tuple[tuple[int, int], ...] = ((1, 2), (9, 10)),
    base: object = Conversation,
    sqlite: bool = True,
) -> Select[Any]:
    """Per group of ``keys``: the count and interpolated percentiles of ``value``.

    Each fraction is ``(numerator, denominator)``; with ``n`` values the (0-based)
    position is ``(n − 1)·fraction``, split into an integer rank and a remainder with
    integer arithmetic so both engines agree exactly; the answer interpolates between
    the two neighbouring ranks (``percentile_cont``, numpy's default). Only one small
    row per group leaves the database.
    """
    labelled = [key.label(f"k{index}") for index, key in enumerate(keys)]
    if not sqlite:
        # PostgreSQL's own ordered-set aggregate: one sort per group, no window pass.
        ordered = [
            func.percentile_cont(numerator / denominator)
            .within_group(value)
            .label(f"p{numerator}_{denominator}")
            for numerator, denominator in fractions
        ]
        native = select(*labelled, func.count(value).label("n"), *ordered).select_from(base)  # type: ignore[arg-type]
        for target, on in joins:
            native = native.join(target, on)  # type: ignore[arg-type]
        native = native.where(where, value.is_not(None))
        return native.group_by(*labelled) if labelled else native
    partition = list(keys) or None
    inner = select(
        *labelled,
        value.label("v"),
        func.row_number().over(partition_by=partition, order_by=value).label("rn"),
        func.count().over(partition_by=partition).label("cnt"),
    ).select_from(base)  # type: ignore[arg-type]
    for target, on in joins:
        inner = inner.join(target, on)  # type: ignore[arg-type]
    ranked = inner.where(where, value.is_not(None)).subquery()
    group: list[KeyedColumnElement[Any]] = [ranked.c[f"k{index}"] for index in range(len(keys))]
    columns: list[ColumnElement[Any]] = [*group, func.max(ranked.c.cnt).label("n")]
    for numerator, denominator in fractions:
        scaled = (ranked.c.cnt - 1) * numerator
        rank = scaled // denominator + 1
        remainder = scaled % denominator
        upper = rank + case((remainder > 0, 1), else_=0)
        low = func.max(case((ranked.c.rn == rank, ranked.c.v)))
        high = func.max(case((ranked.c.rn == upper, ranked.c.v)))
        fraction = cast(func.max(remainder), Float) / float(denominator)
        columns.append((low + (high - low) * fraction).label(f"p{numerator}_{denominator}"))
    query = select(*columns)
    return query.group_by(*group) if group else query


def tag_join(sqlite: bool) -> tuple[FromClause, ColumnElement[str]]:
    """Each customer's tags as rows (``LEFT JOIN`` it on true), and the tag column.

    SQLite's ``json_each`` may refer to earlier tables in the join; PostgreSQL needs an
    explicit ``LATERAL``.
    """
    from storage.models import Customer

    if sqlite:
        each = func.json_each(Customer.tags).table_valued("value").alias("tag")
        return each, each.c.value
    elements = func.json_array_elements_text(Customer.tags).table_valued("value").lateral("tag")
    return elements, elements.c.value
