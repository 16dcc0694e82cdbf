"""``carebot report`` and ``carebot seed``: period parsing, every format, the seed."""

from __future__ import annotations

import argparse
import csv
import io
import json
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.errors import ConfigError
from bot.reporting import add_report_commands, parse_period, run_report
from bot.reporting_view import change_text, duration
from storage.db import Database
from storage.report_model import Change, Proportion
from storage.seed import seed_database
from tests.helpers import make_settings
from tests.storage.report_fixtures import seed_fixed

BERLIN = ZoneInfo("Europe/Berlin")


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_report_commands(parser.add_subparsers(dest="command"))
    return parser.parse_args(list(argv))


def test_periods() -> None:
    today = date(2026, 3, 20)
    assert parse_period("7d", None, BERLIN, today) == (date(2026, 3, 13), date(2026, 3, 19))
    assert parse_period("2w", "today", BERLIN, today) == (date(2026, 3, 7), date(2026, 3, 20))
    assert parse_period("2026-03-02", "2026-03-15", BERLIN, today) == (
        date(2026, 3, 2),
        date(2026, 3, 15),
    )
    with pytest.raises(ConfigError):
        parse_period("yesterdayish", None, BERLIN, today)
    with pytest.raises(ConfigError):
        parse_period("2026-03-16", "2026-03-15", BERLIN, today)


def test_wording() -> None:
    assert duration(95) == "1m 35s" and duration(3900) == "1h 05m" and duration(None) == "–"
    real = Change("CSAT", Proportion(170, 200), Proportion(150, 200))
    noise = Change("CSAT", Proportion(18, 20), Proportion(15, 20))
    assert change_text(real) == "+10 pts (+2…+18) up"
    assert change_text(noise) == "+15 pts (-9…+38) no clear change"
    assert change_text(Change("CSAT", Proportion(4, 5), Proportion(30, 40))) == "not enough data"
    assert Proportion(4, 5).short() == "4/5" and Proportion(18, 20).short() == "90%* (70–97)"


async def _render(database: Database, *argv: str) -> str:
    url = str(database.engine.url.render_as_string(hide_password=False))
    settings = make_settings(database_url=url, timezone="Europe/Berlin")
    out = io.StringIO()
    args = parse("report", "--since", "2026-03-02", "--until", "2026-03-15", *argv)
    assert await run_report(args, settings, out) == 0
    return out.getvalue()


@pytest.fixture
def sqlite_only(database: Database) -> Database:
    if not database.is_sqlite:
        pytest.skip("rendering is engine-independent; the SQL is tested in tests/storage")
    return database


async def test_text_fits_80_columns(sqlite_only: Database) -> None:
    await seed_fixed(sqlite_only)
    text = await _render(sqlite_only, "--by", "intent,agent", "--by", "tag")
    assert max(len(line) for line in text.splitlines()) <= 80
    for expected in (
        "CSAT (4–5 of",
        "1/2",
        "By intent",
        "refund_status",
        "Ana Agent",
        "Lowest rated",
        "slow",
        "Customers at risk",
        "Cleo",
        "no clear change" if "no clear change" in text else "not enough data",
    ):
        assert expected in text


async def test_markdown_json_html(sqlite_only: Database) -> None:
    await seed_fixed(sqlite_only)
    markdown = await _render(sqlite_only, "--format", "markdown", "--by", "channel")
    assert "| Conversations | 5 | 2 |  |" in markdown and "## By channel" in markdown
    data = json.loads(await _render(sqlite_only, "--format", "json", "--by", "intent"))
    assert data["current"]["counts"]["conversations"] == 5
    assert data["current"]["counts"]["csat"]["counts_only"] is True
    assert data["breakdowns"]["intent"][0]["counts"]["conversations"] == 2
    html = await _render(sqlite_only, "--format", "html")
    assert html.startswith("<!DOCTYPE html>") and 'id="chart-csat-trend"' in html
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in html


async def test_html_escapes_comments(sqlite_only: Database) -> None:
    from sqlalchemy import update

    from storage.models import Survey

    await seed_fixed(sqlite_only)
    async with sqlite_only.sessions() as session, session.begin():
        await session.execute(
            update(Survey)
            .where(Survey.comment == "slow")
            .values(comment="<script>alert(1)</script>")
        )
    html = await _render(sqlite_only, "--format", "html")
    assert "<script>" not in html and "&lt;script&gt;" in html


async def test_csv_touchpoints(sqlite_only: Database) -> None:
    await seed_fixed(sqlite_only)
    rows = list(csv.DictReader(io.StringIO(await _render(sqlite_only, "--format", "csv"))))
    assert [row["conversation_id"] for row in rows] == ["1", "2", "3", "4", "5"]
    second = rows[1]
    assert (second["agent"], second["csat_score"], second["csat_comment"]) == (
        "Ana Agent",
        "2",
        "slow",
    )
    assert second["started_at"] == "2026-03-03T10:00:00+01:00"
    assert second["first_response_seconds"] == "480"
    assert rows[4]["tags"] == "vip;b2b" and rows[0]["agent"] == "bot"


async def test_seed_is_realistic(database: Database) -> None:
    seen: list[int] = []
    stats = await seed_database(database, 2000, weeks=4, seed=7, progress=seen.append)
    assert sum(seen) == stats.conversations == 2000
    assert 0.2 < stats.handoffs / 2000 < 0.4
    with pytest.raises(ValueError, match="already has conversations"):
        await seed_database(database, 10)


def test_cli_registration() -> None:
    args = parse("seed", "--conversations", "5")
    assert args.handler.__name__ == "seed_main" and args.weeks == 12
    args = parse("report")
    assert (args.since, args.format, args.handler.__name__) == ("28d", "text", "report_main")


def test_report_writes_file(tmp_path: Path, sqlite_only: Database) -> None:
    from bot.reporting import report_main

    url = str(sqlite_only.engine.url)
    out = tmp_path / "r.md"
    args = parse("report", "--format", "markdown", "--out", str(out))
    assert report_main(args, make_settings(database_url=url)) == 0
    assert out.read_text(encoding="utf-8").startswith("# Carebot report")
