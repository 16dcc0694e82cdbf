"""Report facts kept on each conversation by the database itself.

``conversations.next_contact_at`` is the start of the same customer's first conversation
after this one was resolved, when it came within :data:`REPEAT_DAYS` (7 × 24 hours);
NULL otherwise. The repeat-contact rate (PRODUCT.md §1) is then a plain column test
instead of a correlated lookup per resolved conversation, which dominated report time.

Database triggers keep the column exact whoever writes (the engine, imports, privacy
erasure, tests inserting rows directly): a conversation's own value is recomputed when
its resolution time or customer changes, and when a conversation is inserted, moved or
deleted, the same customer's conversations resolved in the 7 days before its start are
recomputed. Each recomputation is one index probe on ``(customer_id, started_at)``; the
set of conversations to recompute comes from ``(customer_id, resolved_at)``.

:func:`install` / :func:`uninstall` create and drop the triggers (the migration, and the
seeder around its bulk load); :func:`backfill` recomputes every row.
"""

from __future__ import annotations

from sqlalchemy.engine import Connection

REPEAT_DAYS = 7
_HOURS = REPEAT_DAYS * 24
_LOCK = 742_163_902  # advisory-lock namespace (storage.migrate uses 742_163_901)

_SQLITE_LATER = "date(substr({0}, 1, 10), '+{1} days') || substr({0}, 11)"
_SQLITE_EARLIER = "date(substr({0}, 1, 10), '-{1} days') || substr({0}, 11)"


def _sqlite_next(alias: str, customer: str, resolved: str) -> str:
    """The first start of ``customer`` after ``resolved`` within the window (SQLite).

    Timestamps are stored as ``YYYY-MM-DD HH:MM:SS.ffffff`` text: moving only the date
    part keeps the bound exact to the microsecond and lets the index answer the range.
    """
    bound = _SQLITE_LATER.format(resolved, REPEAT_DAYS)
    return (
        f"(SELECT min({alias}.started_at) FROM conversations AS {alias} "
        f"WHERE {alias}.customer_id = {customer} AND {alias}.started_at > {resolved} "
        f"AND {alias}.started_at <= {bound})"
    )


def _sqlite_refresh(customer: str, start: str) -> str:
    """Recompute the customer's conversations resolved in the window before ``start``."""
    earlier = _SQLITE_EARLIER.format(start, REPEAT_DAYS)
    value = _sqlite_next("later", "conversations.customer_id", "conversations.resolved_at")
    # Only rows whose value changes are written: normally just the previous conversation,
    # once, when the customer comes back.
    return (
        f"UPDATE conversations SET next_contact_at = {value} "
        f"WHERE customer_id = {customer} AND resolved_at >= {earlier} "
        f"AND resolved_at < {start} AND next_contact_at IS NOT {value};"
    )


def _sqlite_own() -> str:
    value = _sqlite_next("later", "NEW.customer_id", "NEW.resolved_at")
    return (
        f"UPDATE conversations SET next_contact_at = {value} "
        f"WHERE id = NEW.id AND next_contact_at IS NOT {value};"
    )


SQLITE_TRIGGERS = {
    "trg_conversations_next_contact_insert": (
        "AFTER INSERT ON conversations FOR EACH ROW BEGIN "
        + _sqlite_refresh("NEW.customer_id", "NEW.started_at")
        + " "
        + _sqlite_own()
        + " END"
    ),
    "trg_conversations_next_contact_update": (
        "AFTER UPDATE OF started_at, customer_id, resolved_at ON conversations "
        "FOR EACH ROW BEGIN "
        + _sqlite_refresh("OLD.customer_id", "OLD.started_at")
        + " "
        + _sqlite_refresh("NEW.customer_id", "NEW.started_at")
        + " "
        + _sqlite_own()
        + " END"
    ),
    "trg_conversations_next_contact_delete": (
        "AFTER DELETE ON conversations FOR EACH ROW BEGIN "
        + _sqlite_refresh("OLD.customer_id", "OLD.started_at")
        + " END"
    ),
}

_PG_NEXT = (
    "(SELECT min(later.started_at) FROM conversations AS later "
    "WHERE later.customer_id = {customer} AND later.started_at > {resolved} "
    f"AND later.started_at <= {{resolved}} + interval '{_HOURS} hours')"
)

POSTGRES_FUNCTIONS = {
    "carebot_next_contact_refresh": (
        "(customer integer, since timestamptz, until timestamptz) RETURNS void "
        "LANGUAGE sql AS $$ UPDATE conversations SET next_contact_at = "
        + _PG_NEXT.format(
            customer="conversations.customer_id", resolved="conversations.resolved_at"
        )
        + " WHERE customer_id = customer AND resolved_at >= since AND resolved_at < until"
        " AND next_contact_at IS DISTINCT FROM "
        + _PG_NEXT.format(
            customer="conversations.customer_id", resolved="conversations.resolved_at"
        )
        + " $$"
    ),
    "carebot_next_contact": (
        "() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        # One writer per customer at a time: a second transaction waits here, and its
        # statements below then see the first one's committed conversations.
        f"IF TG_OP IN ('UPDATE', 'DELETE') THEN PERFORM pg_advisory_xact_lock({_LOCK}, "
        "OLD.customer_id); END IF; "
        f"IF TG_OP IN ('INSERT', 'UPDATE') THEN PERFORM pg_advisory_xact_lock({_LOCK}, "
        "NEW.customer_id); END IF; "
        "IF TG_OP IN ('UPDATE', 'DELETE') THEN "
        "PERFORM carebot_next_contact_refresh(OLD.customer_id, "
        f"OLD.started_at - interval '{_HOURS} hours', OLD.started_at); "
        "END IF; "
        "IF TG_OP IN ('INSERT', 'UPDATE') THEN "
        "PERFORM carebot_next_contact_refresh(NEW.customer_id, "
        f"NEW.started_at - interval '{_HOURS} hours', NEW.started_at); "
        "UPDATE conversations SET next_contact_at = "
        + _PG_NEXT.format(customer="NEW.customer_id", resolved="NEW.resolved_at")
        + " WHERE id = NEW.id AND next_contact_at IS DISTINCT FROM "
        + _PG_NEXT.format(customer="NEW.customer_id", resolved="NEW.resolved_at")
        + "; "
        "END IF; "
        "RETURN NULL; END $$"
    ),
}

POSTGRES_TRIGGER = (
    "CREATE TRIGGER trg_conversations_next_contact "
    "AFTER INSERT OR DELETE OR UPDATE OF started_at, customer_id, resolved_at "
    "ON conversations FOR EACH ROW EXECUTE FUNCTION carebot_next_contact()"
)


def install(connection: Connection) -> None:
    """Create the triggers (and, on PostgreSQL, their functions)."""
    if connection.dialect.name == "sqlite":
        for name, body in SQLITE_TRIGGERS.items():
            connection.exec_driver_sql(f"CREATE TRIGGER IF NOT EXISTS {name} {body}")
        return
    for name, body in POSTGRES_FUNCTIONS.items():
        connection.exec_driver_sql(f"CREATE OR REPLACE FUNCTION {name}{body}")
    connection.exec_driver_sql(
        "DROP TRIGGER IF EXISTS trg_conversations_next_contact ON conversations"
    )
    connection.exec_driver_sql(POSTGRES_TRIGGER)


def uninstall(connection: Connection) -> None:
    """Drop the triggers (and functions); :func:`backfill` must run before reinstalling."""
    if connection.dialect.name == "sqlite":
        for name in SQLITE_TRIGGERS:
            connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
        return
    connection.exec_driver_sql(
        "DROP TRIGGER IF EXISTS trg_conversations_next_contact ON conversations"
    )
    connection.exec_driver_sql("DROP FUNCTION IF EXISTS carebot_next_contact()")
    connection.exec_driver_sql(
        "DROP FUNCTION IF EXISTS carebot_next_contact_refresh(integer, timestamptz, timestamptz)"
    )


def backfill(connection: Connection) -> None:
    """Recompute ``next_contact_at`` for every conversation (one probe per resolved one)."""
    if connection.dialect.name == "sqlite":
        later = _sqlite_next("later", "conversations.customer_id", "conversations.resolved_at")
    else:
        later = _PG_NEXT.format(
            customer="conversations.customer_id", resolved="conversations.resolved_at"
        )
    connection.exec_driver_sql(
        f"UPDATE conversations SET next_contact_at = {later} "
        "WHERE resolved_at IS NOT NULL OR next_contact_at IS NOT NULL"
    )


__all__ = ["REPEAT_DAYS", "backfill", "install", "uninstall"]
