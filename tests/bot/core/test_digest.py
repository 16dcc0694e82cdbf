"""The weekly manager digest: its schedule across DST, once per slot, and the summary."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from bot.core import digest
from bot.core.actions import STAFF_DIGEST
from bot.core.events import CustomerChoice
from bot.core.scheduler import JobRunner
from intents.base import Understander
from storage.db import Database
from storage.models import Job
from tests.helpers import FakeClock, Harness, build_harness
from tests.scripted import ScriptedUnderstander

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def _utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


@pytest.mark.parametrize(
    ("after", "zone", "expected"),
    [
        # Berlin springs forward on Sunday 2026-03-29: 09:00 local is 08:00 UTC before, 07:00 after
        (_utc(2026, 3, 23, 8, 0), BERLIN, _utc(2026, 3, 30, 7, 0)),
        (_utc(2026, 3, 23, 7, 59), BERLIN, _utc(2026, 3, 23, 8, 0)),
        # ... and falls back on Sunday 2026-10-25
        (_utc(2026, 10, 19, 7, 0), BERLIN, _utc(2026, 10, 26, 8, 0)),
        # New York: DST starts 2026-03-08, ends 2026-11-01
        (_utc(2026, 3, 2, 14, 0), NEW_YORK, _utc(2026, 3, 9, 13, 0)),
        (_utc(2026, 10, 27, 0, 0), NEW_YORK, _utc(2026, 11, 2, 14, 0)),
        # late on a Sunday in New York is already Monday in UTC
        (_utc(2026, 3, 2, 3, 0), NEW_YORK, _utc(2026, 3, 2, 14, 0)),
    ],
)
def test_next_digest_keeps_local_wall_time(
    after: datetime, zone: ZoneInfo, expected: datetime
) -> None:
    assert digest.next_digest_at(after, "mon", time(9, 0), zone) == expected


def test_next_digest_in_the_spring_gap_and_on_naive_utc() -> None:
    # 02:30 does not exist in Berlin on 2026-03-29: it runs just after the gap (03:30 CEST)
    slot = digest.next_digest_at(_utc(2026, 3, 28, 12, 0), "sun", time(2, 30), BERLIN)
    assert slot == _utc(2026, 3, 29, 1, 30)
    assert slot.astimezone(BERLIN).hour == 3
    naive = datetime(2026, 3, 2, 9, 0)  # SQLite hands back naive UTC
    assert digest.next_digest_at(naive, "mon", time(9, 0), ZoneInfo("UTC")) == _utc(
        2026, 3, 9, 9, 0
    )


def test_report_days_are_whole_local_days() -> None:
    now = _utc(2026, 3, 9, 23, 30)  # already Tuesday in Berlin
    assert digest.report_days(now, 7, BERLIN, complete=True) == (
        datetime(2026, 3, 3).date(),
        datetime(2026, 3, 9).date(),
    )
    first, last = digest.report_days(now, 1, BERLIN, complete=False)
    assert first == last == datetime(2026, 3, 10).date()


async def _job(h: Harness) -> Job:
    job = await h.query(lambda uow: uow.jobs.get(digest.DIGEST_JOB))
    assert isinstance(job, Job)
    return job


def _digests(h: Harness) -> list[dict[str, object]]:
    return [d.payload for d in h.staff_out.deliveries if d.kind == STAFF_DIGEST]


async def _rated_week(h: Harness, score: int) -> None:
    """One bot-resolved conversation, rated ``score``."""
    cid = (await h.say("how can I pay")).conversation_id
    await h.say("yes")
    await h.later(minutes=11)
    survey = await h.query(lambda uow: uow.surveys.for_conversation(cid))
    await h.act(CustomerChoice(h.customer(), f"csat:{survey.id}:{score}", f"rate-{cid}"))


async def test_weekly_digest_runs_once_per_slot_and_survives_a_restart(
    database: Database, understander: Understander, clock: FakeClock
) -> None:
    h = build_harness(database, ScriptedUnderstander(understander), clock)  # Mon 10:00 UTC
    await _rated_week(h, 5)
    job = await _job(h)
    assert job.due_at.replace(tzinfo=UTC) == _utc(2026, 3, 9, 9, 0)
    assert _digests(h) == []

    clock.now = _utc(2026, 3, 9, 9, 0, 30)
    # two workers race for the job: only one claims it
    other = JobRunner(h.engine, clock=clock)
    ran = await asyncio.gather(h.carebot.jobs.run_due(), other.run_due())
    await h.settle()
    assert sorted(ran)[0] == 0
    digests = _digests(h)
    assert len(digests) == 1
    summary = digests[0]["summary"]
    assert isinstance(summary, dict)
    assert summary["title"] == "Weekly support digest"
    assert summary["period"] == "2026-03-02 – 2026-03-08"
    assert summary["conversations"] == 1
    assert summary["rows"][0]["value"] == "1 of 1 satisfied"
    assert summary["rows"][0]["verdict"] == "not enough data"
    assert (await _job(h)).due_at.replace(tzinfo=UTC) == _utc(2026, 3, 16, 9, 0)

    # a restarted worker (a new Carebot on the same database) does not post it again
    again = build_harness(database, ScriptedUnderstander(understander), clock)
    await again.later(hours=2)
    await h.later(hours=2)
    assert _digests(again) == [] and len(_digests(h)) == 1

    await h.later(days=7)
    assert len(_digests(h)) == 2


async def test_a_stale_copy_of_the_job_posts_nothing(harness: Harness, clock: FakeClock) -> None:
    await harness.settle()
    stale = await _job(harness)
    clock.now = stale.due_at.replace(tzinfo=UTC)
    await harness.settle()  # the real run
    assert len(_digests(harness)) == 1
    # a worker whose lease ran out finishes late with its old copy: nothing more is queued
    upcoming = await digest.run_digest(harness.engine, stale)
    await harness.settle()
    assert len(_digests(harness)) == 1
    assert upcoming == _utc(2026, 3, 16, 9, 0)


async def test_changed_settings_move_the_slot_without_posting(
    database: Database, understander: Understander, clock: FakeClock
) -> None:
    first = build_harness(database, ScriptedUnderstander(understander), clock)
    await first.settle()  # scheduled for Monday 09:00 UTC
    moved = build_harness(
        database,
        ScriptedUnderstander(understander),
        clock,
        digest_day="Friday",
        digest_time="17:30",
        timezone="Europe/Berlin",
    )
    clock.now = _utc(2026, 3, 9, 9, 1)
    await moved.settle()
    assert _digests(moved) == []
    job = await _job(moved)
    assert job.due_at.replace(tzinfo=UTC) == _utc(2026, 3, 13, 16, 30)
    clock.now = _utc(2026, 3, 13, 16, 31)
    await moved.settle()
    assert len(_digests(moved)) == 1


async def test_manager_summary_counts_and_honest_wording(harness: Harness) -> None:
    await _rated_week(harness, 2)
    summary = await digest.manager_summary(harness.engine, 7)
    assert summary["period"].endswith("(today so far included)")
    assert summary["conversations"] >= 1
    names = [row["name"] for row in summary["rows"]]
    assert names == ["CSAT (4–5 of 5)", "Survey response rate", "Handoff rate", "Bot resolution"]
    assert summary["rows"][0]["value"] == "0 of 1 satisfied"
    assert summary["low_scores"] and summary["low_scores"][0]["score"] == 2
    lines = digest.summary_lines(summary)
    assert lines[1].startswith("Conversations:")
    assert any("not enough data to compare" in line for line in lines)
