"""The ASGI app: health, readiness and metrics."""

from __future__ import annotations

import gc

import httpx
import pytest

from bot.asgi import build_asgi
from intents.base import Understander
from storage.db import Database
from tests.helpers import FakeClock, build_harness
from tests.scripted import ScriptedUnderstander


async def test_health_ready_and_metrics(
    database: Database, understander: Understander, clock: FakeClock
) -> None:
    h = build_harness(database, ScriptedUnderstander(understander), clock)
    await h.say("human")
    app = build_asgi(h.carebot)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            assert (await client.get("/healthz")).text == "ok"
            ready = await client.get("/readyz")
            assert ready.status_code == 200 and ready.json() == {"ready": True}
            text = (await client.get("/metrics")).text
    assert 'carebot_handoffs_open{status="waiting"} 1.0' in text
    assert "carebot_messages_in_total" in text and "carebot_event_seconds_bucket" in text
    assert "carebot_outbox_backlog 0.0" in text


async def test_a_managed_app_settles_the_heap_once_started(
    database: Database, understander: Understander, clock: FakeClock
) -> None:
    h = build_harness(database, ScriptedUnderstander(understander), clock)
    app = build_asgi(h.carebot, manage_lifecycle=True)
    gc.unfreeze()
    try:
        async with app.router.lifespan_context(app):
            frozen = gc.get_freeze_count()
    finally:
        gc.unfreeze()  # the test process's later garbage must stay collectable
    assert frozen > 10_000  # start-up's objects: out of every later collection's walk


def test_json_logs_carry_ids_not_text(capsys) -> None:  # type: ignore[no-untyped-def]
    import json
    import logging

    from bot.logs import setup_logging

    setup_logging("INFO", "json")
    logging.getLogger("carebot.test").info("handled", extra={"conversation_id": 7})
    line = capsys.readouterr().err.strip().splitlines()[-1]
    record = json.loads(line)
    assert record["conversation_id"] == 7 and record["message"] == "handled"
    setup_logging("WARNING", "text")


def test_without_slack_handoffs_are_left_for_the_terminal_desk(
    settings_env: pytest.MonkeyPatch,
) -> None:
    """Every composed app (one process or a worker) must accept staff rows without Slack."""
    from bot.app import assemble_carebot
    from bot.channels.console import QuietStaffSender
    from tests.helpers import make_settings

    carebot = assemble_carebot(make_settings(telegram_bot_token="123:abc"))
    assert isinstance(carebot.dispatcher.senders["console-staff"], QuietStaffSender)
    assert "telegram" in carebot.dispatcher.senders
