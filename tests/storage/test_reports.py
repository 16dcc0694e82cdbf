"""Report metrics on fixed data, against values computed by hand (see report_fixtures)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from storage.db import Database
from storage.reports import ReportRequest, build_report, summary
from tests.storage.report_fixtures import add_all, at, conversation, seed_fixed, survey

BERLIN = "Europe/Berlin"


def request(**kw: object) -> ReportRequest:
    base: dict[str, object] = dict(
        first_day=date(2026, 3, 2),
        last_day=date(2026, 3, 15),
        timezone=BERLIN,
        now=datetime(2026, 3, 20, tzinfo=UTC),
    )
    base.update(kw)
    return ReportRequest(**base)  # type: ignore[arg-type]


async def test_overall_numbers_match_hand_computation(database: Database) -> None:
    await seed_fixed(database)
    report = await build_report(database, request())
    c = report.current.counts
    assert (c.conversations, c.handed, c.bot_confirmed, c.bot_assumed, c.abandoned) == (
        5,
        3,
        1,
        1,
        1,
    )
    assert (c.resolved, c.reopened, c.repeat) == (4, 1, 2)
    assert (c.sent, c.answered, c.satisfied, c.score_sum, c.score_squares) == (3, 2, 1, 7, 29)
    assert c.distribution == (0, 1, 0, 0, 1)
    assert (c.handoffs, c.handoffs_answered, c.sla_met, c.sla_breached) == (3, 2, 1, 2)
    assert c.mean_score == 3.5
    assert report.current.reasons == {"customer_request": 1, "negative_mood": 1, "vip": 1}
    assert report.current.first_response.n == 2
    assert report.current.first_response.median == pytest.approx(1140, abs=0.01)
    assert report.current.first_response.p90 == pytest.approx(1668, abs=0.01)
    assert report.current.resolution_time.median == pytest.approx(1800, abs=0.01)
    assert report.current.resolution_time.p90 == pytest.approx(3060, abs=0.01)


async def test_bot_only_and_handed_off_add_up(database: Database) -> None:
    await seed_fixed(database)
    report = await build_report(database, request())
    bot, human = report.current.bot_only, report.current.handed_off
    assert (bot.conversations, bot.sent, bot.answered, bot.satisfied) == (2, 1, 1, 1)
    assert (human.conversations, human.sent, human.answered, human.satisfied) == (3, 2, 1, 0)
    assert bot + human == report.current.counts


async def test_previous_period_and_boundary(database: Database) -> None:
    await seed_fixed(database)
    report = await build_report(database, request())
    p = report.previous.counts
    assert report.previous_period.first_day == date(2026, 2, 16)
    assert (p.conversations, p.handed, p.resolved, p.repeat) == (2, 1, 2, 1)
    assert (p.answered, p.satisfied, p.sla_met) == (2, 2, 1)
    assert report.previous.first_response.median == pytest.approx(180, abs=0.01)
    assert report.previous.resolution_time.median == pytest.approx(900, abs=0.01)
    assert report.previous.resolution_time.p90 == pytest.approx(1140, abs=0.01)
    assert report.changes[0].verdict == "not enough data"


async def test_breakdowns(database: Database) -> None:
    await seed_fixed(database)
    keys = ("intent", "agent", "tag", "reason", "channel", "day", "week")
    report = await build_report(database, request(breakdowns=keys))
    by = {key: {row.label: row for row in rows} for key, rows in report.breakdowns.items()}
    assert {k: r.counts.conversations for k, r in by["intent"].items()} == {
        "order_status": 2,
        "refund_status": 2,
        "(unknown)": 1,
    }
    assert by["intent"]["refund_status"].first_response.median == pytest.approx(1140, abs=0.01)
    assert {k: r.counts.conversations for k, r in by["agent"].items()} == {
        "bot": 3,
        "Ana Agent": 1,
        "Bo Boss": 1,
    }
    assert by["agent"]["Ana Agent"].previous.conversations == 1
    assert {k: r.counts.conversations for k, r in by["tag"].items()} == {
        "vip": 3,
        "b2b": 2,
        "(no tag)": 2,
    }
    assert by["tag"]["vip"].counts.handoffs == 1
    assert {k: r.counts.conversations for k, r in by["reason"].items()} == {
        "(bot only)": 2,
        "customer_request": 1,
        "negative_mood": 1,
        "vip": 1,
    }
    assert {k: r.counts.conversations for k, r in by["channel"].items()} == {
        "telegram": 4,
        "console": 1,
    }
    days = {k: r.counts.conversations for k, r in by["day"].items()}
    assert days == {
        "2026-03-02": 1,
        "2026-03-03": 1,
        "2026-03-05": 1,
        "2026-03-10": 1,
        "2026-03-15": 1,
    }  # 23:30 UTC on the 9th is the 10th in Berlin
    assert [p.counts.conversations for p in report.trend] == [1, 1, 3, 2]
    assert [p.label for p in report.trend][2] == "week of 2026-03-02"


async def test_lists(database: Database) -> None:
    await seed_fixed(database)
    report = await build_report(database, request())
    assert [
        (low.conversation_id, low.score, low.comment, low.agent) for low in report.lowest_rated
    ] == [(2, 2, "slow", "Ana Agent")]
    risk = [(r.name, r.low_scores, r.unresolved_handoffs, r.conversations) for r in report.at_risk]
    assert risk == [("Bob", 1, 0, 2), ("Cleo", 0, 1, 2)]
    assert report.at_risk[1].tags == ["vip", "b2b"]


async def test_time_zone_moves_the_boundary(database: Database) -> None:
    await add_all(database, *_one_customer(), conversation(1, 1, "03-01 23:30"))
    utc = await build_report(database, request(timezone="UTC"))
    berlin = await build_report(database, request())
    assert (utc.current.counts.conversations, utc.previous.counts.conversations) == (0, 1)
    assert (berlin.current.counts.conversations, berlin.previous.counts.conversations) == (1, 0)


async def test_empty_database(database: Database) -> None:
    report = await build_report(database, request(breakdowns=("intent", "tag", "agent")))
    assert report.current.counts.conversations == 0
    assert report.current.counts.csat.describe() == "no data"
    assert report.current.first_response.median is None
    assert report.breakdowns == {"intent": [], "tag": [], "agent": []}
    assert report.lowest_rated == [] and report.at_risk == []
    assert all(change.verdict == "not enough data" for change in report.changes)


async def test_single_answer_and_all_fives(database: Database) -> None:
    rows: list[object] = list(_one_customer())
    for n in range(1, 13):
        rows.append(
            conversation(
                n,
                1,
                f"03-0{2 + n % 7} 10:00",
                resolution="bot_confirmed",
                resolved_at=at(f"03-0{2 + n % 7} 10:01"),
            )
        )
        rows.append(survey(n, 1, "answered", 5))
    await add_all(database, *rows)
    c = (await build_report(database, request())).current.counts
    assert (c.answered, c.satisfied, c.mean_score) == (12, 12, 5.0)
    assert c.csat.describe() == "100% (12/12, 95% CI 76%–100%) · low sample"
    assert c.mean_interval == (5.0, 5.0)


async def test_summary_still_works(database: Database) -> None:
    await seed_fixed(database)
    result = await summary(database, at("03-01 23:00"), at("03-15 23:00"))
    assert result.conversations == 5  # 1-5, minus 5 (22:59+), plus 7 (22:30 is before)
    assert result.csat.k == 1 and result.response_rate.n == 3


def _one_customer() -> tuple[object, ...]:
    from storage.models import Customer

    return (Customer(id=1, channel="telegram", external_id="a", address="a", tags=[], extra={}),)
