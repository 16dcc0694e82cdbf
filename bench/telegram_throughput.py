"""Messages per second through the fake Telegram Bot API: Carebot vs a bare PTB echo bot.

Both bots poll the same loopback fake (``tests/fakes/telegram_server.py``) with the real
python-telegram-bot stack. Each first answers a warm-up, untimed (one round of the script
per customer, from other chats), so both are timed warm. ``--customers`` customers each
write ``--messages`` messages, one after another (the next once the previous one was
answered), all customers at once.
Latency is per message: update pushed → the bot's ``sendMessage`` arriving at the fake.
The echo bot is the ceiling (PTB + HTTP only, ``concurrent_updates=True``); Carebot adds
the engine, the database and the outbox. Rate limits are raised for both.

    python -m bench.telegram_throughput --customers 20 --messages 10
    python -m bench.telegram_throughput --understander scripted   # NLU out of the picture
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from telegram import Update
from telegram.ext import ApplicationBuilder, ContextTypes, MessageHandler, filters

from bot.app import assemble_carebot
from bot.channels.console import QuietStaffSender
from bot.channels.telegram import TelegramChannel
from bot.config import Settings
from intents import load_understander
from intents.base import Understander
from storage.migrate import upgrade_database
from tests.fakes.telegram_server import TOKEN, Call, FakeTelegram

LINES = ("hello", "how can i pay", "do you ship abroad", "where is my order", "thanks")
RATE = 100_000.0


class Probe:
    """Pushes customer messages and times the first reply to each."""

    def __init__(self, fake: FakeTelegram) -> None:
        self.fake = fake
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
        """One customer: write, wait for the answer, write again."""
        for index in range(messages):
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
        started = time.monotonic()
        await asyncio.gather(*(self.customer(first_chat + n, messages) for n in range(customers)))
        elapsed = time.monotonic() - started
        ordered = sorted(self.latencies)
        return {
            "messages": len(ordered),
            "seconds": elapsed,
            "msgs_per_s": len(ordered) / elapsed,
            "p50_ms": 1000 * statistics.median(ordered),
            "p99_ms": 1000 * ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
        }


async def _echo(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
    if update.message is not None and update.message.text:
        await update.message.reply_text(update.message.text)


async def echo_bot(
    fake: FakeTelegram, work: Callable[[], Awaitable[dict[str, float]]]
) -> dict[str, float]:
    """The ceiling: PTB's own polling ``Updater`` and one echo handler."""
    app = ApplicationBuilder().token(TOKEN).base_url(fake.base_url).concurrent_updates(True).build()
    app.add_handler(MessageHandler(filters.TEXT, _echo))
    async with app:
        assert app.updater is not None
        await app.updater.start_polling(timeout=1, poll_interval=0)
        await app.start()
        try:
            return await work()
        finally:
            await app.updater.stop()
            await app.stop()


async def carebot(
    fake: FakeTelegram,
    settings: Settings,
    understander: Understander,
    work: Callable[[], Awaitable[dict[str, float]]],
) -> dict[str, float]:
    """Carebot polling the same fake, with its dispatcher and timers running."""
    bot = assemble_carebot(settings, understander=understander, with_channels=False)
    await upgrade_database(bot.db)
    channel = TelegramChannel.from_settings(settings, bot.engine, poll_timeout=1)
    bot.add_channel(channel)
    bot.add_sender("console-staff", QuietStaffSender())
    await bot.start()
    try:
        return await work()
    finally:
        await bot.stop()


async def main(args: argparse.Namespace) -> None:
    """Run both bots on one fake and print the comparison."""
    logging.basicConfig(level=logging.WARNING)
    fake = FakeTelegram()
    await fake.start()
    folder = Path(tempfile.mkdtemp(prefix="carebot-bench-"))
    url = args.database_url or f"sqlite+aiosqlite:///{folder / 'bench.db'}"
    settings = Settings.model_validate(
        {
            "database_url": url,
            "telegram_bot_token": TOKEN,
            "telegram_api_url": fake.base_url,
            "telegram_rate_overall": RATE,
            "telegram_rate_per_chat": RATE,
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
            "database": url.split("@")[-1],
            "understander": args.understander,
            "telegram_rate_overall": settings.telegram_rate_overall,
            "telegram_rate_per_chat": settings.telegram_rate_per_chat,
            "echo_concurrent_updates": 256,
            "carebot_dispatcher_batch": 64,
            "warm_up_messages_each": len(LINES),
        },
    )
    probe = Probe(fake)
    results: dict[str, dict[str, Any]] = {}
    warm_up = len(LINES)  # one round of the script per customer, other chats, untimed

    async def after_warm_up(first_chat: int) -> dict[str, float]:
        await probe.run(args.customers, warm_up, first_chat + 500_000)
        return await probe.run(args.customers, args.messages, first_chat)

    results["echo"] = await echo_bot(fake, lambda: after_warm_up(1))
    results["carebot"] = await carebot(fake, settings, understander, lambda: after_warm_up(100_000))
    await fake.stop()
    for name, found in results.items():
        print(
            f"{name:8s} {found['messages']:6.0f} msgs in {found['seconds']:6.2f}s  "
            f"{found['msgs_per_s']:8.1f} msgs/s  p50 {found['p50_ms']:7.1f} ms  "
            f"p99 {found['p99_ms']:7.1f} ms"
        )
    ratio = results["carebot"]["msgs_per_s"] / results["echo"]["msgs_per_s"]
    print(
        f"carebot/echo throughput: {ratio:.1%} (target >= 50%); "
        f"carebot p99 {results['carebot']['p99_ms']:.1f} ms (target < 50 ms)"
    )


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20)
    parser.add_argument("--messages", type=int, default=10)
    parser.add_argument("--understander", choices=("real", "scripted"), default="real")
    parser.add_argument(
        "--database-url",
        default=None,
        help="default: a fresh SQLite file; or postgresql+asyncpg://...",
    )
    return parser.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse()))
