"""The conversation engine: typed events in, state and outbox rows out, one transaction each.

For every event it (1) drops a redelivery (the inbox table), (2) takes the customer's lock
(an asyncio lock here, the customer's row lock on PostgreSQL across workers), (3) masks
personal data, (4) decides, and (5) commits the new state together with every message it
causes. The dispatcher delivers those messages afterwards.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import DBAPIError, IntegrityError

from bot.core import metrics
from bot.core.customer_events import handle_customer_event
from bot.core.dispatcher import Dispatcher
from bot.core.events import (
    CustomerEvent,
    CustomerMessage,
    CustomerRef,
    InboundEvent,
    Outcome,
    StaffEvent,
)
from bot.core.locks import KeyedLocks
from bot.core.privacy import clean_text, mask_personal_data
from bot.core.staff_flow import handle_staff_event
from bot.core.timers import close_inactive, run_timer
from bot.core.turn import ReadAhead, Services, Turn
from storage.db import Database
from storage.models import Conversation, Customer, JobStatus, OutboxItem, utcnow
from storage.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]


class ConversationEngine:
    """``outcome = await engine.handle(event)``; platform-free and safe to call concurrently."""

    def __init__(self, db: Database, services: Services, *, clock: Clock = utcnow) -> None:
        self.db = db
        self.services = services
        self.clock = clock
        self.locks = KeyedLocks()
        self.work_ready = asyncio.Event()  # set when new outbox rows or timers were committed
        self.courier: Dispatcher | None = None  # the running dispatcher, if any

    # Entry point ---------------------------------------------------------------------
    async def handle(self, event: InboundEvent) -> Outcome:
        """Handle one inbound event; never raises for bad input."""
        kind = type(event).__name__
        started = time.perf_counter()
        try:
            if isinstance(event, CustomerEvent):
                metrics.MESSAGES_IN.labels(channel=event.customer.channel).inc()
            outcome = await self._handle_retrying(event)
            if outcome.duplicate:
                metrics.DUPLICATES.labels(source=kind).inc()
            if log.isEnabledFor(logging.DEBUG):  # the extra dict costs more than the check
                log.debug(
                    "handled %s",
                    kind,
                    extra={
                        "conversation_id": outcome.conversation_id,
                        "status": outcome.status,
                        "queued": outcome.queued,
                        "duplicate": outcome.duplicate,
                    },
                )
            return outcome
        except Exception:
            log.exception("event failed: %s", type(event).__name__)
            if isinstance(event, CustomerEvent):
                return await self._keep_failed_message(event)
            return Outcome(handled=False, notice="Sorry, that did not work. Please try again.")
        finally:
            metrics.EVENT_SECONDS.labels(event=kind).observe(time.perf_counter() - started)

    async def _handle_retrying(self, event: InboundEvent, tries: int = 4) -> Outcome:
        """Handle ``event``, again if the database connection broke (a PostgreSQL restart or
        failover, a killed backend): the transaction was rolled back, and the inbox makes a
        second run of an event that did commit a no-op."""
        for attempt in range(1, tries + 1):
            try:
                if isinstance(event, CustomerEvent):
                    return await self._handle_customer(event)
                return await self._handle_staff(event)
            except DBAPIError as exc:
                if isinstance(exc, IntegrityError) or attempt == tries:
                    raise
                log.warning("database error (%s); handling the event again", type(exc).__name__)
                await asyncio.sleep(0.1 * 2**attempt)
        raise AssertionError("unreachable")

    async def _handle_customer(self, event: CustomerEvent) -> Outcome:
        ref = event.customer
        ahead = self._read_ahead(event)
        # Lock before any await, so one customer's events keep the order they came in.
        async with self.locks.hold((ref.channel, ref.external_id)), UnitOfWork(self.db) as uow:
            if event.delivery_id and not await uow.inbox.first_time(ref.channel, event.delivery_id):
                return Outcome(handled=False, duplicate=True)
            customer = await uow.customers.find(ref.channel, ref.external_id, lock=True)
            if customer is None:
                customer = await uow.customers.ensure(
                    ref.channel, ref.external_id, ref.address, self.clock()
                )
            self._refresh_profile(customer, ref)
            turn = Turn(
                uow=uow, services=self.services, now=self.clock(), customer=customer, ahead=ahead
            )
            duplicate = await handle_customer_event(turn, event)
            if duplicate:
                await uow.rollback()
                return Outcome(handled=False, duplicate=True)
            try:
                handed = await self._commit(uow, turn.now)
            except IntegrityError:  # the same platform message, delivered under a new id
                return Outcome(handled=False, duplicate=True)
        return self._outcome(turn, uow, handed)

    def _read_ahead(self, event: CustomerEvent) -> ReadAhead | None:
        """Start reading a text message elsewhere (an understander with ``read_ahead``,
        such as ``intents.worker``), while this turn waits for its lock and loads the
        customer; the turn uses it if the words and language come out the same."""
        read_ahead = getattr(self.services.understander, "read_ahead", None)
        if read_ahead is None or not isinstance(event, CustomerMessage):
            return None
        text = self._mask(clean_text(event.text)[0])
        if not text:
            return None
        language = _clean_language(event.customer.language) or None
        return ReadAhead(text, language, read_ahead(text, language))

    def _refresh_profile(self, customer: Customer, ref: CustomerRef) -> None:
        now = self.clock()
        if now - customer.last_seen_at > timedelta(minutes=1):
            customer.last_seen_at = now  # minute precision saves a write per message
        if customer.address != ref.address:
            customer.address = ref.address
        if customer.unreachable:
            customer.unreachable = False  # they wrote to us, so they can hear us again
        if customer.erased_at is not None:
            return
        name = _clean_name(ref.display_name, 190)
        first = _clean_name(ref.first_name, 90)
        if name and customer.display_name != name:
            customer.display_name = name
        if first and customer.first_name != first:
            customer.first_name = first
        language = _clean_language(ref.language)
        if language and customer.language != language:
            customer.language = language

    async def _handle_staff(self, event: StaffEvent) -> Outcome:
        async with UnitOfWork(self.db) as uow:
            conversation = await uow.conversations.get(event.conversation_id)
            if conversation is None:
                return Outcome(handled=False, notice="There is no such conversation.")
            customer_id = conversation.customer_id
            owner = await uow.customers.get(customer_id)
            key = (owner.channel, owner.external_id) if owner else customer_id
        async with self.locks.hold(key), UnitOfWork(self.db) as uow:
            if event.delivery_id and not await uow.inbox.first_time(
                event.agent.platform, event.delivery_id
            ):
                return Outcome(handled=False, duplicate=True)
            customer = await uow.customers.get(customer_id, lock=True)
            assert customer is not None
            turn = Turn(uow=uow, services=self.services, now=self.clock(), customer=customer)
            turn.conversation = await uow.conversations.get(event.conversation_id)
            await handle_staff_event(turn, event)
            handed = await self._commit(uow, turn.now)
        return self._outcome(turn, uow, handed)

    async def _commit(self, uow: UnitOfWork, now: datetime) -> list[OutboxItem]:
        """Commit the turn, with the leases of the replies it hands to the running
        dispatcher and the dispatcher's recent sends riding along (:meth:`Dispatcher.board`);
        returns the handed rows."""
        handed = await self._lease_for_courier(uow, now)
        courier = self.courier
        rides = courier.board() if courier is not None else []
        committed = False
        try:
            if rides:
                assert courier is not None
                await courier.write_riders(uow, rides)
            await uow.commit()
            committed = True
        finally:
            Dispatcher.landed(rides, committed)
        return handed

    async def _lease_for_courier(self, uow: UnitOfWork, now: datetime) -> list[OutboxItem]:
        """Lease the turn's first reply per chat for the running dispatcher (see
        :meth:`Dispatcher.take`), in the turn's own transaction."""
        courier = self.courier
        if courier is None or not uow.outbox.added:
            return []
        channels = {item.channel for item in uow.outbox.added if courier.accepts(item.channel)}
        if not channels:
            return []
        return await uow.outbox.lease_added(
            channels=channels, lease=courier.lease, now=now, settled=courier.settled
        )

    def _outcome(
        self, turn: Turn, uow: UnitOfWork | None = None, handed: list[OutboxItem] | None = None
    ) -> Outcome:
        handed = handed or []
        if uow is not None and self.courier is not None and uow.outbox.added:
            ids = {id(item) for item in handed}
            waiting = {item.lane for item in uow.outbox.added if id(item) not in ids}
            self.courier.take(handed, waiting)
            if waiting:
                self.work_ready.set()
        elif turn.queued:
            self.work_ready.set()
        conversation = turn.conversation
        return Outcome(
            conversation_id=conversation.id if conversation else None,
            status=conversation.status if conversation else None,
            notice=turn.notice,
            queued=turn.queued,
        )

    async def _keep_failed_message(self, event: CustomerEvent) -> Outcome:
        """Something broke: keep the customer's words and say sorry, rather than lose them.

        If even that fails (the database is down), the outcome says ``failed`` so the channel
        can ask the platform to deliver the event again later.
        """
        try:
            async with UnitOfWork(self.db) as uow:
                ref = event.customer
                if event.delivery_id:
                    await uow.inbox.first_time(ref.channel, event.delivery_id)
                customer = await uow.customers.ensure(ref.channel, ref.external_id, ref.address)
                turn = Turn(uow=uow, services=self.services, now=self.clock(), customer=customer)
                turn.conversation = await uow.conversations.open_for(customer.id)
                if turn.conversation is None:
                    turn.conversation = Conversation(
                        customer_id=customer.id,
                        channel=customer.channel,
                        started_at=turn.now,
                        last_activity_at=turn.now,
                        moods=[],
                        context={},
                    )
                    uow.conversations.add(turn.conversation)
                    await uow.session.flush()
                text = getattr(event, "text", None) or f"[{type(event).__name__}]"
                turn.record_inbound(self._mask(clean_text(text)[0]))
                turn.reply(
                    "Sorry, something went wrong on our side. Your message is saved; "
                    'please try again, or type "human" to reach a person.',
                    author="system",
                )
                await uow.commit()
            self.work_ready.set()
        except Exception:
            log.exception("could not even keep the failed message; the platform should resend it")
            return Outcome(handled=False, failed=True)
        return Outcome(handled=False)

    def _mask(self, text: str) -> str:
        return mask_personal_data(text, self.services.settings.mask_pii).text

    # Timers --------------------------------------------------------------------------
    async def run_job(self, key: str) -> bool:
        """Run the customer timer ``key`` if it is still due; True if it ran."""
        async with UnitOfWork(self.db) as uow:
            job = await uow.jobs.get(key)
            if job is None:
                return False
            conversation_id = job.payload.get("conversation_id")
            if conversation_id is None and "handoff_id" in job.payload:
                found = await uow.handoffs.get(int(job.payload["handoff_id"]))
                conversation_id = found.conversation_id if found else None
            if conversation_id is None and "survey_id" in job.payload:
                survey = await uow.surveys.get(int(job.payload["survey_id"]))
                conversation_id = survey.conversation_id if survey else None
            conversation = await uow.conversations.get(conversation_id) if conversation_id else None
            customer_id = conversation.customer_id if conversation else None
            owner = await uow.customers.get(customer_id) if customer_id else None
            lock_key = (owner.channel, owner.external_id) if owner else None
        if conversation_id is None or customer_id is None:
            await self._finish_job(key)
            return False
        async with self.locks.hold(lock_key), UnitOfWork(self.db) as uow:
            job = await uow.jobs.get(key)
            now = self.clock()
            if job is None or job.status != JobStatus.PENDING or job.due_at > now:
                return False  # done elsewhere, cancelled, or moved later meanwhile
            customer = await uow.customers.get(customer_id, lock=True)
            assert customer is not None
            turn = Turn(uow=uow, services=self.services, now=now, customer=customer)
            turn.conversation = await uow.conversations.get(conversation_id)
            await run_timer(turn, job)
            job.status = JobStatus.DONE
            job.leased_until = None
            handed = await self._commit(uow, now)
        self._outcome(turn, uow, handed)
        return True

    async def sweep_inactive(self, *, limit: int = 500) -> int:
        """Close conversations quiet for longer than the inactivity timeout; returns how many.

        One indexed query finds them, so no timer has to be rewritten on every message.
        """
        now = self.clock()
        cutoff = now - timedelta(minutes=self.services.settings.inactivity_timeout_minutes)
        async with UnitOfWork(self.db) as uow:
            due = await uow.conversations.quiet_since(cutoff, limit=limit)
        closed = 0
        for conversation_id, channel, external_id, customer_id in due:
            async with self.locks.hold((channel, external_id)), UnitOfWork(self.db) as uow:
                customer = await uow.customers.get(customer_id, lock=True)
                assert customer is not None
                turn = Turn(uow=uow, services=self.services, now=self.clock(), customer=customer)
                turn.conversation = await uow.conversations.get(conversation_id)
                await close_inactive(turn, cutoff)
                await uow.commit()
            closed += 1
            self._outcome(turn)
        return closed

    async def _finish_job(self, key: str) -> None:
        async with UnitOfWork(self.db) as uow:
            job = await uow.jobs.get(key)
            if job is not None:
                job.status = JobStatus.DONE
            await uow.commit()

    # Convenience for channels and tests ------------------------------------------------
    async def staff_queue(self) -> list[dict[str, Any]]:
        """Open handoffs, oldest first, for ``carebot staff`` and ``/carebot queue``."""
        async with UnitOfWork(self.db) as uow:
            return [dict(row) for row in await uow.handoffs.queue()]


def _clean_language(language: str | None) -> str:
    return clean_text(language or "", limit=100)[0][:16]


def _clean_name(name: str | None, limit: int) -> str:
    """Names are customer input too: no control characters, no card numbers."""
    return mask_personal_data(clean_text(name or "", limit=limit)[0], ()).text
