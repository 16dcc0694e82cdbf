"""Alembic environment: migrations run on a connection handed over by ``storage.migrate``.

Run from the command line (``alembic -x url=...``) it opens its own connection.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from storage.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations() -> None:
    """Migrate on the given connection, or on one made from ``-x url=...``."""
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    url = context.get_x_argument(as_dictionary=True).get("url", "sqlite:///carebot.db")
    engine = create_engine(url)
    with engine.begin() as own:
        context.configure(
            connection=own,
            target_metadata=target_metadata,
            render_as_batch=own.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations()
