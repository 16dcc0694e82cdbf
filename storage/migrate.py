"""Apply Alembic migrations from code: on start, from ``carebot db upgrade`` and in tests.

On PostgreSQL an advisory lock makes several workers starting together migrate once.
A worker refuses to run against a schema that a newer Carebot has migrated.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.db import Database

MIGRATIONS = Path(__file__).parent / "migrations"
_LOCK_ID = 742_163_901  # any constant shared by every Carebot worker


class SchemaTooNewError(RuntimeError):
    """The database is at a revision this code does not know."""


def alembic_config() -> Config:
    """An Alembic config pointing at our migrations folder."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def _current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _upgrade(connection: Connection) -> str | None:
    config = alembic_config()
    script = ScriptDirectory.from_config(config)
    current = _current_revision(connection)
    if current is not None and current not in {rev.revision for rev in script.walk_revisions()}:
        raise SchemaTooNewError(
            f"the database is at schema revision {current}, which this Carebot does not know; "
            "upgrade Carebot before starting it"
        )
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
    return _current_revision(connection)


async def _refresh_rollups(connection: AsyncConnection) -> None:
    """Count the hours a migration (or writes since the last report) left dirty."""
    from storage import rollups

    if await rollups.installed(connection):
        sla, vip = await rollups.stored_settings(connection)
        await rollups.refresh(connection, sla, vip)
        await connection.commit()


async def upgrade_database(db: Database) -> str | None:
    """Bring the schema to the newest revision; returns the revision now in place."""
    async with db.engine.connect() as connection:
        if db.is_postgres:
            await connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _LOCK_ID})
        try:
            revision = await connection.run_sync(_upgrade)
            await connection.commit()
            await _refresh_rollups(connection)
        finally:
            if db.is_postgres:
                await connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _LOCK_ID})
                await connection.commit()
    return revision
