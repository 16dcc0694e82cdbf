"""The manager summary: built once from ``storage.reports``, shown by ``/carebot report``
and posted weekly to the managers' channel.

The summary is a plain JSON-able dict of already formatted, honest strings (every rate
with its n and Wilson interval, week-over-week as "up", "down" or "no clear change" from
a Newcombe interval), so a channel only lays it out and the weekly digest can travel
through the outbox like any other staff row.

The weekly digest is a recurring job row (``weekly_digest``): rows are claimed with
``SKIP LOCKED`` and a lease, so one worker runs it, and it survives restarts. Its next
due time is computed in the business time zone, so "Monday 09:00" stays 09:00 local
across daylight-saving changes. Queuing the digest and moving the job to next week
happen in one transaction, guarded by the slot the job was due at: a worker whose lease
ran out, or a retry after a crash, finds the slot already taken and posts nothing.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.core.actions import STAFF_DIGEST
from storage import reports
from storage.models import Job
from storage.unit_of_work import UnitOfWork

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.core.engine import ConversationEngine

DIGEST_JOB = "weekly_digest"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_ARROW = {"up": "up", "down": "down", "no clear change": "no clear change"}


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive UTC; make it aware."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def next_digest_at(after: datetime, day: str, at: time, zone: ZoneInfo) -> datetime:
    """The first ``day`` ``at`` (local wall time in ``zone``) strictly after ``after``, in UTC.

    Wall-clock arithmetic in the business zone keeps the digest at the same local hour
    across DST changes; a local time that does not exist that day (the spring-forward gap)
    runs at the equivalent instant just after the gap, an ambiguous one (fall-back) at its
    first occurrence.
    """
    after = _aware(after)
    local = after.astimezone(zone)
    weekday = DAYS.index(day)
    first = local.date() + timedelta(days=(weekday - local.weekday()) % 7)
    for week in range(3):
        slot = datetime.combine(first + timedelta(weeks=week), at, tzinfo=zone).astimezone(UTC)
        if slot > after:
            return slot
    raise AssertionError("unreachable: a week always has the day")  # pragma: no cover


def report_days(now: datetime, days: int, zone: ZoneInfo, *, complete: bool) -> tuple[date, date]:
    """The local days ``[first, last]`` covered: ending yesterday when ``complete``, else today."""
    today = _aware(now).astimezone(zone).date()
    last = today - timedelta(days=1) if complete else today
    return last - timedelta(days=max(1, days) - 1), last


def _minutes(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _row(name: str, change: reports.Change, noun: str = "") -> dict[str, str]:
    verdict = change.verdict
    return {
        "name": name,
        "value": change.current.describe(noun),
        "previous": change.previous.describe(noun),
        "verdict": verdict,
        "change": change.describe() if verdict in _ARROW else "not enough data to compare",
    }


async def manager_summary(
    engine: ConversationEngine, days: int = 7, *, complete: bool = False, title: str | None = None
) -> dict[str, Any]:
    """The summary of the last ``days`` local days (today included unless ``complete``)."""
    settings = engine.services.settings
    now = _aware(engine.clock())
    first, last = report_days(now, days, settings.zone, complete=complete)
    request = reports.ReportRequest(
        first_day=first,
        last_day=last,
        timezone=settings.timezone,
        sla_minutes=settings.sla_minutes,
        vip_sla_minutes=settings.vip_sla_minutes,
        list_limit=5,
        now=now,
    )
    report = await reports.build_report(engine.db, request)
    current, previous = report.current.counts, report.previous.counts
    changes = {change.name: change for change in report.changes}
    mean = current.mean_score
    first_response = report.current.first_response
    low = [
        {"conversation_id": item.conversation_id, "score": item.score}
        for item in report.lowest_rated
        if item.score <= 2
    ]
    partial = "" if complete else " (today so far included)"
    return {
        "title": title or f"Support summary — last {days} day" + ("" if days == 1 else "s"),
        "period": report.period.label + partial,
        "previous_period": report.previous_period.label,
        "timezone": settings.timezone,
        "days": days,
        "conversations": current.conversations,
        "previous_conversations": previous.conversations,
        "rows": [
            _row("CSAT (4–5 of 5)", changes["CSAT"], "satisfied"),
            _row("Survey response rate", changes["Response rate"], "answered"),
            _row("Handoff rate", changes["Handoff rate"], "handed off"),
            _row("Bot resolution", changes["Bot resolution"], "resolved by the bot"),
        ],
        "mean_score": f"{mean:.1f}/5" if mean is not None else None,
        "first_response": (
            f"median {_minutes(first_response.median)}, p90 {_minutes(first_response.p90)} "
            f"(n={first_response.n})"
            if first_response.n
            else "no human replies yet"
        ),
        "low_scores": low,
    }


def summary_lines(summary: dict[str, Any]) -> list[str]:
    """The summary as plain lines (console, notification fallback, tests)."""
    lines = [
        f"{summary['title']}: {summary['period']} ({summary['timezone']})",
        f"Conversations: {summary['conversations']} "
        f"(previous period {summary['previous_conversations']})",
    ]
    for row in summary["rows"]:
        lines.append(f"{row['name']}: {row['value']} · vs previous: {row['change']}")
    if summary.get("mean_score"):
        lines.append(f"Mean score: {summary['mean_score']}")
    lines.append(f"Median first human response: {summary['first_response']}")
    return lines


def is_slot(moment: datetime, settings: Settings) -> bool:
    """True if ``moment`` is a digest time under the current settings."""
    moment = _aware(moment)
    probe = next_digest_at(moment - timedelta(seconds=1), *_schedule(settings))
    return probe == moment


def _schedule(settings: Settings) -> tuple[str, time, ZoneInfo]:
    return settings.digest_day, settings.digest_time, settings.zone


def first_due(settings: Settings, now: datetime) -> datetime:
    """When a newly created digest job is first due."""
    return next_digest_at(now, *_schedule(settings))


async def run_digest(engine: ConversationEngine, job: Job) -> datetime:
    """The ``weekly_digest`` job: queue this week's summary once; return next week's slot.

    A slot that no longer matches the settings (day or time changed since it was
    scheduled) is only moved, never posted, so a configuration change cannot produce an
    extra digest.
    """
    settings = engine.services.settings
    slot = _aware(job.due_at)
    now = _aware(engine.clock())
    upcoming = next_digest_at(max(now, slot), *_schedule(settings))
    post = is_slot(slot, settings)
    summary = (
        await manager_summary(engine, 7, complete=True, title="Weekly support digest")
        if post
        else None
    )
    async with UnitOfWork(engine.db) as uow:
        stmt = select(Job).where(Job.key == job.key)
        if engine.db.is_postgres:
            stmt = stmt.with_for_update()
        stored = (await uow.session.execute(stmt)).scalar_one_or_none()
        if stored is None or _aware(stored.due_at) != slot or stored.status != "pending":
            return _aware(stored.due_at) if stored is not None else upcoming
        if summary is not None:
            uow.outbox.add(
                target="staff",
                channel=engine.services.staff_channel,
                lane=DIGEST_JOB,
                kind=STAFF_DIGEST,
                payload={"summary": summary, "slot": slot.isoformat()},
                conversation_id=None,
                now=now,
            )
        stored.due_at = upcoming
        await uow.commit()
    if summary is not None:
        engine.work_ready.set()
    return upcoming
