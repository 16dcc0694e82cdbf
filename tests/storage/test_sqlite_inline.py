"""SQLite statements run on the event loop's thread, so nothing may wait on it for a lock."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from pathlib import Path

from sqlalchemy import text

from storage import sqlite_inline
from storage.db import open_database
from storage.migrate import upgrade_database
from storage.unit_of_work import UnitOfWork


async def test_a_writer_in_another_process_is_waited_for_without_blocking_the_loop(
    tmp_path: Path,
) -> None:
    path = tmp_path / "carebot.db"
    db = open_database(f"sqlite+aiosqlite:///{path}")
    await upgrade_database(db)
    other = sqlite3.connect(path, isolation_level=None)  # stands in for another process
    other.execute("BEGIN IMMEDIATE")
    other.execute(
        "INSERT INTO processed_events (source, event_id, processed_at) "
        "VALUES ('x', 'first', '2026-01-01')"
    )

    async def write() -> None:
        async with UnitOfWork(db) as uow:
            assert await uow.inbox.first_time("x", "second")
            await uow.commit()

    writer = asyncio.create_task(write())
    ticks = 0
    for _ in range(20):  # the loop keeps running while the writer waits for the lock
        await asyncio.sleep(0.01)
        ticks += 1
    assert ticks == 20 and not writer.done()
    other.execute("COMMIT")
    other.close()
    await asyncio.wait_for(writer, 5)
    async with db.engine.connect() as connection:
        found = await connection.execute(text("SELECT event_id FROM processed_events"))
        assert sorted(row[0] for row in found) == ["first", "second"]
    await db.dispose()


async def test_checkpoints_run_on_a_worker_thread(tmp_path: Path) -> None:
    path = tmp_path / "carebot.db"
    db = open_database(f"sqlite+aiosqlite:///{path}")
    await upgrade_database(db)
    async with db.engine.connect() as connection:
        automatic = (await connection.execute(text("PRAGMA wal_autocheckpoint"))).scalar()
    assert automatic == 0  # never at a commit, on the loop's thread
    before = sqlite_inline.checkpoints_done
    for n in range(sqlite_inline.CHECKPOINT_EVERY + 1):
        async with UnitOfWork(db) as uow:
            await uow.inbox.first_time("x", str(n))
            await uow.commit()
    for _ in range(200):
        if sqlite_inline.checkpoints_done > before:
            break
        await asyncio.sleep(0.01)
    assert sqlite_inline.checkpoints_done > before
    await db.dispose()


def test_a_checkpoint_never_creates_a_missing_database(tmp_path: Path) -> None:
    missing = tmp_path / "gone.db"

    async def run() -> None:
        future = sqlite_inline.checkpoint_soon(str(missing))
        assert future is not None
        with contextlib.suppress(sqlite3.Error):
            await future

    asyncio.run(run())
    assert not missing.exists()
