"""The metric SQL: one scan of the conversations ("the cube"), one of the handoffs,
and window-function percentiles.

The cube groups conversations by period, trend bucket, handoff reason and the requested
breakdown keys, summing every count the report needs. The result is a few thousand rows
at most, however many conversations there are; :mod:`storage.reports` folds them into
the overall numbers, the bot-only/handed-off split, the breakdowns and the trend by
adding exact integers. Definitions follow PRODUCT.md §1–§3.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    exists,
    func,
    literal,
    select,
    true,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import aliased

from storage.facts import REPEAT_DAYS
from storage.models import Conversation, Customer, Handoff, Resolution, Survey, SurveyStatus
from storage.report_sql import (
    bucket_index,
    percentiles_select,
    seconds_between,
    tag_join,
    utc,
    within_days,
)

NO_INTENT = "(unknown)"
NO_REASON = "(bot only)"
NO_TAG = "(no tag)"
BOT_AGENT = "bot"


@dataclass(frozen=True)
class Window:
    """What a query needs to know: the two periods, buckets and thresholds."""

    sqlite: bool
    since: datetime
    until: datetime
    previous_since: datetime
    bucket_starts: Sequence[datetime]
    day_starts: Sequence[datetime]
    now: datetime
    sla_seconds: float
    vip_sla_seconds: float
    repeat_days: int = 7

    @property
    def both_periods(self) -> ColumnElement[bool]:
        """Conversations started in the previous or the current period."""
        started = Conversation.started_at
        return and_(started >= utc(self.previous_since), started < utc(self.until))

    @property
    def current(self) -> ColumnElement[bool]:
        """Conversations started in the current period."""
        started = Conversation.started_at
        return and_(started >= utc(self.since), started < utc(self.until))

    @property
    def period(self) -> ColumnElement[Any]:
        """0 for the current period, 1 for the previous one."""
        return case((Conversation.started_at >= utc(self.since), 0), else_=1)


def key_expression(key: str, window: Window) -> ColumnElement[Any]:
    """The grouping expression of a breakdown (``tag`` needs :func:`tag_join` as well)."""
    c = Conversation
    expressions: dict[str, ColumnElement[Any]] = {
        "intent": func.coalesce(c.primary_intent, NO_INTENT),
        "reason": func.coalesce(c.handoff_reason, NO_REASON),
        "agent": func.coalesce(c.agent_id, 0),
        "channel": c.channel.expression,
        "day": bucket_index(c.started_at, window.day_starts),
        "week": bucket_index(c.started_at, window.bucket_starts),
    }
    return expressions[key]


def _one(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    return func.sum(case((condition, 1), else_=0))


def repeat_contact(window: Window) -> ColumnElement[bool]:
    """A resolved conversation followed by another from the same customer within N days.

    For the standard 7 days the triggers of :mod:`storage.facts` have already stored the
    answer; other windows fall back to one index probe per resolved conversation.
    """
    if window.repeat_days == REPEAT_DAYS:
        return and_(
            Conversation.resolved_at.is_not(None), Conversation.next_contact_at.is_not(None)
        )
    later = aliased(Conversation, name="later")
    return and_(
        Conversation.resolved_at.is_not(None),
        exists(
            select(literal(1)).where(
                later.customer_id == Conversation.customer_id,
                within_days(
                    Conversation.resolved_at, later.started_at, window.repeat_days, window.sqlite
                ),
            )
        ),
    )


def conversation_sums(window: Window) -> list[ColumnElement[Any]]:
    """Every conversation and survey count of :class:`~storage.report_model.Counts`."""
    c, s = Conversation, Survey
    answered = and_(s.status == SurveyStatus.ANSWERED, s.score.is_not(None))
    sums: list[ColumnElement[Any]] = [
        func.count().label("conversations"),
        _one(c.handoff_reason.is_not(None)).label("handed"),
        _one(c.resolution == Resolution.BOT_CONFIRMED).label("bot_confirmed"),
        _one(c.resolution == Resolution.BOT_ASSUMED).label("bot_assumed"),
        _one(c.resolution == Resolution.ABANDONED).label("abandoned"),
        _one(c.resolved_at.is_not(None)).label("resolved"),
        _one(and_(c.resolved_at.is_not(None), c.reopened_count > 0)).label("reopened"),
        _one(repeat_contact(window)).label("repeat"),
        _one(and_(s.sent_at.is_not(None), s.status != SurveyStatus.UNREACHABLE)).label("sent"),
        _one(answered).label("answered"),
        _one(and_(answered, s.score >= 4)).label("satisfied"),
        func.sum(case((answered, s.score), else_=0)).label("score_sum"),
        func.sum(case((answered, s.score * s.score), else_=0)).label("score_squares"),
    ]
    sums += [_one(and_(answered, s.score == score)).label(f"s{score}") for score in range(1, 6)]
    return sums


def handoff_wait(window: Window) -> ColumnElement[float]:
    """Seconds from the request to the first human reply (to the end, or to now if open)."""
    h = Handoff
    waited_until = func.coalesce(h.first_human_reply_at, h.ended_at, utc(window.now))
    return seconds_between(h.requested_at, waited_until, window.sqlite)


def handoff_target(window: Window) -> ColumnElement[float]:
    """The SLA of a handoff in seconds (VIPs have their own)."""
    return case((Handoff.priority, window.vip_sla_seconds), else_=window.sla_seconds)


def _handoff_sums(window: Window) -> list[ColumnElement[Any]]:
    h = Handoff
    elapsed, target = handoff_wait(window), handoff_target(window)
    return [
        func.count().label("handoffs"),
        _one(h.first_human_reply_at.is_not(None)).label("handoffs_answered"),
        _one(and_(h.first_human_reply_at.is_not(None), elapsed <= target)).label("sla_met"),
        _one(elapsed > target).label("sla_breached"),
    ]


def _grouped(
    columns: Mapping[str, ColumnElement[Any]],
    sums: list[ColumnElement[Any]],
) -> Select[Any]:
    labelled = [expression.label(f"d_{name}") for name, expression in columns.items()]
    return select(*labelled, *sums).group_by(*labelled)


def cube_dimensions(window: Window, keys: Sequence[str]) -> dict[str, ColumnElement[Any]]:
    """The cube's grouping columns: period, trend bucket, handoff reason and ``keys``."""
    dimensions: dict[str, ColumnElement[Any]] = {
        "period": window.period,
        "bucket": bucket_index(Conversation.started_at, window.bucket_starts),
        "reason": Conversation.handoff_reason.expression,
    }
    for key in keys:
        if key not in ("reason", "week", "tag"):
            dimensions[key] = key_expression(key, window)
    return dimensions


async def cube(
    connection: AsyncConnection,
    window: Window,
    keys: Sequence[str],
    only: ColumnElement[bool] | None = None,
) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    """Conversation sums and handoff sums, grouped by period, bucket, reason and ``keys``.

    ``keys == ["tag"]`` is a cube of its own: a customer with two tags counts once under
    each, so its rows must never be added into the overall numbers. ``only`` narrows the
    conversations further (the rollup asks for the hours it cannot answer itself).
    """
    dimensions = cube_dimensions(window, keys)
    conversations = _grouped(dimensions, conversation_sums(window)).select_from(Conversation)
    conversations = conversations.outerjoin(Survey, Survey.conversation_id == Conversation.id)
    handoffs = _grouped(dimensions, _handoff_sums(window)).select_from(Handoff)
    handoffs = handoffs.join(Conversation, Conversation.id == Handoff.conversation_id)
    if "tag" in keys:
        tags, tag = tag_join(window.sqlite)
        dimensions["tag"] = func.coalesce(tag, NO_TAG)
        conversations = (
            _grouped(dimensions, conversation_sums(window))
            .select_from(Conversation)
            .outerjoin(Survey, Survey.conversation_id == Conversation.id)
            .join(Customer, Customer.id == Conversation.customer_id)
            .outerjoin(tags, true())
        )
        handoffs = (
            _grouped(dimensions, _handoff_sums(window))
            .select_from(Handoff)
            .join(Conversation, Conversation.id == Handoff.conversation_id)
            .join(Customer, Customer.id == Conversation.customer_id)
            .outerjoin(tags, true())
        )
    conversations = conversations.where(window.both_periods)
    handoffs = handoffs.where(window.both_periods)
    if only is not None:
        conversations, handoffs = conversations.where(only), handoffs.where(only)
    first = [dict(row) for row in (await connection.execute(conversations)).mappings()]
    second = [dict(row) for row in (await connection.execute(handoffs)).mappings()]
    return first, second


async def percentiles(
    connection: AsyncConnection,
    window: Window,
    key: str | None,
    *,
    current_only: bool,
) -> dict[str, dict[tuple[object, ...], tuple[int, float | None, float | None]]]:
    """Median and p90 of human first response and of time to first resolution.

    Grouped by period (or, with ``key``, by that key within the current period);
    returns ``{"first_response": {group: (n, median, p90)}, "resolution": {...}}``.
    """
    c, h = Conversation, Handoff
    where = window.current if current_only else window.both_periods
    keys: list[ColumnElement[Any]] = [] if current_only else [window.period]
    joins: list[tuple[object, ColumnElement[bool]]] = []
    if key == "tag":
        tags, tag = tag_join(window.sqlite)
        keys.append(func.coalesce(tag, NO_TAG))
        joins = [(Customer, Customer.id == c.customer_id), (tags, true())]
    elif key is not None:
        keys.append(key_expression(key, window))
    response = seconds_between(h.requested_at, h.first_human_reply_at, window.sqlite)
    resolution = seconds_between(c.started_at, c.resolved_at, window.sqlite)
    queries = {
        "first_response": percentiles_select(
            response,
            keys,
            where,
            (c, c.id == h.conversation_id),
            *joins,
            base=Handoff,
            sqlite=window.sqlite,
        ),
        "resolution": percentiles_select(resolution, keys, where, *joins, sqlite=window.sqlite),
    }
    result: dict[str, dict[tuple[object, ...], tuple[int, float | None, float | None]]] = {}
    for name, query in queries.items():
        rows = (await connection.execute(query)).all()
        result[name] = {
            tuple(row[: len(keys)]): (
                int(row[len(keys)] or 0),
                _float(row[len(keys) + 1]),
                _float(row[len(keys) + 2]),
            )
            for row in rows
        }
    return result


def _float(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]
