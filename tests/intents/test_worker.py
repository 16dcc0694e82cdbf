"""Reading messages in a child process: same answers, and every failure falls back in-process."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.config import Settings
from intents import worker as worker_module
from intents.base import Understander
from intents.types import Understanding
from intents.worker import UnderstandingWorker
from storage.db import Database
from tests.helpers import FakeClock, build_harness
from tests.scripted import ScriptedUnderstander

LINES = ("how can I pay", "do you ship abroad", "where is my order", "I am so angry!!", "")


class Moody:
    """An understander the child can load (this module is importable) that sleeps on
    ``slow`` and fails on ``boom``; anything else goes to the real one."""

    def __init__(self, real: Understander) -> None:
        self.real = real

    def understand(self, text: str, language: str | None = None) -> Understanding:
        if text == "slow":
            time.sleep(1.0)
        if text == "boom":
            raise ValueError("no such word")
        return self.real.understand(text, language)

    def __getattr__(self, name: str) -> Any:
        if name == "real":  # while unpickling
            raise AttributeError(name)
        return getattr(self.real, name)


@pytest.fixture
async def worker(understander: Understander) -> AsyncIterator[UnderstandingWorker]:
    found = UnderstandingWorker(Moody(understander), timeout=0.5)
    assert await found.start()
    yield found
    await found.stop()


async def test_the_child_reads_as_the_bot_does(
    worker: UnderstandingWorker, understander: Understander
) -> None:
    answers = await asyncio.gather(*(worker.read_ahead(text, "en") for text in LINES))
    assert answers == [understander.understand(text, "en") for text in LINES]
    assert worker.answered == len(LINES)


async def test_a_slow_answer_is_given_up_and_a_failure_is_none(
    worker: UnderstandingWorker, caplog: pytest.LogCaptureFixture
) -> None:
    started = time.monotonic()
    assert await worker.read_ahead("slow", "en") is None  # the caller reads it itself
    assert time.monotonic() - started < 0.9
    await asyncio.sleep(0.8)  # the child is done with it
    with caplog.at_level(logging.WARNING, logger="intents.worker"):
        assert await worker.read_ahead("boom", "en") is None
    assert "ValueError: no such word" in caplog.text
    assert (await worker.read_ahead("thanks", "en")) is not None  # still serving
    assert worker.ready


async def test_a_dead_child_means_reading_in_process_then_a_new_child(
    worker: UnderstandingWorker, monkeypatch: pytest.MonkeyPatch
) -> None:
    child = worker._child
    assert child is not None
    child.process.kill()
    await asyncio.wait_for(child.process.wait(), 5)
    for _ in range(100):
        if not worker.ready:
            break
        await asyncio.sleep(0.01)
    assert not worker.ready
    assert await worker.read_ahead("how can I pay", "en") is None
    monkeypatch.setattr(worker_module, "RESTART_AFTER_SECONDS", 0.0)
    assert await worker.read_ahead("how can I pay", "en") is None  # starts one
    assert await worker.wait_ready(30)
    assert await worker.read_ahead("how can I pay", "en") is not None


async def test_stop_ends_the_child(understander: Understander) -> None:
    found = UnderstandingWorker(understander)
    assert await found.start()
    child = found._child
    assert child is not None
    await found.stop()
    assert child.process.returncode == 0  # it saw its input close and returned
    assert await found.read_ahead("how can I pay", "en") is None  # and stays stopped


async def test_the_engine_uses_the_childs_reading(
    database: Database, understander: Understander, clock: FakeClock
) -> None:
    harness = build_harness(
        database, ScriptedUnderstander(understander), clock, understanding_process="on"
    )
    worker = harness.carebot.understanding_worker
    assert worker is not None and await worker.start()
    in_process: list[str] = []
    inner_understand = worker.inner.understand

    def counting(text: str, language: str | None = None) -> Understanding:
        in_process.append(text)
        return inner_understand(text, language)

    worker.inner.understand = counting  # type: ignore[method-assign]
    try:
        await harness.say("how can I pay")
        await harness.say("do you ship abroad", who=harness.customer(language=None))
    finally:
        await worker.stop()
    replies = harness.customer_out.texts()
    assert any("pay" in reply.lower() for reply in replies)
    # The first was read in the child. The second customer's language is not in the
    # event (it stays as stored), so the reading ahead was of another language: read here.
    assert worker.answered >= 1 and in_process == ["do you ship abroad"]


def test_auto_reads_in_a_child_with_two_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings.model_validate({"database_url": "sqlite+aiosqlite:///x.db"})
    assert settings.understanding_process == "auto"
    monkeypatch.setattr("bot.config.os.cpu_count", lambda: 2)
    assert settings.reads_in_child
    monkeypatch.setattr("bot.config.os.cpu_count", lambda: 1)
    assert not settings.reads_in_child
    on = Settings.model_validate(
        {"database_url": "sqlite+aiosqlite:///x.db", "CAREBOT_UNDERSTANDING_PROCESS": "on"}
    )
    assert on.reads_in_child
