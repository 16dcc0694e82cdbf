"""The outbox dispatcher: delivers committed actions, retrying with back-off.

It claims due rows with a lease (one per lane, so a conversation's messages keep their
order), hands each to its channel's sender outside any transaction, then records the
result. A failure is retried after the platform's ``retry_after`` or an exponential
back-off; a customer who blocked the bot is marked unreachable; a row that fails too often
is parked as ``dead`` with its last error, never silently dropped.

In the background loop every delivery runs as its own task, so one slow chat (a per-chat
rate limit, a slow platform call) never holds up the others; results are recorded in
small batches, one transaction each.

While that loop runs, the engine hands it rows straight after committing them
(:meth:`Dispatcher.take`), leased in the same transaction, so a reply does not wait for
a claim round. The table stays the source of truth: a row handed over but never recorded
is claimed again once its lease expires.

Plain successful sends ride along with the next turn (:meth:`Dispatcher.board`): the
engine writes them in the transaction it commits anyway, instead of the dispatcher
opening one of its own per batch, whose begin and commit cost more than the ``UPDATE``.
If no turn comes within ``ride_seconds``, the dispatcher records them itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.core import metrics
from bot.core.actions import CUSTOMER_SURVEY, STAFF_HANDOFF, Delivery, Receipt
from bot.core.ports import Sender
from bot.errors import PermanentDeliveryError, RecipientUnreachable, TransientDeliveryError
from storage.db import Database
from storage.models import OutboxItem, OutboxStatus, SurveyStatus, utcnow
from storage.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)
MAX_BACKOFF_SECONDS = 300.0
_SIDE = frozenset({STAFF_HANDOFF, CUSTOMER_SURVEY})  # kinds whose receipt is stored elsewhere


def _plain(attempt: Attempt) -> bool:
    """A send whose success changes nothing but its own row."""
    return attempt.result == "sent" and attempt.delivery.kind not in _SIDE


def backoff_seconds(attempt: int, cap: float = MAX_BACKOFF_SECONDS) -> float:
    """1, 2, 4, ... seconds (capped at ``cap``), with jitter so retries do not stampede."""
    base: float = min(2.0 ** max(attempt - 1, 0), cap)
    return base * random.uniform(0.8, 1.2)


@dataclass
class _Ride:
    """Plain successful sends waiting for a turn's transaction to record them."""

    attempts: list[Attempt]
    landed: asyncio.Future[bool]  # True once a turn committed them; False if it failed


@dataclass(frozen=True)
class Attempt:
    """How one delivery went: ``sent``, ``retry``, ``unreachable`` or ``dead``."""

    delivery: Delivery
    result: str
    receipt: Receipt | None = None
    error: str = ""
    retry_after: float | None = None


class Dispatcher:
    """Delivers outbox rows to the registered senders."""

    def __init__(
        self,
        db: Database,
        senders: Mapping[str, Sender],
        *,
        clock: Callable[[], datetime] = utcnow,
        max_attempts: int = 12,
        batch: int = 64,
        lease: timedelta = timedelta(seconds=60),
        poll_seconds: float = 0.5,
        wake: asyncio.Event | None = None,
        max_backoff: float = MAX_BACKOFF_SECONDS,
        ride_seconds: float = 0.05,
    ) -> None:
        self.db = db
        self.senders = dict(senders)
        self.clock = clock
        self.max_attempts = max_attempts
        self.batch = batch
        self.lease = lease
        self.poll_seconds = poll_seconds
        self.wake = wake or asyncio.Event()
        self.max_backoff = max_backoff
        self.ride_seconds = ride_seconds  # how long sends wait for a turn to record them
        self._rides: list[_Ride] = []  # waiting to board a turn's transaction
        self._stopping = asyncio.Event()  # set while the loop winds down: record at once
        self._flying: set[int] = set()  # rows this worker sent or is sending, not yet recorded
        self._settled: set[int] = set()  # of those, rows the platform accepted
        self._handed: set[int] = set()  # rows handed over by the engine, not yet recorded
        self._waiting: set[str] = set()  # lanes with rows committed behind a handed one
        self._start: Callable[[Delivery], None] | None = None  # set while the loop runs
        self.delivered = 0
        self.failures = 0

    # Rounds: claim, deliver, record (tests and the console) -----------------------------
    async def run_once(self) -> int:
        """Deliver what is due now; returns how many rows were attempted."""
        deliveries = await self._claim(self.batch)
        attempts = await asyncio.gather(*(self._attempt(d) for d in deliveries))
        await self._record(list(attempts))
        return len(deliveries)

    async def drain(self, *, max_rounds: int = 100) -> int:
        """Deliver until nothing is due (used by the console and by tests)."""
        total = 0
        for _ in range(max_rounds):
            done = await self.run_once()
            total += done
            if not done:
                break
        return total

    # Rows handed over by the engine ------------------------------------------------------
    def accepts(self, channel: str) -> bool:
        """True while the background loop runs and ``channel`` has a sender."""
        return self._start is not None and channel in self.senders

    @property
    def settled(self) -> set[int]:
        """Rows the platform accepted whose result is not recorded yet: they no longer
        hold back the next row of their lane."""
        return self._settled

    def take(self, items: list[OutboxItem], waiting: set[str]) -> None:
        """Deliver rows the engine just committed with a lease (see
        :meth:`storage.work_queues.OutboxRepository.lease_added`); ``waiting`` are the
        lanes of rows it committed without one, to claim once their lane is free."""
        start = self._start
        if start is None:  # not running: the leases expire and the rows are claimed
            return
        self._waiting |= waiting
        for item in items:
            self._handed.add(item.id)
            start(self._delivery(item))

    # The background loop ----------------------------------------------------------------
    async def run_forever(self, stop: asyncio.Event) -> None:
        """Deliver until ``stop`` is set, then let in-flight deliveries finish."""
        results: asyncio.Queue[Attempt] = asyncio.Queue()
        in_flight: set[asyncio.Task[None]] = set()
        recorder = asyncio.create_task(self._record_continuously(results))
        capacity = self.batch * 4

        async def deliver(delivery: Delivery) -> None:
            attempt = await self._attempt(delivery)
            if attempt.result == "sent":
                self._settled.add(delivery.id)
            await results.put(attempt)

        def start(delivery: Delivery) -> None:
            if delivery.id in self._flying:  # our own lease ran out under load:
                return  # the claim just renewed it; sending again would duplicate
            self._flying.add(delivery.id)
            task = asyncio.create_task(deliver(delivery))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)

        self._start = start
        self._stopping.clear()
        try:
            while not stop.is_set():
                claimed: list[Delivery] = []
                # Clear before looking, so work committed while we look still wakes us.
                self.wake.clear()
                if len(in_flight) < capacity:
                    try:
                        claimed = await self._claim(min(self.batch, capacity - len(in_flight)))
                    except Exception:
                        log.exception("dispatcher could not claim deliveries; retrying")
                for delivery in claimed:
                    start(delivery)
                if claimed:
                    continue
                await self._sleep(stop)
        finally:
            self._start = None
            self._stopping.set()
            self.landed(self.board(), False)  # waiting sends: recorded below, at once
            if in_flight:
                await asyncio.wait(in_flight, timeout=10)
            await results.join()
            recorder.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await recorder

    async def _sleep(self, stop: asyncio.Event) -> None:
        waiters = {asyncio.ensure_future(self.wake.wait()), asyncio.ensure_future(stop.wait())}
        _, pending = await asyncio.wait(
            waiters, timeout=self.poll_seconds, return_when=asyncio.FIRST_COMPLETED
        )
        for task in pending:
            task.cancel()

    async def _record_continuously(self, results: asyncio.Queue[Attempt]) -> None:
        while True:
            batch = [await results.get()]
            while not results.empty() and len(batch) < self.batch:
                batch.append(results.get_nowait())
            try:
                if not await self._ridden(batch):
                    await self._record_patiently(batch)
            except Exception:
                log.exception(
                    "could not record %d deliveries; their leases will expire", len(batch)
                )
            finally:
                wake = False
                for attempt in batch:
                    row = attempt.delivery.id
                    self._flying.discard(row)
                    self._settled.discard(row)
                    lane = attempt.delivery.lane
                    handed = row in self._handed
                    self._handed.discard(row)
                    if not handed or attempt.result != "sent" or lane in self._waiting:
                        wake = True  # a recorded row may unblock the next one of its lane
                        self._waiting.discard(lane)
                    results.task_done()
            if wake:
                self.wake.set()

    async def _ridden(self, batch: list[Attempt]) -> bool:
        """Let a turn record ``batch`` if it is only plain sends; True if one did."""
        if self.ride_seconds <= 0 or self._stopping.is_set() or not all(map(_plain, batch)):
            return False
        ride = _Ride(batch, asyncio.get_running_loop().create_future())
        self._rides.append(ride)
        await asyncio.wait({ride.landed}, timeout=self.ride_seconds)
        if not ride.landed.done() and ride in self._rides:  # no turn came: record them
            self._rides.remove(ride)
            return False
        if not await ride.landed:  # a turn has them: wait for its commit (or failure)
            return False
        self._count_sent(batch)
        return True

    def board(self) -> list[_Ride]:
        """Take the sends waiting for a turn: the caller writes them in its transaction
        (:meth:`write_riders`) and reports with :meth:`landed` whether it committed."""
        rides, self._rides = self._rides, []
        return rides

    async def write_riders(self, uow: UnitOfWork, rides: list[_Ride]) -> None:
        """Record the boarded sends in ``uow`` (one statement for all of them)."""
        attempts = [attempt for ride in rides for attempt in ride.attempts]
        if attempts:
            await self._write_sent(uow, attempts)

    @staticmethod
    def landed(rides: list[_Ride], committed: bool) -> None:
        """The boarding turn committed (or failed: the dispatcher records them itself)."""
        for ride in rides:
            if not ride.landed.done():
                ride.landed.set_result(committed)

    async def _record_patiently(self, batch: list[Attempt], tries: int = 4) -> None:
        """Record, retrying briefly: a dropped database connection must not turn deliveries
        that already reached the platform into resends (recording is idempotent)."""
        for attempt in range(tries):
            try:
                await self._record(batch)
                return
            except Exception:
                if attempt == tries - 1:
                    raise
                log.warning("recording %d deliveries failed; retrying", len(batch))
                await asyncio.sleep(0.2 * 2**attempt)

    # Steps ----------------------------------------------------------------------------
    async def _claim(self, limit: int) -> list[Delivery]:
        if not self.senders or limit <= 0:
            return []
        async with UnitOfWork(self.db) as uow:
            items = await uow.outbox.claim(
                channels=list(self.senders), limit=limit, lease=self.lease, now=self.clock()
            )
            deliveries = [await self._prepare(uow, item) for item in items]
            await uow.commit()
        return deliveries

    async def _prepare(self, uow: UnitOfWork, item: OutboxItem) -> Delivery:
        thread = channel = None
        handoff_id = item.payload.get("handoff_id")
        if item.target == "staff" and handoff_id is not None:
            found = await uow.handoffs.get(int(handoff_id))
            if found is not None:
                thread, channel = found.staff_thread, found.staff_channel
        return self._delivery(item, thread, channel)

    @staticmethod
    def _delivery(
        item: OutboxItem, thread: str | None = None, channel: str | None = None
    ) -> Delivery:
        return Delivery(
            id=item.id,
            kind=item.kind,
            channel=item.channel,
            payload=item.payload,
            address=item.payload.get("address"),
            staff_thread=thread,
            staff_channel=channel,
            attempt=item.attempts,
            lane=item.lane,
            queued_at=item.created_at,
        )

    async def _attempt(self, delivery: Delivery) -> Attempt:
        sender = self.senders[delivery.channel]
        try:
            receipt = await sender.deliver(delivery)
        except TransientDeliveryError as exc:
            return Attempt(delivery, "retry", error=str(exc), retry_after=exc.retry_after)
        except RecipientUnreachable as exc:
            return Attempt(delivery, "unreachable", error=str(exc))
        except PermanentDeliveryError as exc:
            return Attempt(delivery, "dead", error=str(exc))
        except Exception as exc:  # a bug or an unexpected library error: retry, don't drop
            log.exception("sender %s failed on %s", delivery.channel, delivery.kind)
            return Attempt(delivery, "retry", error=f"{type(exc).__name__}: {exc}")
        return Attempt(delivery, "sent", receipt=receipt)

    async def _record(self, attempts: list[Attempt]) -> None:
        if not attempts:
            return
        async with UnitOfWork(self.db) as uow:
            plain = [a for a in attempts if _plain(a)]
            if plain:
                await self._sent_plainly(uow, plain)
            for attempt in attempts:
                if _plain(attempt):
                    continue
                item = await uow.outbox.get(attempt.delivery.id)
                if item is None:
                    continue
                item.leased_until = None
                if attempt.result == "sent":
                    await self._sent(uow, item, attempt)
                else:
                    await self._failed(uow, item, attempt)
            await uow.commit()

    async def _sent_plainly(self, uow: UnitOfWork, attempts: list[Attempt]) -> None:
        """Rows whose success changes nothing else: one UPDATE for all of them."""
        await self._write_sent(uow, attempts)
        self._count_sent(attempts)

    async def _write_sent(self, uow: UnitOfWork, attempts: list[Attempt]) -> None:
        await uow.outbox.mark_sent(
            [(a.delivery.id, (a.receipt or Receipt()).platform_id) for a in attempts],
            self.clock(),
        )

    def _count_sent(self, attempts: list[Attempt]) -> None:
        now = self.clock()
        for attempt in attempts:
            delivery = attempt.delivery
            self.delivered += 1
            metrics.MESSAGES_OUT.labels(channel=delivery.channel, kind=delivery.kind).inc()
            if delivery.queued_at is not None:
                metrics.DELIVERY_LAG_SECONDS.labels(channel=delivery.channel).observe(
                    max(0.0, (now - delivery.queued_at).total_seconds())
                )

    async def _sent(self, uow: UnitOfWork, item: OutboxItem, attempt: Attempt) -> None:
        delivery, receipt = attempt.delivery, attempt.receipt or Receipt()
        item.status = OutboxStatus.SENT
        item.sent_at = self.clock()
        item.result_ref = receipt.platform_id
        self.delivered += 1
        metrics.MESSAGES_OUT.labels(channel=delivery.channel, kind=delivery.kind).inc()
        metrics.DELIVERY_LAG_SECONDS.labels(channel=delivery.channel).observe(
            max(0.0, (item.sent_at - item.created_at).total_seconds())
        )
        if delivery.kind == STAFF_HANDOFF and receipt.platform_id:
            found = await uow.handoffs.get(int(delivery.payload["handoff_id"]))
            if found is not None:
                found.staff_thread = receipt.platform_id
                found.staff_channel = receipt.channel_ref
        if delivery.kind == CUSTOMER_SURVEY and receipt.platform_id:
            survey = await uow.surveys.get(int(delivery.payload["survey_id"]))
            if survey is not None:
                survey.platform_message_id = receipt.platform_id

    async def _failed(self, uow: UnitOfWork, item: OutboxItem, attempt: Attempt) -> None:
        delivery = attempt.delivery
        self.failures += 1
        reason = "transient" if attempt.result == "retry" else attempt.result
        metrics.DELIVERY_FAILURES.labels(channel=delivery.channel, reason=reason).inc()
        item.last_error = attempt.error[:1000]
        if attempt.result == "retry" and item.attempts < self.max_attempts:
            wait = max(attempt.retry_after or 0.0, backoff_seconds(item.attempts, self.max_backoff))
            item.next_attempt_at = self.clock() + timedelta(seconds=wait)
            log.warning("outbox %s failed (%s); retry in %.1fs", item.id, attempt.error, wait)
            return
        item.status = OutboxStatus.DEAD
        log.error("outbox %s parked after %s attempt(s): %s", item.id, item.attempts, attempt.error)
        if attempt.result != "unreachable":
            return
        item.last_error = f"unreachable: {attempt.error}"[:1000]
        if item.conversation_id is not None:
            conversation = await uow.conversations.get(item.conversation_id)
            customer = await uow.customers.get(conversation.customer_id) if conversation else None
            if customer is not None:
                customer.unreachable = True
        if delivery.kind == CUSTOMER_SURVEY:
            survey = await uow.surveys.get(int(delivery.payload["survey_id"]))
            if survey is not None:
                survey.status = SurveyStatus.UNREACHABLE
