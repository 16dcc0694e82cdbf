"""An aiosqlite-compatible SQLite connection whose statements run on the event loop's thread.

aiosqlite sends every statement to a thread of its own and back through the event loop:
two loop hops per statement, in a loop that is also serving the Telegram long poll, the
HTTP clients and the dispatcher. SQLite statements on a WAL database with
``synchronous=NORMAL`` take microseconds, so the hops cost far more than the work.

Running them inline is safe only if nothing waits for a lock on the loop's thread:

* **Write locks** are taken by ``BEGIN IMMEDIATE`` at the start of every transaction (see
  :mod:`storage.db`). :meth:`InlineConnection.begin_immediate` tries it without waiting
  and, when another connection (of this process or another) holds the lock, *sleeps
  asynchronously* and tries again, so the holder can finish on the same loop. Inside this
  process the unit of work's asyncio lock already makes writers queue, so this only
  happens with connections outside a unit of work and with other processes (``carebot``
  commands next to a running bot).
* **After BEGIN IMMEDIATE** the transaction holds the write lock, and in WAL mode readers
  never block writers, so no later statement of it waits; a short ``busy_timeout`` covers
  SQLite's rare transient cases (WAL recovery) without stalling the loop for long.
* **Checkpoints** (copying the WAL back into the database file, with an fsync) are the one
  slow step SQLite takes on its own, at a commit. They are switched off on these
  connections and run instead every :data:`CHECKPOINT_EVERY` commits on a worker thread,
  through a connection of its own; in WAL mode a checkpoint runs alongside writers.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from urllib.request import pathname2url

INLINE_BUSY_TIMEOUT_MS = 50
"""How long one statement may wait on SQLite's own busy handler (it blocks the loop)."""
CHECKPOINT_EVERY = 200
"""Commits of one connection between two background checkpoints."""
log = logging.getLogger(__name__)
_checkpointing: set[str] = set()  # database files with a checkpoint under way
checkpoints_done = 0


class InlineCursor:
    """The async cursor API SQLAlchemy's aiosqlite adapter uses, done synchronously."""

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        """Column descriptions of the last query."""
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        """Rows changed by the last statement."""
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        """The rowid of the last inserted row."""
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        """Rows per ``fetchmany``."""
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(self, sql: str, parameters: Any = None) -> InlineCursor:
        """Run one statement."""
        if parameters is None:
            self._cursor.execute(sql)
        else:
            self._cursor.execute(sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> InlineCursor:
        """Run one statement for each parameter set."""
        self._cursor.executemany(sql, parameters)
        return self

    async def fetchone(self) -> Any:
        """The next row."""
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        """The next ``size`` rows."""
        return self._cursor.fetchmany(size if size is not None else self._cursor.arraysize)

    async def fetchall(self) -> list[Any]:
        """All remaining rows."""
        return self._cursor.fetchall()

    async def close(self) -> None:
        """Release the cursor."""
        self._cursor.close()


class _InlineQueue:
    """Stands in for aiosqlite's request queue, which SQLAlchemy's adapter uses directly
    to set ``isolation_level``: runs the function at once and resolves its future."""

    def __init__(self, connection: InlineConnection) -> None:
        self._connection = connection

    def put_nowait(self, item: tuple[asyncio.Future[Any] | None, Callable[[], Any]]) -> None:
        future, function = item
        try:
            result = function()
        except BaseException as exc:  # handed to whoever awaits the future
            if future is not None and not future.done():
                future.set_exception(exc)
            return
        if future is not None and not future.done():
            future.set_result(result)


class InlineConnection:
    """What SQLAlchemy's ``sqlite+aiosqlite`` dialect needs from ``aiosqlite.Connection``."""

    def __init__(self, connection: sqlite3.Connection, path: str, *, uri: bool = False) -> None:
        self._connection: sqlite3.Connection | None = connection
        self._tx = _InlineQueue(self)
        self._path = path
        self._uri = uri
        self._commits = 0

    @property
    def _conn(self) -> sqlite3.Connection:
        if self._connection is None:
            raise ValueError("no active connection")
        return self._connection

    @property
    def isolation_level(self) -> str | None:
        """The sqlite3 module's transaction mode (``None``: SQLAlchemy emits BEGIN)."""
        return self._conn.isolation_level

    def cursor(self) -> InlineCursor:
        """A new cursor (usable with ``async with``, as aiosqlite's)."""
        return InlineCursor(self._conn.cursor())

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> InlineCursor:
        """Run one statement on a new cursor."""
        return await self.cursor().execute(sql, parameters)

    async def commit(self) -> None:
        """Commit the current transaction (now and then starting a checkpoint)."""
        self._conn.commit()
        self._commits += 1
        if self._commits % CHECKPOINT_EVERY == 0:
            checkpoint_soon(self._path, uri=self._uri)

    async def rollback(self) -> None:
        """Roll back the current transaction."""
        self._conn.rollback()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        """Register a SQL function."""
        self._conn.create_function(*args, **kwargs)

    async def begin_immediate(self, give_up_after: float) -> None:
        """``BEGIN IMMEDIATE``, waiting for another writer by sleeping, not by blocking."""
        conn = self._conn
        deadline = time.monotonic() + give_up_after
        pause = 0.001
        while True:
            conn.execute("PRAGMA busy_timeout=0")
            try:
                conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() >= deadline:
                    raise
            finally:
                conn.execute(f"PRAGMA busy_timeout={INLINE_BUSY_TIMEOUT_MS}")
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.05)

    async def close(self) -> None:
        """Close the connection (a second call does nothing)."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def stop(self) -> None:
        """Close at once (SQLAlchemy's terminate path)."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def checkpoint_soon(path: str, *, uri: bool = False) -> asyncio.Future[None] | None:
    """Checkpoint ``path``'s WAL on a worker thread, unless one is under way already."""
    if path in _checkpointing or path == ":memory:":
        return None
    _checkpointing.add(path)
    future = asyncio.get_running_loop().run_in_executor(None, _checkpoint, path, uri)

    def done(finished: asyncio.Future[None]) -> None:
        _checkpointing.discard(path)
        if not finished.cancelled() and finished.exception() is not None:
            log.warning("SQLite checkpoint failed: %s", finished.exception())

    future.add_done_callback(done)
    return future


def _checkpoint(path: str, uri: bool) -> None:
    global checkpoints_done
    target = path if uri else f"file:{pathname2url(path)}?mode=rw"  # never create a file
    connection = sqlite3.connect(target, uri=True, timeout=0, isolation_level=None)
    try:
        connection.execute("PRAGMA wal_checkpoint(PASSIVE)")  # never waits for a lock
        checkpoints_done += 1
    finally:
        connection.close()


def inline_creator(path: str, *, uri: bool = False) -> Callable[[], Any]:
    """An ``async_creator`` for ``create_async_engine`` opening ``path`` inline."""

    async def create() -> InlineConnection:
        connection = sqlite3.connect(
            path, uri=uri, isolation_level=None, check_same_thread=False, timeout=0
        )
        connection.execute(f"PRAGMA busy_timeout={INLINE_BUSY_TIMEOUT_MS}")
        connection.execute("PRAGMA wal_autocheckpoint=0")  # see checkpoint_soon
        return InlineConnection(connection, path, uri=uri)

    return create
