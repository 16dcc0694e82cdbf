"""Changed and new rows written on the inline SQLite connection, without the ORM's flush.

A customer message changes a few columns of its conversation (and now and then of its
customer or survey). The ORM's flush sorts the unit of work, builds the ``UPDATE``,
executes it through the session and its result machinery — many times SQLite's own work
on the inline connection (:mod:`storage.sqlite_inline`). Our mapped classes are plain:
one table each, no relationships, no version counters, no ``onupdate`` or server-side
values. :func:`write_changes` writes each changed object's changed columns with an
``UPDATE`` compiled once per set of columns (the same values the flush would write, by
the ORM's own change tracking and comparison) and marks the object clean, so a later
flush has nothing left to do; :func:`insert_now` inserts one new object and makes it
persistent with its new key. On any other connection, or for an object that is not that
plain, both leave the work to the ORM.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from sqlalchemy import bindparam, insert, update
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import ColumnProperty, Mapper, make_transient_to_detached
from sqlalchemy.orm.attributes import instance_state
from sqlalchemy.orm.base import NO_VALUE
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.orm.state import InstanceState

from storage.inline_statements import InlineStatement, built_once, inline_sqlite

_UPDATES: dict[tuple[Any, tuple[str, ...]], InlineStatement] = {}
_PLAIN: dict[Mapper[Any], bool] = {}
MAX_CACHED_UPDATES = 1024
"""Distinct (table, changed columns) statements kept; beyond, the ORM writes the rest."""
_KEY = "id_"  # the primary key's parameter name (no column is called that)


def _is_plain(mapper: Mapper[Any]) -> bool:
    """One table, an integer key named ``id``, only column attributes, nothing computed
    at flush time: what :func:`write_changes` can write exactly like the ORM."""
    found = _PLAIN.get(mapper)
    if found is None:
        table: Any = mapper.local_table
        found = (
            len(mapper.tables) == 1
            and mapper.version_id_col is None
            and mapper.inherits is None
            and [c.key for c in table.primary_key.columns] == ["id"]
            and not mapper.relationships
            and all(isinstance(prop, ColumnProperty) for prop in mapper.attrs)
            and all(
                column.onupdate is None and column.server_onupdate is None and not column.computed
                for column in table.columns
            )
        )
        _PLAIN[mapper] = found
    return found


def _changes(state: InstanceState[Any]) -> dict[str, Any] | None:
    """The changed columns' new values (by column key), as the flush would find them;
    ``None`` if this object has to go through the ORM."""
    mapper = state.mapper
    changed: dict[str, Any] = {}
    for key, old in state.committed_state.items():
        prop = mapper.attrs.get(key)
        if not isinstance(prop, ColumnProperty) or len(prop.columns) != 1:
            return None
        if key not in state.dict:
            return None  # expired or deleted attribute: the ORM knows what to do
        value = state.dict[key]
        if old is not NO_VALUE and state.manager[key].impl.is_equal(value, old):
            continue
        column = prop.columns[0]
        if column.primary_key:
            return None
        changed[column.key] = value
    return changed


def _update_for(table: Any, columns: tuple[str, ...]) -> InlineStatement | None:
    found = _UPDATES.get((table, columns))
    if found is None:
        if len(_UPDATES) >= MAX_CACHED_UPDATES:
            return None
        found = _UPDATES[(table, columns)] = InlineStatement(
            update(table)
            .where(table.c.id == bindparam(_KEY))
            .values({column: bindparam(column) for column in columns})
        )
    return found


async def write_changes(session: AsyncSession) -> None:
    """Write every changed plain object of ``session`` inline and mark it clean."""
    sync = session.sync_session
    dirty = sync.dirty
    if not dirty or await inline_sqlite(session) is None:
        return
    identity_map = sync.identity_map
    for instance in list(dirty):
        state = instance_state(instance)
        if state.key is None or not _is_plain(state.mapper):
            continue
        changed = _changes(state)
        if changed is None:
            continue
        if changed:
            table: Any = state.mapper.local_table
            statement = _update_for(table, tuple(sorted(changed)))
            if statement is None:
                continue
            count = await statement.run(session, {**changed, _KEY: state.dict["id"]})
            if count != 1:
                raise StaleDataError(
                    f"UPDATE statement on table '{table.name}' expected to update 1 row(s); "
                    f"{count} were matched."
                )
        state._commit_all(state.dict, identity_map)


def row_values(table: Any, row: Any) -> dict[str, Any]:
    """Every column of a new ORM object (or of a mapping of column values) but its key,
    column defaults filled in as the ORM would."""
    values: dict[str, Any] = {}
    given = row.get if isinstance(row, Mapping) else partial(getattr, row)
    for column in table.columns:
        if column.primary_key:
            continue
        value = given(column.key, None)
        default = column.default
        if value is None and default is not None:
            value = default.arg if default.is_scalar else default.arg(None)
        values[column.key] = value
    return values


def insert_every_column(table: Any) -> InlineStatement:
    """``INSERT`` of one row with a bound parameter for every column but the key."""
    return InlineStatement(
        insert(table).values({c.key: bindparam(c.key) for c in table.columns if not c.primary_key})
    )


def insert_statement(table: Any) -> InlineStatement:
    """:func:`insert_every_column` of ``table``, built once."""
    return built_once(("insert", table), lambda: insert_every_column(table))


async def insert_now(session: AsyncSession, instance: Any) -> None:
    """Insert one new object now; afterwards it is persistent and has its ``id``.

    Inline, every column's default is filled in on the object first, as the ORM's flush
    would, so the object holds exactly what was stored.
    """
    state = instance_state(instance)
    if state.key is not None or state.session_id is not None:
        raise InvalidRequestError("insert_now takes a new object that is not in a session")
    if await inline_sqlite(session) is None or not _is_plain(state.mapper):
        session.add(instance)
        await session.flush()
        return
    table: Any = state.mapper.local_table
    values = row_values(table, instance)
    for key, value in values.items():
        setattr(instance, key, value)
    instance.id = await insert_statement(table).insert(session, values)
    make_transient_to_detached(instance)
    session.add(instance)
