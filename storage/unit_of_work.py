"""The unit of work: one transaction, its repositories, and nothing committed by accident.

Repositories never commit; the engine calls :meth:`UnitOfWork.commit` once it has written
the state change *and* the deliveries it causes, so either both happen or neither does.
"""

from __future__ import annotations

from types import TracebackType

from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import Database
from storage.inline_writes import write_changes
from storage.repositories import (
    AgentRepository,
    ConversationRepository,
    CustomerRepository,
    HandoffRepository,
    InboxRepository,
    MessageRepository,
    SurveyRepository,
)
from storage.work_queues import JobRepository, OutboxRepository


class UnitOfWork:
    """``async with UnitOfWork(db) as uow: ...; await uow.commit()``."""

    session: AsyncSession

    def __init__(self, db: Database) -> None:
        self.db = db
        self._committed = False

    async def __aenter__(self) -> UnitOfWork:
        if self.db.write_lock is not None:
            await self.db.write_lock.acquire()
        # The session begins its transaction with its first statement (autobegin), as an
        # explicit begin() would have: that, too, connected only at the first statement.
        try:
            session = self.session = self.db.sessions()
        except BaseException:
            if self.db.write_lock is not None:
                self.db.write_lock.release()
            raise
        self.customers = CustomerRepository(session)
        self.agents = AgentRepository(session)
        self.conversations = ConversationRepository(session)
        self.messages = MessageRepository(session)
        self.handoffs = HandoffRepository(session)
        self.surveys = SurveyRepository(session)
        self.inbox = InboxRepository(session)
        self.outbox = OutboxRepository(session)
        self.jobs = JobRepository(session)
        return self

    async def commit(self) -> None:
        """Make everything written in this unit of work durable, at once."""
        await self.outbox.write_staged()
        await self.messages.write_staged()
        await write_changes(self.session)
        await self.session.commit()
        self._committed = True

    async def rollback(self) -> None:
        """Forget everything written in this unit of work."""
        await self.session.rollback()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if not self._committed:
                await self.session.rollback()
            await self.session.close()
        finally:
            if self.db.write_lock is not None:
                self.db.write_lock.release()
