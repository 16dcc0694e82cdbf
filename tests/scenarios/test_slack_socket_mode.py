"""Socket Mode, chosen by SLACK_APP_TOKEN alone: no HTTP route, events over a WebSocket."""

from __future__ import annotations

import json
from typing import Any

from intents.base import Understander
from storage.db import Database
from tests.fakes import slack_signing as signing
from tests.fakes.slack_world import ANA, DESK, slack_world
from tests.helpers import FakeClock


async def test_socket_mode_relays_a_thread_reply(
    database: Database, understander: Understander, clock: FakeClock, settings_env: Any
) -> None:
    async with slack_world(
        database, understander, clock, slack_app_token="xapp-test", slack_signing_secret=None
    ) as world:
        assert world.channel.routes() == []
        _, ts = await world.handoff()
        await world.channel.start()
        try:
            await world.until(lambda: world.fake.sockets)
            event = json.loads(
                signing.event_body(signing.thread_reply(DESK, ts, ANA, "via socket"))
            )
            envelope = {
                "envelope_id": "env-1",
                "type": "events_api",
                "payload": event,
                "accepts_response_payload": False,
                "retry_attempt": 0,
                "retry_reason": "",
            }
            await world.fake.sockets[0].send_json(envelope)
            await world.until(lambda: any("via socket" in t for t in world.customer_out.texts()))
            acks = [c.body for c in world.fake.calls if c.method == "socket.ack"]
            assert acks and acks[0]["envelope_id"] == "env-1"
        finally:
            await world.channel.stop()
