"""Load benchmark: 1, 2 and 4 webhook workers (``carebot serve --workers N``) on PostgreSQL.

For each worker count: a private database on the PostgreSQL server, the Telegram and Slack
fakes in this process, and one ``carebot serve --workers N`` (uvicorn's process manager,
the documented production command). ``--customers`` customers then write for
``--seconds`` seconds, each waiting for the bot's answer before writing again (a closed
loop, like people); a customer starts a fresh chat every four messages, so conversations
stay short and with the bot. Inbound traffic is POSTed to ``/telegram/webhook`` as
Telegram would, redelivered if not answered 200.

Reported: answered messages per second, latency (update POSTed → the first
``sendMessage`` to that chat arriving at the fake) p50/p99, outbox lag (row committed →
row recorded as sent, from the database) p50/p99, and lost/duplicated counts (must be 0):
updates answered 200 but not stored, stored twice, outbox rows not delivered, and replies
received by the fake more or fewer times than the outbox sent them.

    PYTHONPATH=. python bench/load_workers.py \
        --pg-url postgresql+asyncpg://postgres@127.0.0.1:5432/test --workers 1 2 4

Not part of CI. Rate limits are raised to 100 000/s (the fake does not enforce them).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fakes.telegram_server import Call
from tests.fakes.workers import Cluster, cluster, eventually

LINES = ("hello", "how can i pay", "do you ship abroad", "thanks")
PRODUCTION_TIMING = {  # undo the fault tests' short leases: measure the defaults
    "CAREBOT_OUTBOX_LEASE_SECONDS": "60",
    "CAREBOT_JOB_LEASE_SECONDS": "120",
    "CAREBOT_OUTBOX_MAX_BACKOFF_SECONDS": "300",
    "CAREBOT_OUTBOX_POLL_SECONDS": "0.5",
}


@dataclass
class Result:
    """One row of the table."""

    workers: int
    customers: int
    seconds: float
    answered: int
    latencies: list[float]
    lag_p50: float
    lag_p99: float
    lost: int
    duplicated: int
    unanswered: int

    def row(self) -> str:
        """A Markdown table row."""
        lat = sorted(self.latencies) or [0.0]
        p50 = statistics.median(lat)
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
        return (
            f"| {self.workers} | {self.customers} | {self.answered / self.seconds:.1f} | "
            f"{p50 * 1000:.0f} ms | {p99 * 1000:.0f} ms | {self.lag_p50 * 1000:.0f} ms / "
            f"{self.lag_p99 * 1000:.0f} ms | {self.lost} | {self.duplicated} | {self.unanswered} |"
        )


class Load:
    """Closed-loop customers against a cluster."""

    def __init__(self, found: Cluster, base_chat: int) -> None:
        self.cluster = found
        self.chats = itertools.count(base_chat)
        self.waiters: dict[int, asyncio.Event] = {}
        self.latencies: list[float] = []
        self.accepted: Counter[int] = Counter()
        self.unanswered = 0
        found.telegram.listeners.append(self._seen)

    def _seen(self, call: Call) -> None:
        if call.method == "sendMessage" and call.chat_id in self.waiters:
            self.waiters[call.chat_id].set()

    async def customer(self, deadline: float, patience: float = 15.0) -> None:
        """Write, wait for the answer, write again, until ``deadline``."""
        while time.perf_counter() < deadline:
            chat = next(self.chats)
            for line in LINES:
                if time.perf_counter() >= deadline:
                    return
                event = self.waiters[chat] = asyncio.Event()
                update = self.cluster.update(chat, line)
                started = time.perf_counter()
                await self.cluster.deliver(update, within=60)
                self.accepted[chat] += 1
                try:
                    await asyncio.wait_for(event.wait(), patience)
                except TimeoutError:
                    self.unanswered += 1
                    continue
                self.latencies.append(time.perf_counter() - started)


async def measure(url: str, workers: int, customers: int, seconds: float, logs: Path) -> Result:
    """Start ``carebot serve --workers N``, load it, check it, stop it."""
    async with cluster(url, 1, logs, workers_per_process=workers, **PRODUCTION_TIMING) as found:
        await eventually(_webhooks_registered(found, workers), 120)
        load = Load(found, base_chat=100_000 * workers)
        deadline = time.perf_counter() + seconds
        await asyncio.gather(*(load.customer(deadline) for _ in range(customers)))
        await found.idle(within=120)
        await asyncio.sleep(0.5)
        lost, duplicated, lag = await _audit(found, load)
        return Result(
            workers,
            customers,
            seconds,
            len(load.latencies),
            load.latencies,
            lag[0],
            lag[1],
            lost,
            duplicated,
            load.unanswered,
        )


def _webhooks_registered(found: Cluster, workers: int) -> Any:
    async def check() -> bool:  # every uvicorn worker registers the webhook once started
        return len(found.telegram.of("setWebhook")) >= workers

    return check


async def _audit(found: Cluster, load: Load) -> tuple[int, int, tuple[float, float]]:
    stored = dict(
        await found.rows(
            "SELECT c.external_id, count(*) FROM messages m JOIN conversations v "
            "ON v.id = m.conversation_id JOIN customers c ON c.id = v.customer_id "
            "WHERE m.direction = 'in' GROUP BY c.external_id"
        )
    )
    lost = duplicated = 0
    for chat, sent in load.accepted.items():
        have = int(stored.get(str(chat), 0))
        lost += max(0, sent - have)
        duplicated += max(0, have - sent)
    outbox = await found.rows(
        "SELECT lane, count(*) FILTER (WHERE status = 'sent'), count(*) FILTER "
        "(WHERE status <> 'sent') FROM outbox WHERE channel = 'telegram' "
        "AND kind IN ('customer.text', 'customer.survey') GROUP BY lane"
    )
    for lane, sent, undelivered in outbox:
        chat = int(str(lane).rsplit(":", 1)[-1])
        received = len(found.telegram.texts(chat))
        lost += int(undelivered) + max(0, int(sent) - received)
        duplicated += max(0, received - int(sent))
    (lag,) = await found.rows(
        "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM sent_at - "
        "created_at)), percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM "
        "sent_at - created_at)) FROM outbox WHERE status = 'sent'"
    )
    return lost, duplicated, (float(lag[0] or 0), float(lag[1] or 0))


async def main() -> None:
    """Run the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--customers", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    logs = Path(tempfile.mkdtemp(prefix="carebot-load-"))
    header = (
        "| workers | customers | msgs/s | p50 | p99 | outbox lag p50 / p99 | lost | dup | "
        "unanswered |\n|---:|---:|---:|---:|---:|---|---:|---:|---:|"
    )
    rows = []
    for workers in args.workers:
        result = await measure(args.pg_url, workers, args.customers, args.seconds, logs)
        rows.append(result.row())
        print(rows[-1], flush=True)
    print(f"\n{args.customers} customers, {args.seconds:.0f} s per row; worker logs in {logs}")
    print(header)
    print("\n".join(rows))


if __name__ == "__main__":
    asyncio.run(main())
