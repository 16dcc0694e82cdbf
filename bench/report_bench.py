"""Benchmark: a cold ``carebot report`` over 100,000 or 1,000,000 conversations.

Seeds once (a reusable SQLite file under ``bench/.data`` or a PostgreSQL database named
``carebot_bench_<n>``), then times the default ``carebot report`` as a subprocess, so
interpreter start and imports are included: 28 days with the previous 28, by intent and by agent,
the week-over-week trend and the lowest-rated list.

    python bench/report_bench.py --engine sqlite --conversations 1000000
    python bench/report_bench.py --engine postgres --conversations 1000000 \\
        --pg-url postgresql+asyncpg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


async def _prepare_postgres(admin_url: str, name: str) -> bool:
    """Create the benchmark database if missing; True when it must be seeded."""
    from sqlalchemy import text

    from storage.db import open_database

    db = open_database(admin_url)
    try:
        async with db.engine.connect() as connection:
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            exists = (
                await connection.execute(
                    text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
                )
            ).scalar()
            if not exists:
                await connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await db.dispose()
    return not exists


async def _upgrade(url: str) -> None:
    """Bring a database seeded by an older Carebot to the current schema (not timed)."""
    from storage.db import open_database
    from storage.migrate import upgrade_database

    db = open_database(url)
    try:
        await upgrade_database(db)
    finally:
        await db.dispose()


def main() -> int:
    """Seed if needed, then time cold report runs."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--engine", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--pg-url",
        default=os.environ.get(
            "CAREBOT_BENCH_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
        ),
    )
    args = parser.parse_args()
    n = args.conversations
    if args.engine == "sqlite":
        data = ROOT / "bench" / ".data"
        data.mkdir(parents=True, exist_ok=True)
        path = data / f"report-{n}.db"
        url = f"sqlite+aiosqlite:///{path}"
        needs_seed = not path.exists()
    else:
        name = f"carebot_bench_{n}"
        url = args.pg_url.rsplit("/", 1)[0] + f"/{name}"
        needs_seed = asyncio.run(_prepare_postgres(args.pg_url, name))
    env = {**os.environ, "CAREBOT_DATABASE_URL": url, "CAREBOT_TIMEZONE": "Europe/Berlin"}
    command = [sys.executable, "-m", "bot.reporting"]
    if needs_seed:
        started = time.perf_counter()
        subprocess.run(
            [*command, "seed", "--conversations", str(n), "--weeks", "12"],
            check=True,
            cwd=ROOT,
            env=env,
        )
        print(
            f"seeded {n:,} conversations on {args.engine} in {time.perf_counter() - started:.1f} s"
        )
    else:
        started = time.perf_counter()
        asyncio.run(_upgrade(url))
        print(f"schema checked/upgraded in {time.perf_counter() - started:.1f} s")
    # Timed as a manager runs it: the installed ``carebot`` command (its parser, settings
    # and logging set-up included), or ``python -m bot.cli`` where it is not installed.
    script = Path(sys.executable).with_name("carebot")
    carebot = [str(script)] if script.exists() else [sys.executable, "-m", "bot.cli"]
    report = [
        *carebot,
        "report",
        "--since",
        "28d",
        "--until",
        "today",
        "--by",
        "intent,agent",
        "--out",
        os.devnull,
    ]
    times, cpu = [], []
    for _ in range(args.runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(report, check=True, cwd=ROOT, env=env, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    # Wall time is what a manager waits; on a shared machine the best run is the fairest
    # estimate, and the command's own CPU time (interpreter, imports, SQLite work, not
    # the PostgreSQL server's) and the load average say how busy the machine was.
    print(
        f"{args.engine} {n:,} conversations: cold `carebot report --since 28d --by "
        f"intent,agent` best {min(times):.2f} s, median {statistics.median(times):.2f} s "
        f"(runs: {', '.join(f'{t:.2f}' for t in times)}; command CPU "
        f"{', '.join(f'{c:.2f}' for c in cpu)} s; load {os.getloadavg()[0]:.1f})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
