"""Text, Markdown, JSON and CSV renderings of a report."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from dataclasses import asdict
from datetime import date, datetime
from typing import Any, TextIO

from rich import box
from rich.console import Console
from rich.table import Table

from bot.reporting_view import LEGEND, Section, sections, title
from storage.report_lists import TOUCHPOINT_COLUMNS
from storage.report_model import Change, Counts, Proportion
from storage.reports import Report


def render_text(report: Report, out: TextIO, *, width: int = 80, color: bool = False) -> None:
    """Rich tables sized for an 80-column terminal."""
    console = Console(
        file=out,
        width=width,
        force_terminal=color,
        no_color=not color,
        highlight=False,
        emoji=False,
    )
    console.print(title(report), style="bold")
    for section in sections(report):
        table = Table(
            title=section.title,
            title_justify="left",
            box=box.SIMPLE_HEAD,
            show_edge=False,
            pad_edge=False,
            expand=False,
            title_style="bold",
        )
        for index, header in enumerate(section.headers):
            table.add_column(
                header, justify="right" if index in section.numeric else "left", overflow="fold"
            )
        for row in section.rows:
            table.add_row(*row)
        if not section.rows:
            console.print(f"[bold]{section.title}[/bold]: none")
            continue
        console.print(table)
        if section.note:
            console.print(section.note, style="dim")
    console.print()
    console.print(LEGEND, style="dim")


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown_section(section: Section) -> str:
    """One GitHub-flavoured Markdown table."""
    lines = [f"## {section.title}", ""]
    if not section.rows:
        return "\n".join([*lines, "None.", ""])
    lines.append("| " + " | ".join(section.headers) + " |")
    lines.append(
        "|"
        + "|".join("---:" if i in section.numeric else "---" for i in range(len(section.headers)))
        + "|"
    )
    lines += ["| " + " | ".join(_md_cell(cell) for cell in row) + " |" for row in section.rows]
    if section.note:
        lines += ["", f"_{section.note}_"]
    return "\n".join([*lines, ""])


def render_markdown(report: Report, out: TextIO) -> None:
    """A Markdown document (for a wiki page or a pull request)."""
    out.write(f"# {title(report)}\n\n")
    for section in sections(report):
        out.write(markdown_section(section) + "\n")
    out.write(f"_{LEGEND}_\n")


def _proportion(value: Proportion) -> dict[str, Any]:
    low, high = value.interval
    return {
        "k": value.k,
        "n": value.n,
        "value": value.value,
        "ci95": [low, high] if value.n else None,
        "low_sample": value.low_sample,
        "counts_only": value.counts_only,
        "text": value.describe(),
    }


def _counts(counts: Counts) -> dict[str, Any]:
    data: dict[str, Any] = asdict(counts)
    for name in (
        "csat",
        "response_rate",
        "handoff_rate",
        "containment",
        "bot_resolution",
        "bot_confirmed_rate",
        "bot_assumed_rate",
        "abandonment",
        "repeat_rate",
        "reopen_rate",
        "sla",
    ):
        data[name] = _proportion(getattr(counts, name))
    data["mean_score"] = counts.mean_score
    data["mean_score_ci95"] = counts.mean_interval
    return data


def _change(change: Change) -> dict[str, Any]:
    return {
        "name": change.name,
        "current": _proportion(change.current),
        "previous": _proportion(change.previous),
        "difference": change.difference,
        "ci95": change.interval,
        "verdict": change.verdict,
    }


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Counts):
        return _counts(value)
    if isinstance(value, Change):
        return _change(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "__dataclass_fields__"):
        return {name: _plain(getattr(value, name)) for name in value.__dataclass_fields__}
    return value


def report_json(report: Report) -> dict[str, Any]:
    """Every number with its count and interval, for dashboards and scripts."""
    return {
        "period": _plain(report.period),
        "previous_period": _plain(report.previous_period),
        "timezone": report.request.timezone,
        "generated_at": report.generated_at.isoformat(),
        "current": _plain(report.current),
        "previous": _plain(report.previous),
        "changes": [_change(change) for change in report.changes],
        "trend_unit": report.trend_unit,
        "trend": _plain(report.trend),
        "breakdowns": _plain(report.breakdowns),
        "lowest_rated": _plain(report.lowest_rated),
        "at_risk": _plain(report.at_risk),
    }


def render_json(report: Report, out: TextIO) -> None:
    """Pretty JSON."""
    json.dump(report_json(report), out, indent=2, ensure_ascii=False)
    out.write("\n")


async def write_touchpoints_csv(rows: AsyncIterator[dict[str, Any]], out: TextIO, zone: Any) -> int:
    """The touchpoint export: one row per conversation, times in the business zone."""
    writer = csv.writer(out)
    writer.writerow(TOUCHPOINT_COLUMNS)
    count = 0
    async for row in rows:
        values = []
        for name in TOUCHPOINT_COLUMNS:
            value = row[name]
            if isinstance(value, datetime):
                value = value.astimezone(zone).isoformat(timespec="seconds")
            elif isinstance(value, list):
                value = ";".join(value)
            elif isinstance(value, float):
                value = f"{value:.0f}"
            values.append("" if value is None else value)
        writer.writerow(values)
        count += 1
    return count


def to_string(render: Any, report: Report) -> str:
    """Render into a string (tests, Slack later)."""
    buffer = io.StringIO()
    render(report, buffer)
    return buffer.getvalue()
