"""Shared fixtures: every database test runs on SQLite and, when configured, PostgreSQL.

``CAREBOT_TEST_DATABASE_URL`` (e.g. ``postgresql+asyncpg://postgres@127.0.0.1:5432/test``)
turns on the PostgreSQL half. Each test run gets its own schema, migrated once; tables
are emptied between tests. Without the variable the PostgreSQL tests skip with a note;
in CI (``CI=true``) a missing or silent server fails the run instead.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from intents import load_understander
from intents.base import Understander
from storage.db import Database, open_database
from storage.migrate import upgrade_database
from storage.models import Base
from tests.helpers import FakeClock

for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
    os.environ.pop(proxy, None)  # clients must talk to the loopback fakes directly

PG_URL = os.environ.get("CAREBOT_TEST_DATABASE_URL", "").strip()
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def pytest_report_header(config: pytest.Config) -> str:
    """Say which engines this run covers."""
    if PG_URL:
        return f"carebot databases: sqlite, postgresql ({PG_URL.split('@')[-1]})"
    return "carebot databases: sqlite only (set CAREBOT_TEST_DATABASE_URL for PostgreSQL)"


async def _migrate(url: str, schema: str | None) -> None:
    db = open_database(url, schema=schema)
    try:
        if schema:
            async with db.engine.begin() as connection:
                await connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        await upgrade_database(db)
    finally:
        await db.dispose()


async def _drop_schema(url: str, schema: str) -> None:
    db = open_database(url)
    try:
        async with db.engine.begin() as connection:
            await connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        await db.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (migrating once keeps tests fast)."""
    path = tmp_path_factory.mktemp("template") / "carebot.db"
    asyncio.run(_migrate(f"sqlite+aiosqlite:///{path}", None))
    return path


@pytest.fixture(scope="session")
def postgres_schema() -> Iterator[str]:
    """A schema of our own on the PostgreSQL server, for this run only."""
    if not PG_URL:
        message = "PostgreSQL tests need CAREBOT_TEST_DATABASE_URL (see README)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    schema = f"carebot_test_{uuid.uuid4().hex[:10]}"
    try:
        asyncio.run(_migrate(PG_URL, schema))
    except Exception as exc:
        if IN_CI:
            pytest.fail(f"PostgreSQL at {PG_URL} does not answer: {exc}")
        pytest.skip(f"PostgreSQL at {PG_URL} does not answer: {exc}")
    yield schema
    asyncio.run(_drop_schema(PG_URL, schema))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_target(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str | None]:
    """(url, schema) of a fresh, migrated database of each engine."""
    if request.param == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "carebot.db"
        shutil.copy(template, path)
        return f"sqlite+aiosqlite:///{path}", None
    return PG_URL, request.getfixturevalue("postgres_schema")


@pytest.fixture
async def database(db_target: tuple[str, str | None]) -> AsyncIterator[Database]:
    """An open database; on PostgreSQL its tables are emptied afterwards."""
    url, schema = db_target
    db = open_database(url, schema=schema)
    yield db
    if schema:
        names = ", ".join(f'"{table.name}"' for table in reversed(Base.metadata.sorted_tables))
        async with db.engine.begin() as connection:
            await connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    await db.dispose()


@pytest.fixture(scope="session")
def understander() -> Understander:
    """The shipped shop domain, trained once per run."""
    return load_understander()


@pytest.fixture
def clock() -> FakeClock:
    """A clock that only moves when the test says so."""
    return FakeClock()


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Start every test from a clean environment (no real tokens leak in)."""
    for name in list(os.environ):
        if (
            name.startswith(("CAREBOT_", "TELEGRAM_", "SLACK_"))
            and name != "CAREBOT_TEST_DATABASE_URL"
        ):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(Path(__file__).parent)  # no stray .env from the working directory
    return monkeypatch
