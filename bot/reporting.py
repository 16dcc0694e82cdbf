"""``carebot report`` and ``carebot seed``: satisfaction reports for managers, and demo data.

``add_report_commands(subparsers)`` registers both commands; handlers take
``(args, settings)`` and return an exit code, like every other ``carebot`` command.
``python -m bot.reporting report ...`` runs them without the main CLI.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from bot.config import Settings, load_settings
from bot.errors import ConfigError
from storage.db import open_database
from storage.reports import BREAKDOWNS, ReportRequest, build_report, make_period

FORMATS = ("text", "markdown", "json", "csv", "html")
_RELATIVE = re.compile(r"^(\d+)([dw])$")


def parse_period(
    since: str,
    until: str | None,
    zone: ZoneInfo,
    today: date | None = None,
) -> tuple[date, date]:
    """``--since 7d|4w|YYYY-MM-DD`` and ``--until YYYY-MM-DD|today|yesterday`` → local days.

    Both ends are inclusive whole days in the business time zone. By default a report
    ends yesterday, so every day in it is complete; ``--until today`` includes today so far.
    """
    today = today or datetime.now(UTC).astimezone(zone).date()
    if until in (None, "", "yesterday"):
        last = today - timedelta(days=1)
    elif until == "today":
        last = today
    else:
        last = _date(until, "--until")
    match = _RELATIVE.match(since.strip().lower())
    if match:
        count = int(match.group(1)) * (7 if match.group(2) == "w" else 1)
        if count < 1:
            raise ConfigError("--since must cover at least one day")
        first = last - timedelta(days=count - 1)
    else:
        first = _date(since, "--since")
    if first > last:
        raise ConfigError(f"--since {first} is after --until {last}")
    return first, last


def _date(text: str, flag: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"{flag}: use 7d, 4w or a date like 2026-03-01 (got {text!r})") from None


def _breakdowns(values: Sequence[str] | None) -> tuple[str, ...]:
    keys: list[str] = []
    for value in values or []:
        for key in value.split(","):
            key = key.strip().lower()
            if key and key not in BREAKDOWNS:
                raise ConfigError(f"--by {key}: choose from {', '.join(BREAKDOWNS)}")
            if key and key not in keys:
                keys.append(key)
    return tuple(keys)


async def run_report(args: argparse.Namespace, settings: Settings, out: TextIO) -> int:
    """Compute the report and write it in the chosen format."""
    from bot.reporting_formats import (
        render_json,
        render_markdown,
        render_text,
        write_touchpoints_csv,
    )

    zone = settings.zone
    first, last = parse_period(args.since, args.until, zone)
    db = open_database(settings.database_url)
    try:
        if args.format == "csv":
            from storage.report_lists import touchpoints
            from storage.report_queries import Window

            period = make_period(first, last, zone)
            window = Window(
                sqlite=db.is_sqlite,
                since=period.since,
                until=period.until,
                previous_since=period.since,
                bucket_starts=[],
                day_starts=[],
                now=datetime.now(UTC),
                sla_seconds=settings.sla_minutes * 60,
                vip_sla_seconds=settings.vip_sla_minutes * 60,
            )
            async with db.engine.connect() as connection:
                await write_touchpoints_csv(touchpoints(connection, window), out, zone)
            return 0
        request = ReportRequest(
            first_day=first,
            last_day=last,
            timezone=settings.timezone,
            breakdowns=_breakdowns(args.by),
            trend=args.trend,
            sla_minutes=settings.sla_minutes,
            vip_sla_minutes=settings.vip_sla_minutes,
            list_limit=args.limit,
        )
        report = await build_report(db, request)
    finally:
        await db.dispose()
    renderers: dict[str, Callable[[Any, TextIO], None]] = {
        "markdown": render_markdown,
        "json": render_json,
    }
    if args.format == "html":  # Jinja is only needed here
        from bot.reporting_html import render_html

        renderers["html"] = render_html
    if args.format == "text":
        render_text(report, out, width=args.width, color=out is sys.stdout and out.isatty())
    else:
        renderers[args.format](report, out)
    return 0


def report_main(args: argparse.Namespace, settings: Settings) -> int:
    """``carebot report``."""
    target = Path(args.out) if args.out else None
    with (
        target.open("w", encoding="utf-8", newline="") if target else nullcontext(sys.stdout)
    ) as out:
        code = asyncio.run(run_report(args, settings, out))
    if target is not None:
        print(f"Report written to {target}", file=sys.stderr)
    return code


def seed_main(args: argparse.Namespace, settings: Settings) -> int:
    """``carebot seed``: migrate, then fill the database with synthetic touchpoints."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from storage.migrate import upgrade_database
    from storage.seed import seed_database

    if args.conversations < 1:
        raise ConfigError("--conversations must be at least 1")

    async def seed() -> None:
        db = open_database(settings.database_url)
        try:
            await upgrade_database(db)
            with Progress(
                "[progress.description]{task.description}",
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                disable=args.quiet,
            ) as progress:
                task = progress.add_task("Seeding conversations", total=args.conversations)
                try:
                    stats = await seed_database(
                        db,
                        args.conversations,
                        weeks=args.weeks,
                        seed=args.seed,
                        progress=lambda n: progress.advance(task, n),
                    )
                except ValueError as exc:
                    raise ConfigError(str(exc)) from None
            print(
                f"Seeded {stats.conversations} conversations, {stats.handoffs} handoffs, "
                f"{stats.surveys} surveys for {stats.customers} customers.",
                file=sys.stderr,
            )
        finally:
            await db.dispose()

    asyncio.run(seed())
    return 0


def add_report_commands(subparsers: Any) -> None:
    """Register ``report`` and ``seed`` on the ``carebot`` sub-command parser."""
    text = "satisfaction report for managers (text, markdown, json, csv, html)"
    report = subparsers.add_parser("report", help=text, description=text)
    report.set_defaults(handler=report_main)
    report.add_argument(
        "--since", default="28d", help="start: 7d, 4w or YYYY-MM-DD (default 28d: four weeks)"
    )
    report.add_argument(
        "--until",
        default=None,
        help="last day, inclusive: YYYY-MM-DD, today or yesterday (default)",
    )
    report.add_argument(
        "--by",
        action="append",
        metavar="KEY",
        help=f"breakdown(s), comma-separated or repeated: {', '.join(BREAKDOWNS)}",
    )
    report.add_argument(
        "--format",
        choices=FORMATS,
        default="text",
        help="csv is the touchpoint export: one row per conversation",
    )
    report.add_argument("--out", metavar="FILE", help="write to FILE instead of the terminal")
    report.add_argument(
        "--trend",
        choices=("auto", "day", "week"),
        default="auto",
        help="trend buckets (auto: weeks from 14 days on)",
    )
    report.add_argument(
        "--limit",
        type=int,
        default=10,
        help="rows in the lowest-rated and at-risk lists (default 10)",
    )
    report.add_argument("--width", type=int, default=80, help="text width (default 80)")
    text = "fill the database with realistic synthetic conversations (demos, benchmarks)"
    seed = subparsers.add_parser("seed", help=text, description=text)
    seed.set_defaults(handler=seed_main)
    seed.add_argument("--conversations", type=int, default=10_000, help="how many (10000)")
    seed.add_argument("--weeks", type=int, default=12, help="spread over this many weeks (12)")
    seed.add_argument("--seed", type=int, default=1, help="random seed, for repeatable data")
    seed.add_argument("--quiet", action="store_true", help="no progress bar")


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m bot.reporting report|seed ...`` (the same commands without bot.cli)."""
    parser = argparse.ArgumentParser(prog="carebot")
    add_report_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args, load_settings()))
    except ConfigError as exc:
        print(f"carebot: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
