"""A report as plain tables of strings, shared by the text, Markdown and HTML formats.

Numbers are worded here once, following PRODUCT.md §2: percentages only from ten
observations, a ``*`` low-sample mark under thirty, 95% intervals in brackets, and a
change called a change only when its interval excludes zero.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from storage.report_model import Change, Counts, Durations, GroupRow, Proportion
from storage.reports import Report

BREAKDOWN_TITLES = {
    "intent": "By intent",
    "reason": "By handoff reason",
    "agent": "By agent",
    "channel": "By channel",
    "tag": "By customer tag",
    "day": "By day",
    "week": "By week",
}
LEGEND = (
    "Percentages show the 95% interval in brackets (Wilson). Under 10 observations only counts "
    "are shown; * marks a low sample (10–29). A change is called only when its 95% interval "
    '(Newcombe) excludes zero; otherwise it reads "no clear change". Conversations count in '
    "the period they started in."
)


@dataclass
class Section:
    """A titled table."""

    title: str
    headers: list[str]
    rows: list[list[str]]
    note: str = ""
    numeric: set[int] = field(default_factory=set)


def duration(seconds: float | None) -> str:
    """``95`` → ``"1m 35s"``; ``None`` → ``"–"``."""
    if seconds is None:
        return "–"
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.0f}s"
    if seconds < 3600:
        return f"{int(seconds // 60)}m {int(seconds % 60):02d}s"
    if seconds < 86400:
        return f"{int(seconds // 3600)}h {int(seconds % 3600 // 60):02d}m"
    return f"{int(seconds // 86400)}d {int(seconds % 86400 // 3600):02d}h"


def durations(value: Durations) -> str:
    """``"4m 10s / 22m 00s (n=120)"``: median / p90."""
    if value.n == 0:
        return "–"
    return f"{duration(value.median)} / {duration(value.p90)} (n={value.n})"


def mean_text(counts: Counts) -> str:
    """Mean score with its t interval, counts-only rules applied."""
    if counts.answered == 0 or counts.mean_score is None:
        return "–"
    if counts.answered < 10:
        return f"{counts.mean_score:.1f} (n={counts.answered})"
    interval = counts.mean_interval
    assert interval is not None
    mark = "*" if counts.answered < 30 else ""
    return f"{counts.mean_score:.2f}{mark} ({interval[0]:.2f}–{interval[1]:.2f})"


def change_text(change: Change) -> str:
    """``"+10 pts (+2…+18) up"``, ``"no clear change"`` or ``"not enough data"``."""
    interval, difference = change.interval, change.difference
    if interval is None or difference is None:
        return "not enough data"
    spread = f"{difference * 100:+.0f} pts ({interval[0] * 100:+.0f}…{interval[1] * 100:+.0f})"
    return f"{spread} {change.verdict}"


def _row(name: str, now: Proportion, before: Proportion, change: Change | None) -> list[str]:
    return [name, now.short(), before.short(), change_text(change) if change else ""]


def headline(report: Report) -> Section:
    """The main table: this period, the previous one and the change."""
    now, before = report.current.counts, report.previous.counts
    changes = {change.name: change for change in report.changes}
    rows = [
        ["Conversations", str(now.conversations), str(before.conversations), ""],
        _row("CSAT (4–5 of answered)", now.csat, before.csat, changes["CSAT"]),
        ["Mean score (1–5)", mean_text(now), mean_text(before), ""],
        _row("Response rate", now.response_rate, before.response_rate, changes["Response rate"]),
        _row("Handoff rate", now.handoff_rate, before.handoff_rate, changes["Handoff rate"]),
        _row("Containment", now.containment, before.containment, None),
        _row(
            "Bot resolution", now.bot_resolution, before.bot_resolution, changes["Bot resolution"]
        ),
        _row("  confirmed", now.bot_confirmed_rate, before.bot_confirmed_rate, None),
        _row("  assumed", now.bot_assumed_rate, before.bot_assumed_rate, None),
        _row(
            "Abandonment (of handoffs)", now.abandonment, before.abandonment, changes["Abandonment"]
        ),
        _row(
            "Repeat contact in 7 days",
            now.repeat_rate,
            before.repeat_rate,
            changes["Repeat contact (7 d)"],
        ),
        _row("Reopen rate", now.reopen_rate, before.reopen_rate, changes["Reopen rate"]),
        _row("SLA met", now.sla, before.sla, changes["SLA met"]),
        [
            "Human first response",
            durations(report.current.first_response),
            durations(report.previous.first_response),
            "",
        ],
        [
            "Time to resolution",
            durations(report.current.resolution_time),
            durations(report.previous.resolution_time),
            "",
        ],
    ]
    return Section(
        "Summary",
        ["Metric", "This period", "Previous", "Change"],
        rows,
        note="Times are median / p90.",
        numeric={1, 2},
    )


def csat_split(report: Report) -> Section:
    """Bot-only and handed-off CSAT side by side, with the 1–5 distribution."""
    rows = []
    for name, counts in (
        ("Bot only", report.current.bot_only),
        ("Handed off", report.current.handed_off),
        ("All", report.current.counts),
    ):
        rows.append(
            [
                name,
                counts.csat.short(),
                mean_text(counts),
                counts.response_rate.short(),
                " ".join(str(n) for n in counts.distribution),
            ]
        )
    return Section(
        "CSAT: bot only vs handed off",
        ["", "CSAT", "Mean", "Response rate", "Scores 1 2 3 4 5"],
        rows,
    )


def reasons(report: Report) -> Section:
    """Why conversations went to a person."""
    handed = report.current.counts.handed
    rows = [
        [reason, str(count), Proportion(count, handed).short()]
        for reason, count in report.current.reasons.items()
    ]
    return Section("Handoff reasons", ["Reason", "Handoffs", "Share"], rows, numeric={1})


def trend(report: Report) -> Section:
    """CSAT per week (or day) with the change from the bucket before."""
    rows = []
    for point in report.trend:
        counts = point.counts
        rows.append(
            [
                point.label + (" (partial)" if point.partial else ""),
                str(counts.conversations),
                counts.csat.short(),
                str(counts.answered),
                change_text(point.change) if point.change else "",
            ]
        )
    return Section(
        f"Trend by {report.trend_unit}",
        [report.trend_unit.capitalize(), "Conv.", "CSAT", "n", "vs previous"],
        rows,
        numeric={1, 3},
    )


def breakdown(key: str, rows: list[GroupRow]) -> Section:
    """One breakdown table."""
    table = [
        [
            row.label,
            str(row.counts.conversations),
            row.counts.handoff_rate.short(),
            row.counts.csat.short(),
            str(row.counts.answered),
            duration(row.first_response.median),
            duration(row.resolution_time.median),
        ]
        for row in rows
    ]
    return Section(
        BREAKDOWN_TITLES.get(key, key),
        [key.capitalize(), "Conv.", "Handoff", "CSAT", "n", "FRT", "TTR"],
        table,
        note="FRT = median human first response; TTR = median time to resolution.",
        numeric={1, 4},
    )


def lowest(report: Report) -> Section:
    """The lowest-rated conversations, with comments."""
    rows = [
        [
            f"#{item.conversation_id}",
            str(item.score),
            item.intent or "–",
            item.agent,
            item.customer,
            item.comment or "",
        ]
        for item in report.lowest_rated
    ]
    return Section(
        "Lowest rated", ["Conv.", "Score", "Intent", "Agent", "Customer", "Comment"], rows
    )


def at_risk(report: Report) -> Section:
    """Customers to follow up."""
    rows = [
        [
            item.name,
            ", ".join(item.tags),
            str(item.conversations),
            str(item.low_scores),
            str(item.unresolved_handoffs),
        ]
        for item in report.at_risk
    ]
    return Section(
        "Customers at risk",
        ["Customer", "Tags", "Contacts", "Low ratings", "Unresolved handoffs"],
        rows,
    )


def sections(report: Report) -> list[Section]:
    """Every table of the report, in reading order."""
    result = [headline(report), csat_split(report), reasons(report), trend(report)]
    result += [breakdown(key, rows) for key, rows in report.breakdowns.items()]
    result += [lowest(report), at_risk(report)]
    return result


def title(report: Report) -> str:
    """One line naming the period and its comparison."""
    return (
        f"Carebot report · {report.period.label} ({report.request.timezone}) · "
        f"compared with {report.previous_period.label}"
    )
