"""Hot Core statements run straight on the inline SQLite connection, elsewhere as usual.

On the inline SQLite connection (:mod:`storage.sqlite_inline`) one Core statement through
``AsyncSession.execute`` costs ≈ 180 µs of CPU — a greenlet hop, the statement's cache key,
an execution context, a result object — while SQLite itself runs it in ≈ 10 µs. Every
customer message runs a handful of such statements (the inbox row, the transcript, the
outbox row and its lease check, the delivery record), and in the Telegram benchmark that
CPU is the limit. :class:`InlineStatement` compiles a statement once for the session's
dialect (SQLAlchemy still renders the SQL and converts every value with the column types'
own processors) and, when the session's transaction is on an inline SQLite connection,
executes it on that ``sqlite3`` connection in the same transaction. On PostgreSQL, or
any other connection, it goes through ``session.execute`` unchanged.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import instance_state, manager_of_class
from sqlalchemy.orm.util import identity_key
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.sql.expression import ClauseElement, Executable

from storage.sqlite_inline import InlineConnection

_INLINE_KEY = "carebot.inline_sqlite"
Entity = TypeVar("Entity")
Built = TypeVar("Built")
_BUILT: dict[tuple[Any, ...], Any] = {}


def built_once(key: tuple[Any, ...], build: Callable[[], Built]) -> Built:
    """A hot statement built once (with bound parameters) and kept under ``key``:
    building one costs more than running it on SQLite."""
    found: Built | None = _BUILT.get(key)
    if found is None:
        found = _BUILT[key] = build()
    return found


async def inline_sqlite(session: AsyncSession) -> sqlite3.Connection | None:
    """The ``sqlite3`` connection of the session's current transaction, if it is inline.

    Looked up once per transaction (it starts the transaction if none is under way);
    ``None`` on any other database or driver.
    """
    bind = session.bind
    if bind is None or bind.dialect.name != "sqlite":
        return None
    transaction = session.sync_session.get_transaction()
    cached = session.info.get(_INLINE_KEY)
    if transaction is not None and cached is not None and cached[0] is transaction:
        found: sqlite3.Connection | None = cached[1]
        return found
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    found = driver._conn if isinstance(driver, InlineConnection) else None
    session.info[_INLINE_KEY] = (session.sync_session.get_transaction(), found)
    return found


def _execute(
    connection: sqlite3.Connection, sql: str, arguments: Any, *, many: bool = False
) -> sqlite3.Cursor:
    """Run on ``sqlite3``, raising SQLAlchemy's exceptions as ``session.execute`` would
    (callers tell an ``IntegrityError`` or a broken connection apart by them)."""
    try:
        if many:
            return connection.executemany(sql, arguments)
        return connection.execute(sql, arguments)
    except sqlite3.Error as exc:
        raise DBAPIError.instance(sql, arguments, exc, sqlite3.Error) from exc


@dataclass(frozen=True)
class _Slot:
    """One ``?`` of a statement without expanding parameters: where its value comes from."""

    key: str  # the bind parameter's key, looked up first in the caller's values
    name: str  # its compiled name, looked up second
    parameter: BindParameter[Any]  # its own value, when the caller gives none
    processor: Callable[[Any], Any] | None


@dataclass(frozen=True)
class _Compiled:
    compiled: SQLCompiler
    binds: Mapping[str, Callable[[Any], Any]]  # each parameter's type's bind processor
    results: tuple[Callable[[Any], Any] | None, ...]
    # The ``?`` in order, when the SQL never changes (no expanding ``IN``, nothing rendered
    # at execution): the arguments are then picked from the values without asking the
    # compiler to construct its parameters each time (``_arguments``).
    slots: tuple[_Slot, ...] | None


def _slots(
    compiled: SQLCompiler, binds: Mapping[str, Callable[[Any], Any]]
) -> tuple[_Slot, ...] | None:
    """The statement's ``?`` in order, or ``None`` if its SQL or parameters can change
    per execution (expanding or rendered parameters, escaped names, no fixed positions)."""
    names = compiled.positiontup
    if (
        names is None
        or compiled.post_compile_params
        or compiled.literal_execute_params
        or compiled.escaped_bind_names
        or getattr(compiled, "_collected_params", None)  # values collected from text()
        or getattr(compiled, "_render_postcompile", False)
    ):
        return None
    by_name = {name: parameter for parameter, name in compiled.bind_names.items()}
    if len(by_name) != len(compiled.bind_names) or any(name not in by_name for name in names):
        return None
    return tuple(_Slot(by_name[name].key, name, by_name[name], binds.get(name)) for name in names)


class InlineStatement:
    """A Core statement (no ORM entities) that runs inline on SQLite when it can."""

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._compiled: dict[int, _Compiled] = {}

    def _for(self, dialect: Dialect) -> _Compiled:
        found = self._compiled.get(id(dialect))
        if found is None:
            compiled = cast(ClauseElement, self.statement).compile(dialect=dialect)
            assert isinstance(compiled, SQLCompiler)
            binds = {}
            for parameter, name in compiled.bind_names.items():
                processor = parameter.type.dialect_impl(dialect).bind_processor(dialect)
                if processor is not None:
                    binds[name] = processor
            columns = getattr(self.statement, "selected_columns", ())
            results = tuple(
                column.type.dialect_impl(dialect).result_processor(dialect, None)
                for column in columns
            )
            found = self._compiled[id(dialect)] = _Compiled(
                compiled, binds, results, _slots(compiled, binds)
            )
        return found

    @staticmethod
    def _arguments(prepared: _Compiled, params: Mapping[str, Any]) -> tuple[str, list[Any]]:
        """The SQL and its positional arguments, each converted by its type's processor.

        The same as SQLAlchemy's ``construct_expanded_state`` (``tests/storage/
        test_inline_statements.py`` compares them): a value given under the parameter's
        key or compiled name, else the parameter's own value.
        """
        slots = prepared.slots
        if slots is not None:
            arguments = []
            for slot in slots:
                if slot.key in params:
                    value = params[slot.key]
                elif slot.name in params:
                    value = params[slot.name]
                elif slot.parameter.required:  # let SQLAlchemy raise its own error
                    return InlineStatement._constructed(prepared, params)
                elif slot.parameter.callable:
                    value = slot.parameter.effective_value
                else:
                    value = slot.parameter.value
                arguments.append(value if slot.processor is None else slot.processor(value))
            return prepared.compiled.string, arguments
        return InlineStatement._constructed(prepared, params)

    @staticmethod
    def _constructed(prepared: _Compiled, params: Mapping[str, Any]) -> tuple[str, list[Any]]:
        """:meth:`_arguments` by SQLAlchemy's compiler itself (any statement)."""
        state = prepared.compiled.construct_expanded_state(params)
        processors = {**prepared.binds, **state.processors} if state.processors else prepared.binds
        names = state.positiontup or ()
        values = state.parameters
        arguments = [
            processors[name](values[name]) if name in processors else values[name] for name in names
        ]
        return state.statement, arguments

    async def rows(self, session: AsyncSession, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Run a query and return its rows as tuples, each value converted by its type."""
        connection = await inline_sqlite(session)
        if connection is None:
            return [tuple(row) for row in await session.execute(self.statement, params)]
        assert session.bind is not None
        prepared = self._for(session.bind.dialect)
        sql, arguments = self._arguments(prepared, params)
        found = _execute(connection, sql, arguments).fetchall()
        if not any(prepared.results):
            return found
        return [
            tuple(p(v) if p else v for p, v in zip(prepared.results, row, strict=True))
            for row in found
        ]

    async def run(self, session: AsyncSession, params: Mapping[str, Any]) -> int:
        """Run a statement once; returns the number of rows it changed."""
        connection = await inline_sqlite(session)
        if connection is None:
            result = await session.execute(self.statement, params)
            return int(getattr(result, "rowcount", 0))
        assert session.bind is not None
        sql, arguments = self._arguments(self._for(session.bind.dialect), params)
        return _execute(connection, sql, arguments).rowcount

    async def insert(self, session: AsyncSession, params: Mapping[str, Any]) -> int:
        """Run an ``INSERT`` of one row; returns the new row's primary key (inline SQLite
        only: elsewhere use the statement with ``RETURNING``)."""
        connection = await inline_sqlite(session)
        assert connection is not None and session.bind is not None
        sql, arguments = self._arguments(self._for(session.bind.dialect), params)
        row_id = _execute(connection, sql, arguments).lastrowid
        assert row_id is not None
        return row_id

    async def run_many(self, session: AsyncSession, params: Sequence[Mapping[str, Any]]) -> None:
        """Run a statement once per parameter set (one ``executemany`` inline)."""
        if not params:
            return
        connection = await inline_sqlite(session)
        if connection is None:
            await session.execute(self.statement, list(params))
            return
        assert session.bind is not None
        prepared = self._for(session.bind.dialect)
        sql = ""
        rows: list[list[Any]] = []
        for one in params:
            sql, arguments = self._arguments(prepared, one)
            rows.append(arguments)
        _execute(connection, sql, rows, many=True)


class InlineLoad(Generic[Entity]):
    """An ORM query for at most one row of one entity, loaded inline on SQLite.

    Inline, the row is read as plain columns and the object made persistent with
    :func:`~sqlalchemy.orm.make_transient_to_detached` (as if freshly loaded: every later
    change is tracked and flushed as usual) — or, if the session holds that identity
    already, the session's own object is returned, as the ORM does. Elsewhere the ORM
    query runs unchanged (with its row lock on PostgreSQL).
    """

    def __init__(
        self, entity: type[Entity], orm_query: Executable, columns_query: Executable
    ) -> None:
        self.entity = entity
        self.orm_query = orm_query
        self.columns = InlineStatement(columns_query)
        self.keys = [column.key for column in columns_query.selected_columns]  # type: ignore[attr-defined]
        self.manager = manager_of_class(entity)

    async def one_or_none(self, session: AsyncSession, params: Mapping[str, Any]) -> Entity | None:
        """The entity, or ``None``."""
        if await inline_sqlite(session) is None:
            found: Entity | None = (
                await session.execute(self.orm_query, params)
            ).scalar_one_or_none()
            return found
        rows = await self.columns.rows(session, params)
        if not rows:
            return None
        values = dict(zip(self.keys, rows[0], strict=True))
        key = identity_key(self.entity, values["id"])
        known = session.sync_session.identity_map.get(key)
        if known is not None:
            return known
        # As the ORM's own loading does: the row's values straight into the new object's
        # state (no constructor, no change events), then marked loaded and unchanged.
        loaded = self.manager.new_instance()
        instance_state(loaded).dict.update(values)
        make_transient_to_detached(loaded)
        session.add(loaded)
        return loaded


class InlineGet(Generic[Entity]):
    """``session.get(entity, id)``, inline on SQLite: the session's own object when it
    holds that identity (as ``session.get`` answers without SQL), else one inline load."""

    def __init__(self, entity: type[Entity]) -> None:
        self.entity = entity
        table: Any = entity.__table__  # type: ignore[attr-defined]
        where = table.c.id == bindparam("id")
        self.load = InlineLoad(
            entity, select(entity).where(where), select(*table.columns).where(where)
        )

    async def get(self, session: AsyncSession, ident: int) -> Entity | None:
        """The entity with this key, or ``None``."""
        if await inline_sqlite(session) is None:
            return await session.get(self.entity, ident)
        known = session.sync_session.identity_map.get(identity_key(self.entity, ident))
        if known is not None:
            state = instance_state(known)
            if state.expired or state.expired_attributes or state.deleted or state.was_deleted:
                return await session.get(self.entity, ident)
            return known
        return await self.load.one_or_none(session, {"id": ident})
