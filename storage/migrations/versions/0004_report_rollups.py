"""report rollups: hourly counts, stored durations and daily histograms, kept exact

Revision ID: 0004
Revises: 0003

Triggers only mark the UTC hour ("slot") of a changed conversation dirty; the report
recomputes dirty slots before it reads (storage/rollups.py). The trigger SQL is written
out here in full, so later code changes never change what this migration does. Every
existing hour is marked dirty; ``storage.migrate.upgrade_database`` then builds the
rollups set-based before returning.
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
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

# The UTC hour of a timestamp, as hours since 1970 (SQLite stores 'YYYY-MM-DD HH:MM:SS…').
_SQLITE_SLOT = "(CAST(strftime('%s', substr({0}, 1, 13) || ':00:00') AS INTEGER) / 3600)"
_PG_SLOT = "floor(extract(epoch FROM {0}) / 3600)::bigint"

_SQLITE_MARK = (
    "INSERT INTO report_dirty (slot) SELECT s FROM (SELECT {slot} AS s {source}) "
    "WHERE s IS NOT NULL AND NOT EXISTS (SELECT 1 FROM report_dirty WHERE slot = s);"
)


def _sqlite_mark(row: str, through_conversation: bool) -> str:
    if through_conversation:
        slot = _SQLITE_SLOT.format("started_at")
        source = f"FROM conversations WHERE id = {row}.conversation_id"
    else:
        slot = _SQLITE_SLOT.format(f"{row}.started_at")
        source = ""
    return _SQLITE_MARK.format(slot=slot, source=source)


_WATCHED = {
    "conversations": (
        "started_at, channel, primary_intent, handoff_reason, agent_id, resolution, "
        "resolved_at, reopened_count, next_contact_at"
    ),
    "surveys": "conversation_id, status, sent_at, score",
    "handoffs": "conversation_id, priority, requested_at, first_human_reply_at, ended_at",
}


def _sqlite_triggers() -> dict[str, str]:
    triggers: dict[str, str] = {}
    for table, columns in _WATCHED.items():
        through = table != "conversations"
        triggers[f"trg_report_dirty_{table}_insert"] = (
            f"AFTER INSERT ON {table} FOR EACH ROW BEGIN {_sqlite_mark('NEW', through)} END"
        )
        triggers[f"trg_report_dirty_{table}_update"] = (
            f"AFTER UPDATE OF {columns} ON {table} FOR EACH ROW BEGIN "
            f"{_sqlite_mark('OLD', through)} {_sqlite_mark('NEW', through)} END"
        )
        triggers[f"trg_report_dirty_{table}_delete"] = (
            f"AFTER DELETE ON {table} FOR EACH ROW BEGIN {_sqlite_mark('OLD', through)} END"
        )
    return triggers


# PostgreSQL: a writer share-locks the slot's existing dirty row (writers never wait for
# each other), so a refresh deleting that row waits for the writer's commit and then sees
# its change; a writer finding no row (or one deleted by a refresh) adds one.
_PG_MARK = (
    "CREATE OR REPLACE FUNCTION carebot_report_mark(s bigint) RETURNS void "
    "LANGUAGE plpgsql AS $$ BEGIN "
    "IF s IS NULL THEN RETURN; END IF; "
    "PERFORM 1 FROM report_dirty WHERE slot = s LIMIT 1 FOR SHARE; "
    "IF NOT FOUND THEN INSERT INTO report_dirty (slot) VALUES (s); END IF; "
    "END $$"
)


# TRUNCATE fires no row triggers: emptying the conversations empties the rollups, and
# emptying surveys or handoffs marks every hour.
_PG_TRUNCATED = (
    "CREATE OR REPLACE FUNCTION carebot_report_truncated() RETURNS trigger "
    "LANGUAGE plpgsql AS $$ BEGIN "
    "IF TG_TABLE_NAME = 'conversations' THEN "
    "DELETE FROM report_rollup; DELETE FROM report_durations; DELETE FROM report_histogram; "
    "DELETE FROM report_dirty; "
    "ELSE INSERT INTO report_dirty (slot) SELECT DISTINCT "
    + _PG_SLOT.format("started_at")
    + " FROM conversations; END IF; "
    "RETURN NULL; END $$"
)


def _pg_function(table: str) -> str:
    if table == "conversations":
        old = _PG_SLOT.format("OLD.started_at")
        new = _PG_SLOT.format("NEW.started_at")
    else:
        old = f"(SELECT {_PG_SLOT.format('started_at')} FROM conversations WHERE id = OLD.conversation_id)"
        new = f"(SELECT {_PG_SLOT.format('started_at')} FROM conversations WHERE id = NEW.conversation_id)"
    return (
        f"CREATE OR REPLACE FUNCTION carebot_report_dirty_{table}() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN "
        f"IF TG_OP IN ('UPDATE', 'DELETE') THEN PERFORM carebot_report_mark({old}); END IF; "
        f"IF TG_OP IN ('INSERT', 'UPDATE') THEN PERFORM carebot_report_mark({new}); END IF; "
        "RETURN NULL; END $$"
    )


def _pg_trigger(table: str) -> str:
    return (
        f"CREATE TRIGGER trg_report_dirty_{table} AFTER INSERT OR DELETE OR UPDATE OF "
        f"{_WATCHED[table]} ON {table} FOR EACH ROW "
        f"EXECUTE FUNCTION carebot_report_dirty_{table}()"
    )


def _tables(postgres: bool) -> list[str]:
    serial = "BIGSERIAL PRIMARY KEY" if postgres else "INTEGER PRIMARY KEY AUTOINCREMENT"
    stamp = "TIMESTAMP WITH TIME ZONE" if postgres else "DATETIME"
    counts = ", ".join(f"{name} BIGINT NOT NULL DEFAULT 0" for name in _COUNTS)
    return [
        f"CREATE TABLE report_dirty (id {serial}, slot BIGINT NOT NULL)",
        "CREATE INDEX ix_report_dirty_slot ON report_dirty (slot)",
        # One row per (UTC hour, dimension, value): conversation sums and handoff sums
        # may sit in separate rows of the same key; readers add them up.
        "CREATE TABLE report_rollup (slot BIGINT NOT NULL, dim VARCHAR(16) NOT NULL, "
        f"value VARCHAR(64), {counts})",
        "CREATE INDEX ix_report_rollup_dim_slot ON report_rollup (dim, slot)",
        "CREATE INDEX ix_report_rollup_slot ON report_rollup (slot)",
        # One row per duration the percentiles use (metric 0: human first response of a
        # handoff, 1: a conversation's time to resolution), with the conversation's keys.
        "CREATE TABLE report_durations (slot BIGINT NOT NULL, metric SMALLINT NOT NULL, "
        f"started_at {stamp} NOT NULL, intent VARCHAR(64) NOT NULL, agent INTEGER NOT NULL, "
        "reason VARCHAR(32) NOT NULL, channel VARCHAR(32) NOT NULL, "
        "seconds DOUBLE PRECISION NOT NULL, bucket INTEGER NOT NULL)",
        "CREATE INDEX ix_report_durations_slot ON report_durations (slot)",
        "CREATE INDEX ix_report_durations_started ON report_durations "
        "(metric, started_at, bucket, intent, agent, channel, reason)",
        "CREATE INDEX ix_report_durations_bucket ON report_durations "
        "(metric, bucket, started_at, seconds, channel, reason)",
        "CREATE INDEX ix_report_durations_intent ON report_durations "
        "(metric, intent, bucket, started_at, seconds)",
        "CREATE INDEX ix_report_durations_agent ON report_durations "
        "(metric, agent, bucket, started_at, seconds)",
        # Counts of those durations per UTC day, dimension value and bucket.
        "CREATE TABLE report_histogram (day BIGINT NOT NULL, metric SMALLINT NOT NULL, "
        "dim VARCHAR(16) NOT NULL, value VARCHAR(64) NOT NULL, bucket INTEGER NOT NULL, "
        "n BIGINT NOT NULL)",
        "CREATE INDEX ix_report_histogram ON report_histogram (metric, dim, day)",
        # The SLA targets the rollup's met/breached counts were computed with.
        "CREATE TABLE report_rollup_settings (id INTEGER PRIMARY KEY, "
        "sla_seconds DOUBLE PRECISION NOT NULL, vip_sla_seconds DOUBLE PRECISION NOT NULL)",
        "INSERT INTO report_rollup_settings (id, sla_seconds, vip_sla_seconds) "
        "VALUES (1, 900, 300)",
        # Handoffs still waiting: their SLA breach depends on "now", so reports add them live.
        "CREATE INDEX ix_handoffs_open ON handoffs (conversation_id) "
        "WHERE first_human_reply_at IS NULL AND ended_at IS NULL",
        # The lowest-rated list walks answered surveys by score and recency.
        "CREATE INDEX ix_surveys_score_answered ON surveys (score, answered_at)",
    ]


def upgrade() -> None:
    connection = op.get_bind()
    postgres = connection.dialect.name == "postgresql"
    for statement in _tables(postgres):
        connection.exec_driver_sql(statement)
    if postgres:
        connection.exec_driver_sql(_PG_MARK)
        connection.exec_driver_sql(_PG_TRUNCATED)
        for table in _WATCHED:
            connection.exec_driver_sql(_pg_function(table))
            connection.exec_driver_sql(_pg_trigger(table))
            connection.exec_driver_sql(
                f"CREATE TRIGGER trg_report_dirty_{table}_truncate AFTER TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION carebot_report_truncated()"
            )
        slot = _PG_SLOT.format("started_at")
    else:
        for name, body in _sqlite_triggers().items():
            connection.exec_driver_sql(f"CREATE TRIGGER {name} {body}")
        slot = _SQLITE_SLOT.format("started_at")
    connection.exec_driver_sql(
        f"INSERT INTO report_dirty (slot) SELECT DISTINCT {slot} FROM conversations"
    )


def downgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name == "postgresql":
        for table in _WATCHED:
            connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS trg_report_dirty_{table} ON {table}")
            connection.exec_driver_sql(
                f"DROP TRIGGER IF EXISTS trg_report_dirty_{table}_truncate ON {table}"
            )
            connection.exec_driver_sql(f"DROP FUNCTION IF EXISTS carebot_report_dirty_{table}()")
        connection.exec_driver_sql("DROP FUNCTION IF EXISTS carebot_report_mark(bigint)")
        connection.exec_driver_sql("DROP FUNCTION IF EXISTS carebot_report_truncated()")
    else:
        for name in _sqlite_triggers():
            connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
    connection.exec_driver_sql("DROP INDEX IF EXISTS ix_surveys_score_answered")
    connection.exec_driver_sql("DROP INDEX IF EXISTS ix_handoffs_open")
    for table in (
        "report_rollup_settings",
        "report_histogram",
        "report_durations",
        "report_rollup",
        "report_dirty",
    ):
        connection.exec_driver_sql(f"DROP TABLE {table}")
