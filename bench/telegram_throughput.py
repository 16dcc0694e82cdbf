"""Messages per second through the fake Telegram Bot API: Carebot vs a bare PTB echo bot.

Both bots run side by side in one process, each polling its own loopback fake
(``tests/fakes/telegram_server.py``) with the real python-telegram-bot stack, and are timed
in turns: ``--rounds`` rounds, each timing one bot and then the other (alternating which
goes first), so a change in the machine's speed during the run falls on both alike. The
figures are medians over the rounds. Each bot first answers a warm-up, untimed (one round
of the script per customer, from other chats). In a round, ``--customers`` new customers
each write ``--messages`` messages, one after another (the next once the previous one was
answered), all customers at once.
Latency is per message: update pushed → the bot's ``sendMessage`` arriving at the fake.
The echo bot is the ceiling (PTB + HTTP only, ``concurrent_updates=True``); Carebot adds
the engine, the database and the outbox. Rate limits are raised for both. CPU is the
whole process's (both bots, both fakes, Carebot's threads; not a child process) per
message of the timed bot.

    python -m bench.telegram_throughput --customers 20 --messages 10
    python -m bench.telegram_throughput --customers 20 --messages 20 --think-ms 200  # latency
    python -m bench.telegram_throughput --understander scripted   # NLU out of the picture
    python -m bench.telegram_throughput --understanding-process off   # read in-process
    python -m bench.telegram_throughput --telegram-http-client httpx  # PTB's own client
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import random
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from pathlib import Path

from telegram import Update
from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters

from bot.app import Carebot, assemble_carebot, settle_heap
from bot.channels.console import QuietStaffSender
from bot.channels.telegram import TelegramChannel
from bot.channels.telegram_http import AiohttpRequest
from bot.config import Settings
from intents import load_understander
from intents.base import Understander
from storage.migrate import upgrade_database
from tests.fakes.telegram_server import TOKEN, Call, FakeTelegram

LINES = ("hello", "how can i pay", "do you ship abroad", "where is my order", "thanks")
RATE = 100_000.0


class Probe:
    """Pushes customer messages and times the first reply to each."""

    def __init__(self, fake: FakeTelegram, think: float = 0.0) -> None:
        self.fake = fake
        self.think = think  # mean pause between a reply and the customer's next message
        self.replies: dict[int, int] = defaultdict(int)
        self.waiters: dict[int, asyncio.Event] = {}
        self.latencies: list[float] = []
        fake.listeners.append(self._seen)

    def _seen(self, call: Call) -> None:
        if call.method == "sendMessage" and call.chat_id is not None:
            self.replies[call.chat_id] += 1
            waiter = self.waiters.get(call.chat_id)
            if waiter is not None:
                waiter.set()

    async def customer(self, chat_id: int, messages: int) -> None:
        """One customer: write, wait for the answer, (think,) write again."""
        pauses = random.Random(chat_id)  # jitter, so customers do not write in step
        for index in range(messages):
            if self.think:  # the first, too: all customers at once would be a burst
                await asyncio.sleep(self.think * pauses.uniform(0.5 if index else 0.0, 1.5))
            before = self.replies[chat_id]
            waiter = self.waiters[chat_id] = asyncio.Event()
            started = time.monotonic()
            self.fake.say(chat_id, f"{LINES[index % len(LINES)]}")
            while self.replies[chat_id] <= before:
                await asyncio.wait_for(waiter.wait(), 60)
                waiter.clear()
            self.latencies.append(time.monotonic() - started)

    async def run(self, customers: int, messages: int, first_chat: int) -> dict[str, float]:
        """All customers at once; returns throughput and latency figures."""
        self.latencies.clear()
        started, cpu_started = time.monotonic(), time.process_time()
        await asyncio.gather(*(self.customer(first_chat + n, messages) for n in range(customers)))
        elapsed, cpu = time.monotonic() - started, time.process_time() - cpu_started
        ordered = sorted(self.latencies)
        return {
            "messages": len(ordered),
            "seconds": elapsed,
            "msgs_per_s": len(ordered) / elapsed,
            "cpu_ms_per_msg": 1000 * cpu / len(ordered),
            "p50_ms": 1000 * statistics.median(ordered),
            "p99_ms": 1000 * ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
        }


async def _echo(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
    if update.message is not None and update.message.text:
        await update.message.reply_text(update.message.text)


@contextlib.asynccontextmanager
async def echo_bot(fake: FakeTelegram, http_client: str = "httpx") -> AsyncIterator[None]:
    """The ceiling: PTB's own polling ``Updater`` and one echo handler (on PTB's httpx
    client, or for comparison on Carebot's aiohttp one)."""
    builder = ApplicationBuilder().token(TOKEN).base_url(fake.base_url).concurrent_updates(True)
    if http_client == "aiohttp":
        builder = builder.request(AiohttpRequest(256)).get_updates_request(AiohttpRequest(1))
    app = builder.build()
    app.add_handler(MessageHandler(filters.TEXT, _echo))
    async with app:
        assert app.updater is not None
        await app.updater.start_polling(timeout=1, poll_interval=0)
        await app.start()
        try:
            yield
        finally:
            await app.updater.stop()
            await app.stop()


@contextlib.asynccontextmanager
async def carebot(
    fake: FakeTelegram, settings: Settings, understander: Understander
) -> AsyncIterator[Carebot]:
    """Carebot polling its fake, with its dispatcher and timers running."""
    bot = assemble_carebot(settings, understander=understander, with_channels=False)
    await upgrade_database(bot.db)
    channel = TelegramChannel.from_settings(settings, bot.engine, poll_timeout=1)
    bot.add_channel(channel)
    bot.add_sender("console-staff", QuietStaffSender())
    await bot.start()
    worker = bot.understanding_worker
    if worker is not None and not await worker.wait_ready():
        print("warning: the understanding process did not start; messages are read in-process")
    try:
        yield bot
    finally:
        await bot.stop()


async def main(args: argparse.Namespace) -> None:
    """Run both bots side by side, each on its own fake, and time them in turns."""
    logging.basicConfig(level=logging.WARNING)
    fakes = {"echo": FakeTelegram(), "carebot": FakeTelegram()}
    for fake in fakes.values():
        await fake.start()
    folder = Path(tempfile.mkdtemp(prefix="carebot-bench-"))
    url = args.database_url or f"sqlite+aiosqlite:///{folder / 'bench.db'}"
    settings = Settings.model_validate(
        {
            "database_url": url,
            "telegram_bot_token": TOKEN,
            "telegram_api_url": fakes["carebot"].base_url,
            "telegram_rate_overall": RATE,
            "telegram_rate_per_chat": RATE,
            "understanding_process": args.understanding_process,
            "telegram_http_client": args.telegram_http_client,
        }
    )
    real = load_understander()
    understander: Understander = real
    if args.understander == "scripted":
        from tests.scripted import ScriptedUnderstander

        understander = ScriptedUnderstander(real)
    print(
        "settings:",
        {
            "customers": args.customers,
            "messages_each": args.messages,
            "rounds": args.rounds,
            "database": url.split("@")[-1],
            "understander": args.understander,
            "understanding_process": f"{settings.understanding_process} "
            f"({'on' if settings.reads_in_child else 'off'}, {os.cpu_count()} cores)",
            "carebot_http_client": settings.telegram_http_client,
            "echo_http_client": args.echo_http_client,
            "telegram_rate_overall": settings.telegram_rate_overall,
            "telegram_rate_per_chat": settings.telegram_rate_per_chat,
            "echo_concurrent_updates": 256,
            "carebot_dispatcher_batch": 64,
            "warm_up_messages_each": len(LINES),
            "think_ms": args.think_ms,
        },
    )
    think = args.think_ms / 1000
    probes = {name: Probe(fake, think) for name, fake in fakes.items()}
    rounds: dict[str, list[dict[str, float]]] = {"echo": [], "carebot": []}
    async with (
        echo_bot(fakes["echo"], args.echo_http_client),
        carebot(fakes["carebot"], settings, understander) as bot,
    ):
        settle_heap()  # as `carebot run` and `carebot serve` do once started (both bots gain)
        for probe in probes.values():  # warm-up: one round of the script, other chats
            await probe.run(args.customers, len(LINES), 900_000)
        worker = bot.understanding_worker
        read_before = worker.answered if worker is not None else 0
        for number in range(args.rounds):
            # Alternate which bot goes first, so a drift in the machine's speed (other
            # work, CPU steal on a shared host) falls on both alike.
            order = ("echo", "carebot") if number % 2 == 0 else ("carebot", "echo")
            for name in order:
                first_chat = 1 + 10_000 * number
                found = await probes[name].run(args.customers, args.messages, first_chat)
                rounds[name].append(found)
            echo, care = rounds["echo"][-1], rounds["carebot"][-1]
            print(
                f"round {number + 1}: echo {echo['msgs_per_s']:7.1f} msgs/s, "
                f"carebot {care['msgs_per_s']:7.1f} msgs/s "
                f"({care['msgs_per_s'] / echo['msgs_per_s']:.1%}), carebot p99 "
                f"{care['p99_ms']:.1f} ms"
            )
        read_in_child = (worker.answered - read_before) if worker is not None else 0
    for fake in fakes.values():
        await fake.stop()
    for name, found in rounds.items():
        print(
            f"{name:8s} median of {args.rounds}: "
            f"{_median(found, 'msgs_per_s'):8.1f} msgs/s  p50 {_median(found, 'p50_ms'):6.1f} ms  "
            f"p99 {_median(found, 'p99_ms'):6.1f} ms  CPU {_median(found, 'cpu_ms_per_msg'):5.2f} "
            "ms/msg"
        )
    if read_in_child:
        print(f"carebot messages read in the child process: {read_in_child}")
    p99 = max(found["p99_ms"] for found in rounds["carebot"])
    if think:
        print(
            f"offered load (set by {args.customers} customers thinking ~{args.think_ms:.0f} ms): "
            f"carebot {_median(rounds['carebot'], 'msgs_per_s'):.1f} msgs/s; carebot p99 "
            f"{p99:.1f} ms in its worst round (target < 50 ms); no throughput ratio at a "
            "set load"
        )
        return
    pairs = zip(rounds["echo"], rounds["carebot"], strict=True)
    ratios = [care["msgs_per_s"] / echo["msgs_per_s"] for echo, care in pairs]
    print(
        f"carebot/echo throughput: median {statistics.median(ratios):.1%} "
        f"(rounds {min(ratios):.1%}-{max(ratios):.1%}; target >= 50%); "
        f"carebot p99 {p99:.1f} ms in its worst round (target < 50 ms)"
    )


def _median(found: list[dict[str, float]], key: str) -> float:
    return statistics.median(round_[key] for round_ in found)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20)
    parser.add_argument("--messages", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds per bot, in turns")
    parser.add_argument("--understander", choices=("real", "scripted"), default="real")
    parser.add_argument(
        "--understanding-process",
        choices=("auto", "on", "off"),
        default="auto",
        help="read messages in a child process (CAREBOT_UNDERSTANDING_PROCESS; default auto)",
    )
    parser.add_argument(
        "--think-ms",
        type=float,
        default=0.0,
        help="mean pause between a reply and the customer's next message (0: none, the "
        "bots run flat out; above 0 the load is set by the customers, for latency at "
        "that load, and the throughput ratio means nothing)",
    )
    parser.add_argument(
        "--telegram-http-client",
        choices=("aiohttp", "httpx"),
        default="aiohttp",
        help="Carebot's Bot API client (CAREBOT_TELEGRAM_HTTP_CLIENT; default aiohttp)",
    )
    parser.add_argument(
        "--echo-http-client",
        choices=("httpx", "aiohttp"),
        default="httpx",
        help="the echo bot's Bot API client (default httpx, PTB's own: the bare PTB bot)",
    )
    parser.add_argument(
        "--database-url",
        default=None,
        help="default: a fresh SQLite file; or postgresql+asyncpg://...",
    )
    return parser.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse()))
