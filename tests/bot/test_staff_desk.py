"""``carebot staff``: work handoffs from a terminal on the same database as the bot."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from bot.app import build_carebot
from bot.channels.console import CollectingSender
from bot.core.events import CustomerMessage, CustomerRef
from bot.staff_desk import run_staff_desk
from tests.helpers import make_settings


async def test_staff_desk_claims_replies_and_resolves(
    tmp_path: Path, settings_env: pytest.MonkeyPatch
) -> None:
    settings = make_settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'desk.db'}")
    bot = await build_carebot(settings, with_channels=False, staff_channel="console-staff")
    customer_out = CollectingSender()
    bot.add_sender("console", customer_out)
    ann = CustomerRef("console", "ann", "ann", display_name="Ann Example", first_name="Ann")
    outcome = await bot.engine.handle(CustomerMessage(ann, "I want to talk to a human", "u1"))
    await bot.stop()

    out = io.StringIO()
    commands = f"queue\nshow {outcome.conversation_id}\nclaim {outcome.conversation_id}\n"
    commands += f"reply {outcome.conversation_id} Hi Ann, Sam here.\n"
    commands += f"note {outcome.conversation_id} regular customer\n"
    commands += f"resolve {outcome.conversation_id}\nreply x\nbogus\n"
    await run_staff_desk(settings, agent_name="Sam Staff", stdin=io.StringIO(commands), stdout=out)
    text = out.getvalue()
    assert "Ann Example — customer_request" in text
    assert "customer: I want to talk to a human" in text
    assert "is with_staff" in text and "is resolved" in text
    assert "Internal note saved" in text
    assert "Usage: reply ID TEXT" in text and "Unknown command" in text

    # The running bot delivers what the desk queued.
    bot = await build_carebot(settings, with_channels=False, staff_channel="console-staff")
    bot.add_sender("console", customer_out)
    bot.add_sender("console-staff", CollectingSender())
    await bot.dispatcher.drain()
    await bot.stop()
    texts = customer_out.texts()
    assert "Sam: Hi Ann, Sam here." in texts
    assert not any("regular customer" in t for t in texts)
