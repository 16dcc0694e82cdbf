"""Slack desk latency through the fakes: handoff → card posted, staff reply → customer.

Runs a real Carebot (engine, outbox dispatcher and timers in the background, real clock)
with the Slack channel in HTTP mode against the fake Web API on 127.0.0.1, and the
customer side on a timing sender. For each iteration a new customer asks for a person:

    (a) from ``engine.handle(/human)`` until the fake receives the card's chat.postMessage
    (b) from POSTing a signed staff thread reply into ``/slack/events`` until the reply is
        handed to the customer's sender

    python -m bench.slack_latency [--iterations 200] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any

import httpx

from bot.app import assemble_carebot
from bot.asgi import build_asgi
from bot.channels.console import CollectingSender
from bot.config import Settings
from bot.core import desk
from bot.core.actions import Delivery, Receipt
from bot.core.events import CustomerCommand, CustomerRef
from intents import load_understander
from storage.migrate import upgrade_database
from tests.fakes import slack_signing as signing
from tests.fakes.slack_server import FakeSlack

DESK, AGENT = "C0DESK", "U1ANA"


class TimedSender(CollectingSender):
    """Records when each customer delivery arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.arrived: list[tuple[float, Delivery]] = []
        self.event = asyncio.Event()

    async def deliver(self, delivery: Delivery) -> Receipt:
        self.arrived.append((time.perf_counter(), delivery))
        self.event.set()
        return await super().deliver(delivery)


async def _wait_for(check: Any, within: float = 10.0) -> Any:
    deadline = time.perf_counter() + within
    while time.perf_counter() < deadline:
        found = check()
        if found:
            return found
        await asyncio.sleep(0.0005)
    raise TimeoutError("no result in time")


def _card_call(fake: FakeSlack, conversation_id: str) -> Any:
    """The fake's record of this conversation's card post, once it arrived."""
    for call in reversed(fake.calls):
        body = call.body
        blocks = body.get("blocks") if call.method == "chat.postMessage" and call.ok else None
        if blocks and blocks[5]["elements"][0]["value"] == conversation_id:
            return call
    return None


async def _thread_stored(engine: Any, ts: str) -> None:
    """The dispatcher stores the card's ts just after the post; replies need it."""
    for _ in range(10_000):
        if await desk.conversation_for_thread(engine, DESK, ts) is not None:
            return
        await asyncio.sleep(0.001)
    raise TimeoutError("the card's thread was never stored")


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


async def run(iterations: int, database_url: str | None) -> dict[str, list[float]]:
    """Measure both latencies ``iterations`` times; returns the samples in ms."""
    fake = await FakeSlack().start()
    workdir = Path(tempfile.mkdtemp(prefix="carebot-bench-"))
    settings = Settings.model_validate(
        {
            "database_url": database_url or f"sqlite+aiosqlite:///{workdir / 'bench.db'}",
            "slack_bot_token": fake.token,
            "slack_signing_secret": signing.SECRET,
            "slack_handoff_channel": DESK,
            "slack_api_url": fake.url,
            "outbox_poll_seconds": 0.5,
        }
    )
    carebot = assemble_carebot(settings, understander=load_understander())
    await upgrade_database(carebot.db)
    customers = TimedSender()
    carebot.add_sender("console", customers)
    http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=build_asgi(carebot)), base_url="http://bench"
    )
    await carebot.start(background=True)
    handoff_ms: list[float] = []
    reply_ms: list[float] = []
    try:
        for i in range(iterations + 5):  # the first 5 warm up caches and are dropped
            who = CustomerRef("console", f"c{i}", f"c{i}", display_name=f"Customer {i}")
            start = time.perf_counter()
            outcome = await carebot.engine.handle(CustomerCommand(who, "human", f"h{i}"))
            call = await _wait_for(partial(_card_call, fake, str(outcome.conversation_id)))
            card_ms = (call.at - start) * 1000
            ts = fake.messages[DESK][-1]["ts"]
            await _thread_stored(carebot.engine, ts)
            text = f"reply number {i}"
            body = signing.event_body(signing.thread_reply(DESK, ts, AGENT, text))
            start = time.perf_counter()
            response = await http.post(
                "/slack/events", content=body, headers=signing.sign(body, signing.JSON)
            )
            assert response.status_code == 200
            arrived = await _wait_for(
                lambda t=text: next(
                    (at for at, d in customers.arrived if t in str(d.payload.get("text"))), None
                )
            )
            if i >= 5:
                handoff_ms.append(card_ms)
                reply_ms.append((arrived - start) * 1000)
    finally:
        await http.aclose()
        await carebot.stop()
        await fake.stop()
    return {"handoff_to_slack_post": handoff_ms, "staff_reply_to_customer": reply_ms}


def main() -> None:
    """Run the benchmark and print the settings and figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    samples = asyncio.run(run(args.iterations, args.database_url))
    print(
        f"iterations: {args.iterations} (after 5 warm-up), database: "
        f"{'PostgreSQL' if args.database_url else 'SQLite file'}, "
        "dispatcher in the background (real clock), fake Slack on 127.0.0.1"
    )
    for name, values in samples.items():
        print(
            f"{name:>26}: median {statistics.median(values):7.1f} ms   "
            f"p99 {_percentile(values, 0.99):7.1f} ms   max {max(values):7.1f} ms"
        )


if __name__ == "__main__":
    main()
