"""The manager summary's Block Kit: honest verdicts, escaped and verbatim mrkdwn."""

from __future__ import annotations

from typing import Any

from bot.channels.slack_report import summary_blocks, summary_text
from bot.core import digest
from storage.reports import Change, Proportion


def _summary(*rows: dict[str, str], days: int = 7) -> dict[str, Any]:
    return {
        "title": "Weekly support digest",
        "period": "2026-03-02 – 2026-03-08",
        "previous_period": "2026-02-23 – 2026-03-01",
        "timezone": "Europe/Berlin",
        "days": days,
        "conversations": 400,
        "previous_conversations": 380,
        "rows": list(rows),
        "mean_score": "4.3/5",
        "first_response": "median 4 min, p90 12 min (n=120)",
        "low_scores": [{"conversation_id": 12, "score": 1}],
    }


def test_verdicts_follow_the_newcombe_interval() -> None:
    noise = digest._row("CSAT (4–5 of 5)", Change("CSAT", Proportion(18, 20), Proportion(15, 20)))
    real = digest._row(
        "CSAT (4–5 of 5)", Change("CSAT", Proportion(170, 200), Proportion(150, 200))
    )
    small = digest._row("CSAT (4–5 of 5)", Change("CSAT", Proportion(4, 5), Proportion(1, 5)))
    assert noise["verdict"] == "no clear change"
    assert noise["value"].startswith("90% (18/20, 95% CI 70")
    assert noise["value"].endswith("low sample")
    assert real["verdict"] == "up" and real["change"].startswith("+10 pts")
    assert small["verdict"] == "not enough data" and small["value"] == "4 of 5"

    blocks = summary_blocks(_summary(noise, real, small))
    changes = blocks[3]["text"]["text"]
    assert changes.startswith("*Week over week*")
    assert "no clear change" in changes and ":arrow_up: up" in changes
    assert "not enough data" in changes
    assert "#12 (1/5)" in blocks[4]["text"]["text"]
    assert all(f["verbatim"] for f in blocks[2]["fields"])
    assert "Weekly support digest: 2026-03-02 – 2026-03-08 (Europe/Berlin)" in summary_text(
        _summary(noise)
    )


def test_the_summary_is_escaped() -> None:
    row = {"name": "<!channel>", "value": "a & b", "verdict": "up", "change": "<@U1>"}
    body = summary_blocks(_summary(row, days=28))
    text = str(body)
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text
    assert "<@U1>" not in text and "a &amp; b" in text
    assert "Compared with the 28 days before" in body[3]["text"]["text"]
