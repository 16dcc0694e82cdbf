"""The ``carebot`` entry point runs the CLI and leaves the garbage collector on."""

from __future__ import annotations

import gc

import pytest

from bot import launch


def test_runs_the_cli_with_the_collector_back_on(capsys: pytest.CaptureFixture[str]) -> None:
    try:
        assert launch.main([]) == 2  # no command: the help, as ``carebot`` alone prints
        assert gc.isenabled()
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
    assert "usage: carebot" in capsys.readouterr().out


def test_a_disabled_collector_stays_disabled(capsys: pytest.CaptureFixture[str]) -> None:
    gc.disable()
    try:
        launch.main([])
        assert not gc.isenabled()
    finally:
        gc.enable()
        gc.unfreeze()
