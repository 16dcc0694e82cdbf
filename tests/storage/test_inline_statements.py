"""Statements run straight on the inline SQLite connection store what SQLAlchemy would."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import bindparam, insert, select, text, update
from sqlalchemy.exc import IntegrityError, InvalidRequestError

from storage.db import Database, open_database
from storage.inline_statements import InlineStatement, inline_sqlite
from storage.inline_writes import insert_every_column, row_values
from storage.migrate import upgrade_database
from storage.models import OutboxItem, OutboxStatus
from storage.unit_of_work import UnitOfWork

OUTBOX = OutboxItem.__table__
WHEN = datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)


def _item(lane: str) -> OutboxItem:
    return OutboxItem(
        target="customer",
        channel="telegram",
        lane=lane,
        kind="customer.text",
        payload={"text": "héllo", "buttons": [[{"label": "Yes", "data": "confirm:yes"}]]},
        conversation_id=None,
        status=OutboxStatus.PENDING,
        attempts=1,
        created_at=WHEN,
        next_attempt_at=WHEN,
        leased_until=WHEN,
    )


async def _raw_rows(db: Database) -> list[tuple[object, ...]]:
    async with db.engine.connect() as connection:
        found = await connection.execute(text("SELECT * FROM outbox ORDER BY id"))
        return [tuple(row)[1:] for row in found]  # all but the id


async def test_an_inline_insert_stores_the_same_values_as_sqlalchemy(tmp_path: Path) -> None:
    db = open_database(f"sqlite+aiosqlite:///{tmp_path / 'carebot.db'}")
    await upgrade_database(db)
    async with UnitOfWork(db) as uow:
        assert await inline_sqlite(uow.session) is not None
        new_id = await insert_every_column(OUTBOX).insert(
            uow.session, row_values(OUTBOX, _item("a"))
        )
        await uow.session.execute(insert(OUTBOX), [row_values(OUTBOX, _item("a"))])
        await uow.commit()
    inline, through_sqlalchemy = await _raw_rows(db)
    assert inline == through_sqlalchemy  # datetimes, JSON and enums stored alike
    async with UnitOfWork(db) as uow:
        found = await uow.outbox.get(new_id)
        assert found is not None and found.created_at == WHEN and found.payload["text"] == "héllo"
    await db.dispose()


async def test_queries_convert_values_and_expand_lists(tmp_path: Path) -> None:
    db = open_database(f"sqlite+aiosqlite:///{tmp_path / 'carebot.db'}")
    await upgrade_database(db)
    query = InlineStatement(
        select(OutboxItem.id, OutboxItem.created_at, OutboxItem.payload)
        .where(OutboxItem.lane.in_(bindparam("lanes", expanding=True)))
        .order_by(OutboxItem.id)
    )
    async with UnitOfWork(db) as uow:
        for lane in ("a", "b", "c"):
            uow.outbox.add(
                target="customer",
                channel="telegram",
                lane=lane,
                kind="customer.text",
                payload={"lane": lane},
                conversation_id=None,
                now=WHEN,
            )
        await uow.commit()
        assert [item.id for item in uow.outbox.added] == [1, 2, 3]
    async with UnitOfWork(db) as uow:
        rows = await query.rows(uow.session, {"lanes": ["a", "c"]})
        expected = (await uow.session.execute(query.statement, {"lanes": ["a", "c"]})).all()
    assert rows == [tuple(row) for row in expected]
    assert rows == [(1, WHEN, {"lane": "a"}), (3, WHEN, {"lane": "c"})]
    await db.dispose()


async def test_errors_are_sqlalchemys_and_the_transaction_rolls_back(tmp_path: Path) -> None:
    db = open_database(f"sqlite+aiosqlite:///{tmp_path / 'carebot.db'}")
    await upgrade_database(db)
    duplicate = InlineStatement(
        insert(OUTBOX).values(id=bindparam("id"), **{k: bindparam(k) for k in ("target",)})
    )
    async with UnitOfWork(db) as uow:
        uow.outbox.add(
            target="customer",
            channel="telegram",
            lane="a",
            kind="customer.text",
            payload={},
            conversation_id=None,
        )
        await uow.outbox.write_staged()
        with pytest.raises(IntegrityError):
            await duplicate.run(uow.session, {"id": 1, "target": "customer"})
        await uow.rollback()
    assert await _raw_rows(db) == []
    await db.dispose()


async def test_a_row_loaded_inline_is_tracked_like_an_orm_load(tmp_path: Path) -> None:
    db = open_database(f"sqlite+aiosqlite:///{tmp_path / 'carebot.db'}")
    await upgrade_database(db)
    async with UnitOfWork(db) as uow:
        created = await uow.customers.ensure("telegram", "7", "7", WHEN)
        await uow.commit()
    async with UnitOfWork(db) as uow:
        found = await uow.customers.find("telegram", "7", lock=True)
        assert found is not None and found.id == created.id
        assert found.first_seen_at == WHEN and found.tags == [] and found.unreachable is False
        assert await uow.customers.find("telegram", "7") is found  # the session's own object
        assert await uow.customers.find("telegram", "8") is None
        found.first_name = "Ada"
        found.extra = {"note": 1}
        await uow.commit()
    async with UnitOfWork(db) as uow:
        again = await uow.customers.get(created.id)
        assert again is not None and again.first_name == "Ada" and again.extra == {"note": 1}
        assert again.last_seen_at == WHEN
    await db.dispose()


def _sqlite_dialect() -> Any:
    from sqlalchemy.dialects import sqlite

    return sqlite.dialect()


@pytest.mark.parametrize(
    "statement, params",
    [
        (insert_every_column(OUTBOX).statement, row_values(OUTBOX, _item("a"))),
        (
            update(OUTBOX)
            .where(OUTBOX.c.id == bindparam("row_id"))
            .values(status=OutboxStatus.SENT, sent_at=bindparam("now"), leased_until=None),
            {"row_id": 3, "now": WHEN},
        ),
        (
            select(OutboxItem.id, OutboxItem.payload).where(
                OutboxItem.status == OutboxStatus.PENDING,
                OutboxItem.lane == bindparam("lane"),
                OutboxItem.attempts < 5,
            ),
            {"lane": "a"},
        ),
        (
            select(OutboxItem.id).where(
                OutboxItem.created_at < bindparam("when", callable_=lambda: WHEN)
            ),
            {},
        ),
        (select(OutboxItem.id).where(OutboxItem.lane == bindparam("lane", "z")), {}),
    ],
)
def test_fixed_statements_get_the_arguments_sqlalchemy_constructs(
    statement: Any, params: dict[str, Any]
) -> None:
    inline = InlineStatement(statement)
    prepared = inline._for(_sqlite_dialect())
    assert prepared.slots is not None  # the quick path
    assert inline._arguments(prepared, params) == inline._constructed(prepared, params)


def test_expanding_statements_and_missing_values_go_through_the_compiler() -> None:
    expanding = InlineStatement(
        select(OutboxItem.id).where(OutboxItem.lane.in_(bindparam("lanes", expanding=True)))
    )
    prepared = expanding._for(_sqlite_dialect())
    assert prepared.slots is None
    sql, arguments = expanding._arguments(prepared, {"lanes": ["a", "b"]})
    assert arguments == ["a", "b"] and sql.count("?") == 2
    required = InlineStatement(select(OutboxItem.id).where(OutboxItem.lane == bindparam("lane")))
    with pytest.raises(InvalidRequestError, match="A value is required"):
        required._arguments(required._for(_sqlite_dialect()), {})
