"""The console channel: piped lines in, replies (or JSON actions) out, staff commands too."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from bot.channels.console import parse_duration
from bot.chat import run_chat
from tests.helpers import make_settings


def _settings(tmp_path: Path):  # type: ignore[no-untyped-def]
    return make_settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'chat.db'}")


async def _chat(tmp_path: Path, lines: list[str], *, as_json: bool) -> str:
    out = io.StringIO()
    await run_chat(
        _settings(tmp_path),
        as_json=as_json,
        stdin=io.StringIO("\n".join(lines) + "\n"),
        stdout=out,
        name="Ann Example",
    )
    return out.getvalue()


async def test_piped_lines_get_replies_and_buttons_are_numbered(
    tmp_path: Path, settings_env: pytest.MonkeyPatch
) -> None:
    text = await _chat(tmp_path, ["hi", "how can I pay for my order?"], as_json=False)
    assert "Carebot: Hi Ann" in text
    assert "[1] Yes, thanks   [2] No" in text


async def test_json_mode_prints_one_object_per_action_and_the_whole_loop_works(
    tmp_path: Path, settings_env: pytest.MonkeyPatch
) -> None:
    lines = [
        "I want to talk to a human",
        "/claim",
        "/reply Hello Ann, Sam here.",
        "/note customer seems fine",
        "/resolve",
        "/later 11m",
        "5",
    ]
    records = [
        json.loads(line) for line in (await _chat(tmp_path, lines, as_json=True)).splitlines()
    ]
    types = [r["type"] for r in records]
    handoff = next(r for r in records if r["type"] == "staff_handoff")
    assert handoff["reason"] == "customer_request"
    assert {"type": "reply", "author": "agent"}.items() <= next(
        r for r in records if r.get("author") == "agent"
    ).items()
    assert not any(
        "customer seems fine" in (r.get("text") or "") for r in records if r["type"] == "reply"
    )
    survey = next(r for r in records if r["type"] == "survey")
    assert [b["choice"] for b in survey["buttons"]] == [1, 2, 3, 4, 5]
    statuses = [r["status"] for r in records if r["type"] == "status"]
    assert statuses[0] == "waiting_for_staff" and "with_staff" in statuses
    assert statuses[-1] == "resolved"
    assert "edit" in types  # the survey keyboard marks the chosen score
    assert any("rating (5/5)" in (r.get("text") or "") for r in records)


async def test_shop_domain_answers_its_faq_through_the_console(
    tmp_path: Path, settings_env: pytest.MonkeyPatch
) -> None:
    lines = ["how do I return an item?", "no", "I was charged twice for one order"]
    records = [json.loads(x) for x in (await _chat(tmp_path, lines, as_json=True)).splitlines()]
    replies = [r["text"] for r in records if r["type"] == "reply"]
    assert "return" in replies[0].lower()
    handoffs = [r for r in records if r["type"] == "staff_handoff"]
    assert handoffs and handoffs[0]["reason"] == "sensitive_intent"


def test_parse_duration() -> None:
    assert parse_duration("15m").total_seconds() == 900  # type: ignore[union-attr]
    assert parse_duration("2d").days == 2  # type: ignore[union-attr]
    assert parse_duration("soon") is None
