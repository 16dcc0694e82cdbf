"""The database: an async engine and session factory for SQLite or PostgreSQL.

SQLite is the embedded default. It allows one writer at a time, so every unit of work
on SQLite takes ``BEGIN IMMEDIATE`` (another writer is waited for before anything is
written, instead of failing half-way) and, inside one process, an asyncio lock (tasks
queue cheaply instead of spinning on the busy handler). Its statements run on the event
loop's own thread (:mod:`storage.sqlite_inline`): they take microseconds, far less than
a hop to a driver thread and back. PostgreSQL needs none of this: row locks keep each
conversation in order and ``SKIP LOCKED`` shares work between workers.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.util import await_only

from storage.sqlite_inline import INLINE_BUSY_TIMEOUT_MS, InlineConnection, inline_creator

WRITE_LOCK_TIMEOUT_SECONDS = 30.0
"""How long a SQLite transaction waits for another process's write to finish."""


@dataclass
class Database:
    """An engine, its session factory and, on SQLite, the in-process write lock."""

    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    write_lock: asyncio.Lock | None = field(default=None)

    @property
    def is_sqlite(self) -> bool:
        """True on the single-process SQLite default."""
        return self.engine.dialect.name == "sqlite"

    @property
    def is_postgres(self) -> bool:
        """True on PostgreSQL, where several workers may share the database."""
        return self.engine.dialect.name == "postgresql"

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()


def _configure_sqlite(engine: AsyncEngine) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={INLINE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # Sorts and groupings of the reports stay in memory. Set here, outside any
        # transaction: SQLite refuses to change it inside one once the connection has
        # opened its temporary database (a migration or a catalogue query may have).
        cursor.execute("PRAGMA temp_store=MEMORY")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        driver = connection.connection.driver_connection
        if isinstance(driver, InlineConnection):
            await_only(driver.begin_immediate(WRITE_LOCK_TIMEOUT_SECONDS))
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")


def open_database(url: str, *, schema: str | None = None, echo: bool = False) -> Database:
    """Create the engine for ``url``; ``schema`` puts every table in a PostgreSQL schema."""
    parsed = make_url(url)
    kwargs: dict[str, Any] = {"echo": echo}
    if parsed.get_backend_name() == "sqlite":
        uri = str(parsed.query.get("uri", "")).lower() in ("1", "true")
        kwargs["async_creator"] = inline_creator(parsed.database or ":memory:", uri=uri)
    elif schema:
        kwargs["connect_args"] = {"server_settings": {"search_path": schema}}
    if parsed.get_backend_name() == "postgresql":
        kwargs.update(pool_pre_ping=True, pool_size=10, max_overflow=10)
    engine = create_async_engine(url, **kwargs)
    lock = None
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
        lock = asyncio.Lock()
    sessions = async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
    return Database(engine=engine, sessions=sessions, write_lock=lock)
