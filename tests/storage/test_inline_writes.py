"""Changed and new rows written without the ORM's flush store exactly what the flush would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.orm.exc import StaleDataError

from storage.db import Database
from storage.inline_statements import inline_sqlite
from storage.inline_writes import insert_now, write_changes
from storage.models import Conversation, Customer, Survey, SurveyStatus
from storage.unit_of_work import UnitOfWork

WHEN = datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)


def _conversation(customer_id: int) -> Conversation:
    return Conversation(
        customer_id=customer_id,
        channel="telegram",
        started_at=WHEN,
        last_activity_at=WHEN,
        moods=[],
        context={},
    )


def _change(conversation: Conversation) -> None:
    """What a turn does to its conversation, some of it to the value it already had."""
    conversation.moods = [*conversation.moods, "frustrated"]
    conversation.context = {"pending_intent": "card_arrival", "offered_long": True}
    conversation.customer_turns += 1
    conversation.last_activity_at = WHEN + timedelta(seconds=5)
    conversation.awaiting = "confirm"
    conversation.answered = True
    conversation.channel = "telegram"  # the same value: not written
    conversation.mood = None  # None to None: not written


async def _rows(db: Database, table: str) -> list[tuple[Any, ...]]:
    async with db.engine.connect() as connection:
        found = await connection.execute(text(f"SELECT * FROM {table} ORDER BY id"))
        return [tuple(row)[1:] for row in found]  # all but the id


def _statements(db: Database) -> list[str]:
    """Every statement SQLAlchemy itself executes from now on."""
    seen: list[str] = []
    event.listen(
        db.engine.sync_engine,
        "before_cursor_execute",
        lambda _c, _cur, statement, *_a: seen.append(statement),
    )
    return seen


async def _customer(db: Database) -> int:
    async with UnitOfWork(db) as uow:
        customer = await uow.customers.ensure("telegram", "42", "42", WHEN)
        await uow.commit()
        return customer.id


async def _stored_conversation(db: Database) -> int:
    """A new conversation of a new customer, inserted with :func:`insert_now`."""
    customer_id = await _customer(db)
    async with UnitOfWork(db) as uow:
        conversation = _conversation(customer_id)
        await insert_now(uow.session, conversation)
        await uow.commit()
        return conversation.id


async def test_changed_columns_are_stored_as_the_flush_stores_them(database: Database) -> None:
    customer_id = await _customer(database)
    async with UnitOfWork(database) as uow:
        made = [_conversation(customer_id), _conversation(customer_id)]
        uow.session.add_all(made)
        await uow.session.flush()
        ids = [conversation.id for conversation in made]
        await uow.commit()
    async with UnitOfWork(database) as uow:
        first = await uow.conversations.get(ids[0])
        second = await uow.conversations.get(ids[1])
        assert first is not None and second is not None
        _change(first)
        await write_changes(uow.session)  # inline on SQLite: `first` is clean afterwards
        _change(second)
        await uow.session.flush()  # the ORM writes `second` (and `first` on PostgreSQL)
        await uow.commit()
    one, two = await _rows(database, "conversations")
    assert one == two


async def test_a_written_object_is_clean_and_the_commit_flushes_nothing(
    database: Database,
) -> None:
    conversation_id = await _stored_conversation(database)
    seen = _statements(database)
    async with UnitOfWork(database) as uow:
        found = await uow.conversations.get(conversation_id)
        assert found is not None
        _change(found)
        inline = await inline_sqlite(uow.session) is not None
        await write_changes(uow.session)
        assert bool(uow.session.dirty) is not inline
        await uow.commit()
    updates = [s for s in seen if s.lstrip().upper().startswith("UPDATE")]
    assert len(updates) == (0 if inline else 1)  # inline: not through SQLAlchemy at all
    async with UnitOfWork(database) as uow:
        again = await uow.conversations.get(conversation_id)
        assert again is not None
        assert again.moods == ["frustrated"] and again.customer_turns == 1
        assert again.context == {"pending_intent": "card_arrival", "offered_long": True}
        assert again.last_activity_at == WHEN + timedelta(seconds=5)


async def test_an_unchanged_object_writes_nothing(database: Database) -> None:
    customer_id = await _customer(database)
    async with UnitOfWork(database) as uow:
        customer = await uow.customers.get(customer_id)
        assert customer is not None
        customer.address = customer.address  # assigned, not changed
        seen = _statements(database)
        await write_changes(uow.session)
        await uow.commit()
    assert not [s for s in seen if s.lstrip().upper().startswith("UPDATE")]


async def test_a_row_deleted_underneath_is_an_error_as_with_the_flush(database: Database) -> None:
    conversation_id = await _stored_conversation(database)
    async with UnitOfWork(database) as uow:
        found = await uow.conversations.get(conversation_id)
        assert found is not None
        await uow.session.execute(text(f"DELETE FROM conversations WHERE id = {found.id}"))
        found.customer_turns = 3
        with pytest.raises(StaleDataError):
            await write_changes(uow.session)
            await uow.session.flush()


async def test_an_inserted_object_has_its_defaults_and_id_like_a_flushed_one(
    database: Database,
) -> None:
    customer_id = await _customer(database)
    async with UnitOfWork(database) as uow:
        conversation = _conversation(customer_id)
        await insert_now(uow.session, conversation)
        assert conversation.id is not None
        assert conversation.status == "bot" and conversation.customer_turns == 0
        survey = Survey(
            conversation_id=conversation.id,
            customer_id=customer_id,
            created_at=WHEN,
            scheduled_for=WHEN,
        )
        await insert_now(uow.session, survey)
        assert survey.status == SurveyStatus.SCHEDULED and survey.awaiting_comment is False
        survey.status = SurveyStatus.SENT  # tracked like any loaded object
        flushed = Survey(customer_id=customer_id, created_at=WHEN, scheduled_for=WHEN)
        await uow.commit()
    async with UnitOfWork(database) as uow:
        found = await uow.surveys.get(survey.id)
        assert found is not None and found.status == SurveyStatus.SENT
        other = _conversation(customer_id)
        uow.session.add(other)
        await uow.session.flush()
        flushed.conversation_id = other.id
        flushed.status = SurveyStatus.SENT
        uow.session.add(flushed)
        await uow.commit()
    stored = await _rows(database, "surveys")
    assert stored[0][1:] == stored[1][1:]  # all but the conversation: stored alike
    conversations = await _rows(database, "conversations")
    assert conversations[0] == conversations[1]


async def test_an_object_already_in_a_session_is_refused(database: Database) -> None:
    customer_id = await _customer(database)
    async with UnitOfWork(database) as uow:
        conversation = _conversation(customer_id)
        uow.session.add(conversation)
        with pytest.raises(InvalidRequestError):
            await insert_now(uow.session, conversation)
        customer = await uow.customers.get(customer_id)
        assert isinstance(customer, Customer)
        with pytest.raises(InvalidRequestError):
            await insert_now(uow.session, customer)
