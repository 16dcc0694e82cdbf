"""Block Kit for the manager summary (``/carebot report`` and the weekly digest).

The numbers arrive formatted by :mod:`bot.core.digest` (n, Wilson interval, "no clear
change" verdicts); this module only lays them out. Everything is still escaped and
``verbatim``: a summary holds no customer text today, but nothing here should be able to
ping a channel if that ever changes.
"""

from __future__ import annotations

from typing import Any

from bot.channels.slack_blocks import HEADER_LIMIT, clip
from bot.core.digest import summary_lines
from responses.escaping import for_slack_mrkdwn as esc

FIELDS_PER_SECTION = 10  # Slack's limit for section fields
HOW_TO_READ = (
    "Rates show their count and a 95% Wilson interval; under 10 answers only counts are "
    "shown. \u201cNo clear change\u201d means the 95% interval of the difference includes zero."
)
_VERDICT = {
    "up": ":arrow_up: up",
    "down": ":arrow_down: down",
    "no clear change": "no clear change",
}


def _md(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": clip(text), "verbatim": True}


def _versus(summary: dict[str, Any]) -> str:
    days = int(summary.get("days") or 7)
    if days == 7:
        return "Week over week"
    return f"Compared with the {days} days before"


def summary_text(summary: dict[str, Any]) -> str:
    """The notification fallback: the whole summary as escaped lines."""
    return clip("\n".join(esc(line) for line in summary_lines(summary)))


def summary_blocks(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """Header, period, the key numbers as fields, week-over-week and how to read them."""
    fields = [
        _md(
            f"*Conversations*\n{int(summary['conversations'])} "
            f"(before: {int(summary['previous_conversations'])})"
        )
    ]
    for row in summary["rows"]:
        fields.append(_md(f"*{esc(row['name'])}*\n{esc(row['value'])}"))
    if summary.get("mean_score"):
        fields.append(_md(f"*Mean score*\n{esc(summary['mean_score'])}"))
    fields.append(_md(f"*Median first human response*\n{esc(summary['first_response'])}"))
    changes = [
        f"• {esc(row['name'])}: {_VERDICT.get(row['verdict'], 'not enough data')}"
        + (f" — {esc(row['change'])}" if row["verdict"] in _VERDICT else "")
        for row in summary["rows"]
    ]
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": clip(str(summary["title"]), HEADER_LIMIT)},
        },
        {
            "type": "context",
            "elements": [
                _md(
                    f"{esc(summary['period'])} ({esc(summary['timezone'])}) · compared with "
                    f"{esc(summary['previous_period'])}"
                )
            ],
        },
        {"type": "section", "fields": fields[:FIELDS_PER_SECTION]},
        {"type": "section", "text": _md(f"*{_versus(summary)}*\n" + "\n".join(changes))},
    ]
    low = summary.get("low_scores") or []
    if low:
        items = ", ".join(
            f"#{int(item['conversation_id'])} ({int(item['score'])}/5)" for item in low
        )
        blocks.append({"type": "section", "text": _md(f"*Low scores to follow up*\n{items}")})
    blocks.append({"type": "context", "elements": [_md(HOW_TO_READ)]})
    return blocks
