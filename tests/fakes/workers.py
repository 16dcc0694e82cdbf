"""Real ``carebot serve`` worker processes on PostgreSQL, fed through the Telegram and Slack fakes.

Used by the fault tests (``tests/scenarios/test_faults_*.py``) and the load benchmark
(``bench/load_workers.py``). :func:`private_database` makes a throw-away database on the
test server; :class:`Cluster` starts :class:`FakeTelegram` and :class:`FakeSlack` in this
process, then worker subprocesses whose environment points at the fakes and at that
database, with short leases and back-off so recovery takes seconds, never minutes.

The cluster plays Telegram's part for inbound traffic: it POSTs updates to a worker's
``/telegram/webhook`` with the secret header and, like Telegram, delivers again (to
another worker) whatever was not answered 200. Slack requests are signed as Slack does.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from tests.fakes import slack_signing
from tests.fakes.slack_server import FakeSlack
from tests.fakes.telegram_server import TOKEN, FakeTelegram, message_update

ROOT = Path(__file__).resolve().parents[2]
WEBHOOK_SECRET = "fault-test-secret_1"
HANDOFF_CHANNEL = "C0HANDOFF"
FAST_RECOVERY = {  # leases and back-off short enough that a test waits seconds
    "CAREBOT_OUTBOX_LEASE_SECONDS": "5",
    "CAREBOT_JOB_LEASE_SECONDS": "5",
    "CAREBOT_OUTBOX_MAX_BACKOFF_SECONDS": "1",
    "CAREBOT_OUTBOX_POLL_SECONDS": "0.1",
}


def free_port() -> int:
    """A free loopback port (the worker binds it a moment later)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@asynccontextmanager
async def private_database(server_url: str, prefix: str = "carebot_faults") -> AsyncIterator[str]:
    """Create a database of our own on ``server_url``'s server; drop it afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_async_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        async with admin.connect() as connection:
            await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 30.0) -> None:
    """Poll ``check`` until it holds (for state in other processes, which cannot notify us)."""
    async with asyncio.timeout(within):
        for _ in itertools.count():
            if await check():
                return
            await asyncio.sleep(0.1)


@dataclass
class Worker:
    """One ``carebot serve`` process on its own port."""

    name: str
    env: dict[str, str]
    log_path: Path
    port: int = field(default_factory=free_port)
    workers: int = 1
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Where the worker listens."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def alive(self) -> bool:
        """True while the process runs."""
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        """Launch ``python -m bot serve`` (the ``carebot serve`` command)."""
        command = [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1"]
        command += ["--port", str(self.port), "--workers", str(self.workers)]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command, env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
            )

    async def ready(self, client: httpx.AsyncClient, within: float = 60.0) -> None:
        """Wait until ``/readyz`` answers 200 (the worker migrated and started)."""
        async with asyncio.timeout(within):
            while True:
                if not self.alive:
                    raise RuntimeError(f"{self.name} exited:\n{self.log_tail()}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(f"{self.url}/readyz")).status_code == 200:
                        return
                await asyncio.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flushing, leases left behind."""
        if self.process is not None and self.alive:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it does not finish in time."""
        if self.process is None or not self.alive:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()

    def log_tail(self, lines: int = 30) -> str:
        """The end of the worker's output, for failure messages."""
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def worker_env(
    database_url: str, telegram: FakeTelegram, slack: FakeSlack, **extra: str
) -> dict[str, str]:
    """The environment of a worker pointed at the fakes and the database."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CAREBOT_", "TELEGRAM_", "SLACK_")) and "proxy" not in k.lower()
    }
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "CAREBOT_DATABASE_URL": database_url,
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "CAREBOT_TELEGRAM_API_URL": telegram.base_url,
            "CAREBOT_TELEGRAM_WEBHOOK_URL": "https://carebot.example/telegram/webhook",
            "CAREBOT_TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "CAREBOT_TELEGRAM_RATE_OVERALL": "100000",
            "CAREBOT_TELEGRAM_RATE_PER_CHAT": "100000",
            "SLACK_BOT_TOKEN": slack.token,
            "SLACK_SIGNING_SECRET": slack_signing.SECRET,
            "SLACK_HANDOFF_CHANNEL": HANDOFF_CHANNEL,
            "CAREBOT_SLACK_API_URL": slack.url,
            "CAREBOT_LOG_LEVEL": "WARNING",
            **FAST_RECOVERY,
            **extra,
        }
    )
    return env


@dataclass
class Cluster:
    """The fakes, the workers, a database connection for checks, and an HTTP client."""

    telegram: FakeTelegram
    slack: FakeSlack
    database_url: str
    workers: list[Worker]
    client: httpx.AsyncClient
    db: AsyncEngine
    redeliveries: int = 0
    _update_ids: int = 10_000
    _message_ids: dict[int, int] = field(default_factory=dict)

    # Inbound traffic ----------------------------------------------------------------
    def update(self, chat_id: int, text_: str) -> dict[str, Any]:
        """A new customer message update with fresh update and message ids."""
        self._update_ids += 1
        self._message_ids[chat_id] = self._message_ids.get(chat_id, 0) + 1
        body = message_update(chat_id, text_, self._message_ids[chat_id])
        return {"update_id": self._update_ids, **body}

    async def post(self, worker: Worker, update: dict[str, Any]) -> int:
        """One webhook delivery attempt; 0 when the connection failed."""
        headers = {
            "Content-Type": "application/json",
            "X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET,
        }
        try:
            response = await self.client.post(
                f"{worker.url}/telegram/webhook", content=json.dumps(update), headers=headers
            )
        except httpx.HTTPError:
            return 0
        return response.status_code

    async def deliver(self, update: dict[str, Any], first: int = 0, within: float = 30.0) -> None:
        """Deliver like Telegram: until some worker answers 200, moving on after a failure."""
        index = first
        async with asyncio.timeout(within):
            while True:
                worker = self.workers[index % len(self.workers)]
                if worker.alive and await self.post(worker, update) == 200:
                    return
                self.redeliveries += 1
                index += 1
                await asyncio.sleep(0.05)

    async def conversation(
        self, chat_id: int, texts: Sequence[str], first_worker: int = 0, pause: float = 0.0
    ) -> None:
        """One customer's messages in order, each answered before the next (as Telegram)."""
        for number, body in enumerate(texts):
            await self.deliver(self.update(chat_id, body), first_worker + number)
            if pause:
                await asyncio.sleep(pause)

    async def slack_event(self, worker: Worker, event: dict[str, Any]) -> int:
        """A signed Events API delivery to ``worker``."""
        body = slack_signing.event_body(event)
        response = await self.client.post(
            f"{worker.url}/slack/events",
            content=body,
            headers=slack_signing.sign(body, slack_signing.JSON),
        )
        return response.status_code

    # Checks ---------------------------------------------------------------------------
    async def rows(self, sql: str, **params: Any) -> list[Any]:
        """Rows of a query on the workers' database."""
        async with self.db.connect() as connection:
            return list((await connection.execute(text(sql), params)).all())

    async def idle(self, within: float = 30.0) -> None:
        """Wait until the outbox holds nothing pending (every delivery made or parked)."""

        async def empty() -> bool:
            found = await self.rows("SELECT count(*) FROM outbox WHERE status = 'pending'")
            return not found[0][0]

        await eventually(empty, within)

    async def terminate_connections(self) -> int:
        """Drop every server connection to the workers' database (not ours)."""
        found = await self.rows(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return len(found)


@asynccontextmanager
async def cluster(
    server_url: str, size: int, logs: Path, *, workers_per_process: int = 1, **env: str
) -> AsyncIterator[Cluster]:
    """Fakes + a private database + ``size`` worker processes, all stopped afterwards."""
    telegram, slack = FakeTelegram(), FakeSlack()
    await telegram.start()
    await slack.start()
    async with private_database(server_url) as url, httpx.AsyncClient(timeout=30) as client:
        db = create_async_engine(url, pool_size=4)
        workers = [
            Worker(
                f"w{i}",
                worker_env(url, telegram, slack, **env),
                logs / f"w{i}.log",
                workers=workers_per_process,
            )
            for i in range(size)
        ]
        found = Cluster(telegram, slack, url, workers, client, db)
        try:
            for worker in workers:
                worker.start()
            await asyncio.gather(*(worker.ready(client) for worker in workers))
            yield found
        finally:
            for worker in workers:
                worker.stop()
            await db.dispose()
    await telegram.stop()
    await slack.stop()
