"""The command line: help, clear configuration errors, the demo."""

from __future__ import annotations

import io
import logging
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import build_parser, main
from bot.demo import run_demo
from tests.helpers import make_settings


def test_help_lists_every_command() -> None:
    text = build_parser().format_help()
    for command in ("demo", "chat", "staff", "run", "serve", "db", "eval", "domain"):
        assert command in text


def test_bad_setting_is_one_line_and_exit_code_2(
    settings_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    settings_env.setenv("CAREBOT_TIMEZONE", "Nowhere/Land")
    assert main(["db", "upgrade"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "CAREBOT_TIMEZONE" in err and "Traceback" not in err


def test_db_upgrade_creates_the_schema(
    settings_env: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings_env.setenv("CAREBOT_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    assert main(["db", "upgrade"]) == 0
    assert "schema revision" in capsys.readouterr().out


def test_serve_refuses_several_workers_on_sqlite(
    settings_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", "--workers", "2"]) == 2
    assert "PostgreSQL" in capsys.readouterr().err


async def test_demo_plays_every_scene_and_prints_a_summary(
    settings_env: pytest.MonkeyPatch,
) -> None:
    out = io.StringIO()
    assert await run_demo(make_settings(), out=out) == 0
    text = out.getvalue()
    for expected in (
        "=== 1.",
        "=== 2.",
        "=== 3.",
        "claims the conversation",
        "CSAT",
        "Handoff rate",
        "Response rate",
        "(taps 5)",
        "rating (5/5)",
    ):
        assert expected in text
    assert "ERROR" not in text and "Traceback" not in text


def test_python_dash_m_bot_is_the_same_command() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0 and "carebot" in result.stdout


def test_eval_and_domain_take_their_own_options(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`carebot eval --train …` and `carebot domain check --strict` reach their own parsers."""
    train = tmp_path / "train.csv"
    train.write_text(
        "text,label\nhello,greet\nhi there,greet\ngood morning,greet\n"
        "where is my refund,refund\nrefund my money,refund\nI want a refund,refund\n"
    )
    test = tmp_path / "test.csv"
    test.write_text("text,label\nhello friend,greet\nmy refund please,refund\n")
    handlers, level = logging.root.handlers[:], logging.root.level
    try:
        assert main(["eval", "--train", str(train), "--test", str(test), "--json"]) == 0
        assert '"accuracy"' in capsys.readouterr().out
        with pytest.raises(SystemExit) as exit_info:
            main(["eval", "--help"])
        assert exit_info.value.code == 0
        assert "--train" in capsys.readouterr().out
        assert main(["-v", "domain", "check"]) == 0
        assert "error(s)" in capsys.readouterr().out
    finally:  # the CLI configured logging onto pytest's captured stream: undo that
        logging.root.handlers[:], logging.root.level = handlers, level
