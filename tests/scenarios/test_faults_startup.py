"""Safe start-up of several workers on PostgreSQL: migrate once, refuse a newer schema.

PostgreSQL only (skipped without ``CAREBOT_TEST_DATABASE_URL``, a failure in CI); every
test makes a private database and drops it.
"""

from __future__ import annotations

import asyncio
import logging

import pytest
from sqlalchemy import text

from bot.app import assemble_carebot
from bot.asgi import build_asgi
from bot.cli import main
from bot.errors import SchemaError
from intents.base import Understander
from storage.db import open_database
from storage.migrate import alembic_config, upgrade_database
from tests.conftest import IN_CI, PG_URL
from tests.fakes.workers import private_database
from tests.helpers import make_settings

pytestmark = pytest.mark.postgres
FUTURE = "9999_from_a_newer_carebot"


@pytest.fixture(autouse=True)
def _needs_postgres() -> None:
    if not PG_URL:
        message = "start-up tests need CAREBOT_TEST_DATABASE_URL (PostgreSQL)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


def head() -> str:
    from alembic.script import ScriptDirectory

    found = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert found is not None
    return found


async def migrate(url: str) -> str | None:
    db = open_database(url)
    try:
        return await upgrade_database(db)
    finally:
        await db.dispose()


async def mark_newer(url: str) -> None:
    await migrate(url)
    db = open_database(url)
    try:
        async with db.engine.begin() as connection:
            await connection.execute(
                text("UPDATE alembic_version SET version_num = :v"), {"v": FUTURE}
            )
    finally:
        await db.dispose()


async def test_concurrent_startups_migrate_once() -> None:
    async with private_database(PG_URL, "carebot_startup") as url:
        revisions = await asyncio.gather(*(migrate(url) for _ in range(4)))
        assert revisions == [head()] * 4  # no worker failed on another's half-made tables
        db = open_database(url)
        try:
            async with db.engine.connect() as connection:
                rows = (
                    await connection.execute(text("SELECT version_num FROM alembic_version"))
                ).all()
        finally:
            await db.dispose()
        assert [row[0] for row in rows] == [head()]
        print(f"\n[concurrent start-ups] 4 workers migrated together; schema at {head()} once")


def test_serve_refuses_a_newer_schema(
    settings_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async def run() -> None:
        async with private_database(PG_URL, "carebot_startup") as url:
            await mark_newer(url)
            settings_env.setenv("CAREBOT_DATABASE_URL", url)
            assert await asyncio.to_thread(main, ["serve", "--workers", "2"]) == 1

    handlers, level = logging.root.handlers[:], logging.root.level
    try:
        asyncio.run(run())
    finally:  # the CLI configured logging onto pytest's captured stream: undo that
        logging.root.handlers[:], logging.root.level = handlers, level
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"carebot: the database is at schema revision {FUTURE}, which this Carebot does not "
        "know; upgrade Carebot before starting it"
    ]


async def test_worker_app_refuses_a_newer_schema(understander: Understander) -> None:
    async with private_database(PG_URL, "carebot_startup") as url:
        await mark_newer(url)
        carebot = assemble_carebot(
            make_settings(database_url=url), understander=understander, with_channels=False
        )
        app = build_asgi(carebot, manage_lifecycle=True)
        with pytest.raises(SchemaError, match=FUTURE):
            async with app.router.lifespan_context(app):
                pass
        await carebot.db.dispose()
