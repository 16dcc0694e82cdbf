"""daily rollups and per-customer low ratings, kept exact like the hourly rollups

Revision ID: 0006
Revises: 0005

``report_rollup_days`` holds the sum of each UTC day's hourly rollup rows, so a report
over weeks adds up one row per day and value instead of twenty-four. ``report_low_ratings``
counts, per UTC hour and customer, the answered surveys scoring 1–2, which is what ranks
the customers at risk. Both are rebuilt from the same dirty hours as the hourly rollups
(storage/rollups.py); since the low ratings are kept per customer, moving a conversation
to another customer now marks its hour too. The SQL is written out here in full, so later
code changes never change what this migration does; the new tables are filled set-based.
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_COUNTS = (
    "conversations",
    "handed",
    "bot_confirmed",
    "bot_assumed",
    "abandoned",
    "resolved",
    "reopened",
    "repeat",
    "sent",
    "answered",
    "satisfied",
    "score_sum",
    "score_squares",
    "s1",
    "s2",
    "s3",
    "s4",
    "s5",
    "handoffs",
    "handoffs_answered",
    "sla_met",
    "sla_breached",
)
_SQLITE_SLOT = "(CAST(strftime('%s', substr({0}, 1, 13) || ':00:00') AS INTEGER) / 3600)"
_PG_SLOT = "floor(extract(epoch FROM {0}) / 3600)::bigint"

_OLD_COLUMNS = (
    "started_at, channel, primary_intent, handoff_reason, agent_id, resolution, "
    "resolved_at, reopened_count, next_contact_at"
)
_NEW_COLUMNS = _OLD_COLUMNS + ", customer_id"

_SQLITE_MARK = (
    "INSERT INTO report_dirty (slot) SELECT s FROM (SELECT {slot} AS s) "
    "WHERE s IS NOT NULL AND NOT EXISTS (SELECT 1 FROM report_dirty WHERE slot = s);"
)


def _sqlite_update_trigger(columns: str) -> str:
    old = _SQLITE_MARK.format(slot=_SQLITE_SLOT.format("OLD.started_at"))
    new = _SQLITE_MARK.format(slot=_SQLITE_SLOT.format("NEW.started_at"))
    return (
        "CREATE TRIGGER trg_report_dirty_conversations_update AFTER UPDATE OF "
        f"{columns} ON conversations FOR EACH ROW BEGIN {old} {new} END"
    )


def _pg_trigger(columns: str) -> str:
    return (
        "CREATE TRIGGER trg_report_dirty_conversations AFTER INSERT OR DELETE OR UPDATE OF "
        f"{columns} ON conversations FOR EACH ROW "
        "EXECUTE FUNCTION carebot_report_dirty_conversations()"
    )


def _pg_truncated(extra: str) -> str:
    return (
        "CREATE OR REPLACE FUNCTION carebot_report_truncated() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN "
        "IF TG_TABLE_NAME = 'conversations' THEN "
        "DELETE FROM report_rollup; DELETE FROM report_durations; DELETE FROM report_histogram; "
        f"{extra}DELETE FROM report_dirty; "
        "ELSE INSERT INTO report_dirty (slot) SELECT DISTINCT "
        + _PG_SLOT.format("started_at")
        + " FROM conversations; END IF; "
        "RETURN NULL; END $$"
    )


def _set_trigger(postgres: bool, columns: str) -> None:
    connection = op.get_bind()
    if postgres:
        connection.exec_driver_sql(
            "DROP TRIGGER IF EXISTS trg_report_dirty_conversations ON conversations"
        )
        connection.exec_driver_sql(_pg_trigger(columns))
    else:
        connection.exec_driver_sql("DROP TRIGGER IF EXISTS trg_report_dirty_conversations_update")
        connection.exec_driver_sql(_sqlite_update_trigger(columns))


def upgrade() -> None:
    connection = op.get_bind()
    postgres = connection.dialect.name == "postgresql"
    counts = ", ".join(f"{name} BIGINT NOT NULL DEFAULT 0" for name in _COUNTS)
    sums = ", ".join(f"sum({name})" for name in _COUNTS)
    slot = (_PG_SLOT if postgres else _SQLITE_SLOT).format("c.started_at")
    statements = [
        "CREATE TABLE report_rollup_days (day BIGINT NOT NULL, dim VARCHAR(16) NOT NULL, "
        f"value VARCHAR(64), {counts})",
        "CREATE INDEX ix_report_rollup_days_dim_day ON report_rollup_days (dim, day)",
        f"INSERT INTO report_rollup_days (day, dim, value, {', '.join(_COUNTS)}) "
        f"SELECT slot / 24, dim, value, {sums} FROM report_rollup "
        "GROUP BY slot / 24, dim, value",
        "CREATE TABLE report_low_ratings (slot BIGINT NOT NULL, customer_id INTEGER NOT NULL, "
        "n BIGINT NOT NULL)",
        "CREATE INDEX ix_report_low_ratings ON report_low_ratings (slot, customer_id, n)",
        "INSERT INTO report_low_ratings (slot, customer_id, n) "
        f"SELECT {slot}, c.customer_id, count(*) FROM conversations c "
        "JOIN surveys s ON s.conversation_id = c.id "
        "WHERE s.status = 'answered' AND s.score <= 2 "
        f"GROUP BY {slot}, c.customer_id",
    ]
    for statement in statements:
        connection.exec_driver_sql(statement)
    if postgres:
        connection.exec_driver_sql(
            _pg_truncated("DELETE FROM report_rollup_days; DELETE FROM report_low_ratings; ")
        )
    _set_trigger(postgres, _NEW_COLUMNS)


def downgrade() -> None:
    connection = op.get_bind()
    postgres = connection.dialect.name == "postgresql"
    _set_trigger(postgres, _OLD_COLUMNS)
    if postgres:
        connection.exec_driver_sql(_pg_truncated(""))
    connection.exec_driver_sql("DROP TABLE report_low_ratings")
    connection.exec_driver_sql("DROP TABLE report_rollup_days")
