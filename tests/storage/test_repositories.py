"""Repository queries that run inline on SQLite answer as the ORM does, on both engines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from storage.db import Database
from storage.models import Conversation, Job, JobStatus, Survey, SurveyStatus
from storage.unit_of_work import UnitOfWork

WHEN = datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)


async def _conversations(db: Database, count: int) -> tuple[int, list[int]]:
    async with UnitOfWork(db) as uow:
        customer = await uow.customers.ensure("telegram", "7", "7", WHEN)
        made = [
            Conversation(
                customer_id=customer.id,
                channel="telegram",
                started_at=WHEN,
                last_activity_at=WHEN,
                moods=[],
                context={},
            )
            for _ in range(count)
        ]
        uow.session.add_all(made)
        await uow.session.flush()
        await uow.commit()
        return customer.id, [conversation.id for conversation in made]


async def test_a_timer_is_created_then_rescheduled_as_new(database: Database) -> None:
    async with UnitOfWork(database) as uow:
        await uow.jobs.schedule("survey:1", "survey_send", WHEN, {"survey_id": 1}, now=WHEN)
        await uow.commit()
    async with UnitOfWork(database) as uow:
        job = await uow.jobs.get("survey:1")
        assert job is not None
        assert (job.kind, job.status, job.attempts, job.due_at) == (
            "survey_send",
            JobStatus.PENDING,
            0,
            WHEN,
        )
        assert job.payload == {"survey_id": 1} and job.created_at == WHEN
        job.status, job.attempts, job.leased_until = JobStatus.DONE, 3, WHEN
        await uow.commit()
    later = WHEN + timedelta(hours=1)
    async with UnitOfWork(database) as uow:
        await uow.jobs.schedule("survey:1", "survey_expire", later, {"survey_id": 2}, now=later)
        await uow.commit()
    async with UnitOfWork(database) as uow:
        job = await uow.jobs.get("survey:1")
        assert isinstance(job, Job)
        assert (job.kind, job.status, job.attempts, job.leased_until, job.due_at) == (
            "survey_expire",
            JobStatus.PENDING,
            0,
            None,
            later,
        )
        assert job.payload == {"survey_id": 2} and job.created_at == WHEN  # the same timer


async def test_only_a_pending_timer_is_cancelled(database: Database) -> None:
    async with UnitOfWork(database) as uow:
        await uow.jobs.schedule("a", "survey_send", WHEN)
        await uow.jobs.schedule("b", "survey_send", WHEN)
        await uow.commit()
    async with UnitOfWork(database) as uow:
        done = await uow.jobs.get("b")
        assert done is not None
        done.status = JobStatus.DONE
        await uow.commit()
    async with UnitOfWork(database) as uow:
        await uow.jobs.cancel("a")
        await uow.jobs.cancel("b")
        await uow.jobs.cancel("missing")
        await uow.commit()
    async with UnitOfWork(database) as uow:
        a, b = await uow.jobs.get("a"), await uow.jobs.get("b")
        assert a is not None and b is not None
        assert (a.status, b.status) == (JobStatus.CANCELLED, JobStatus.DONE)


async def test_survey_lookups(database: Database) -> None:
    customer_id, (first, second, third) = await _conversations(database, 3)
    async with UnitOfWork(database) as uow:
        assert await uow.surveys.pending_for(customer_id) is None
        assert await uow.surveys.last_sent_at(customer_id) is None
        sent = Survey(
            conversation_id=first,
            customer_id=customer_id,
            status=SurveyStatus.SENT,
            sent_at=WHEN,
            created_at=WHEN,
        )
        older = Survey(conversation_id=second, customer_id=customer_id, created_at=WHEN)
        newer = Survey(conversation_id=third, customer_id=customer_id, created_at=WHEN)
        for survey in (sent, older, newer):
            await uow.surveys.insert(survey)
        await uow.commit()
    async with UnitOfWork(database) as uow:
        pending = await uow.surveys.pending_for(customer_id)
        assert pending is not None and pending.id == newer.id  # the newest scheduled one
        assert await uow.surveys.last_sent_at(customer_id) == WHEN
        found = await uow.surveys.for_conversation(second)
        assert found is not None and found.id == older.id
        assert await uow.surveys.for_conversation(-1) is None
        assert await uow.surveys.get(older.id) is found  # the session's own object
        assert await uow.surveys.get(-1) is None


async def test_get_returns_the_sessions_object_with_its_changes(database: Database) -> None:
    _customer_id, (conversation_id,) = await _conversations(database, 1)
    async with UnitOfWork(database) as uow:
        loaded = await uow.conversations.open_for(_customer_id)
        assert loaded is not None and loaded.id == conversation_id
        loaded.customer_turns = 9
        again = await uow.conversations.get(conversation_id)
        assert again is loaded and again.customer_turns == 9
        await uow.commit()
    async with UnitOfWork(database) as uow:
        fresh = await uow.conversations.get(conversation_id)
        assert fresh is not None and fresh.customer_turns == 9
        assert await uow.conversations.get(conversation_id + 1000) is None
