"""The outbox dispatcher: delivers committed actions, retrying with back-off.

It claims due rows with a lease (one per lane, so a conversation's messages keep their
order), hands each to its channel's sender outside any transaction, then records the
result. A failure is retried after the platform's ``retry_after`` or an exponential
back-off; a customer who blocked the bot is marked unreachable; a row that fails too often
is parked as ``dead`` with its last error, never silently dropped.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Mapping
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


def backoff_seconds(attempt: int) -> float:
    """1, 2, 4, ... seconds (capped), with jitter so retries do not stampede."""
    base: float = min(2.0 ** max(attempt - 1, 0), MAX_BACKOFF_SECONDS)
    return base * random.uniform(0.8, 1.2)


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
    ) -> None:
        self.db = db
        self.senders = dict(senders)
        self.clock = clock
        self.max_attempts = max_attempts
        self.batch = batch
        self.lease = lease
        self.poll_seconds = poll_seconds
        self.wake = wake or asyncio.Event()
        self.delivered = 0
        self.failures = 0

    async def run_once(self) -> int:
        """Deliver what is due now; returns how many rows were attempted."""
        if not self.senders:
            return 0
        async with UnitOfWork(self.db) as uow:
            items = await uow.outbox.claim(
                channels=list(self.senders), limit=self.batch, lease=self.lease, now=self.clock()
            )
            deliveries = [await self._prepare(uow, item) for item in items]
            await uow.commit()
        await asyncio.gather(*(self._deliver(d) for d in deliveries))
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

    async def run_forever(self, stop: asyncio.Event) -> None:
        """Deliver until ``stop`` is set, sleeping until woken or the poll interval passes."""
        while not stop.is_set():
            try:
                done = await self.run_once()
            except Exception:
                log.exception("dispatcher round failed; retrying")
                done = 0
            if done:
                continue
            self.wake.clear()
            waiters = {asyncio.ensure_future(self.wake.wait()), asyncio.ensure_future(stop.wait())}
            _, pending = await asyncio.wait(
                waiters, timeout=self.poll_seconds, return_when=asyncio.FIRST_COMPLETED
            )
            for task in pending:
                task.cancel()

    async def _prepare(self, uow: UnitOfWork, item: OutboxItem) -> Delivery:
        thread = channel = None
        handoff_id = item.payload.get("handoff_id")
        if item.target == "staff" and handoff_id is not None:
            found = await uow.handoffs.get(int(handoff_id))
            if found is not None:
                thread, channel = found.staff_thread, found.staff_channel
        return Delivery(
            id=item.id,
            kind=item.kind,
            channel=item.channel,
            payload=item.payload,
            address=item.payload.get("address"),
            staff_thread=thread,
            staff_channel=channel,
            attempt=item.attempts,
        )

    async def _deliver(self, delivery: Delivery) -> None:
        sender = self.senders[delivery.channel]
        try:
            receipt = await sender.deliver(delivery)
        except TransientDeliveryError as exc:
            await self._retry(delivery, str(exc), exc.retry_after)
        except RecipientUnreachable as exc:
            await self._unreachable(delivery, str(exc))
        except PermanentDeliveryError as exc:
            await self._give_up(delivery, str(exc))
        except Exception as exc:  # a bug or an unexpected library error: retry, don't drop
            log.exception("sender %s failed on %s", delivery.channel, delivery.kind)
            await self._retry(delivery, f"{type(exc).__name__}: {exc}", None)
        else:
            await self._done(delivery, receipt)

    async def _done(self, delivery: Delivery, receipt: Receipt) -> None:
        async with UnitOfWork(self.db) as uow:
            item = await uow.outbox.get(delivery.id)
            if item is None:
                return
            item.status = OutboxStatus.SENT
            item.sent_at = self.clock()
            metrics.MESSAGES_OUT.labels(channel=delivery.channel, kind=delivery.kind).inc()
            metrics.DELIVERY_LAG_SECONDS.labels(channel=delivery.channel).observe(
                max(0.0, (item.sent_at - item.created_at).total_seconds())
            )
            item.leased_until = None
            item.result_ref = receipt.platform_id
            if delivery.kind == STAFF_HANDOFF and receipt.platform_id:
                found = await uow.handoffs.get(int(delivery.payload["handoff_id"]))
                if found is not None:
                    found.staff_thread = receipt.platform_id
                    found.staff_channel = receipt.channel_ref
            if delivery.kind == CUSTOMER_SURVEY and receipt.platform_id:
                survey = await uow.surveys.get(int(delivery.payload["survey_id"]))
                if survey is not None:
                    survey.platform_message_id = receipt.platform_id
            await uow.commit()
        self.delivered += 1

    async def _retry(self, delivery: Delivery, error: str, retry_after: float | None) -> None:
        self.failures += 1
        metrics.DELIVERY_FAILURES.labels(channel=delivery.channel, reason="transient").inc()
        async with UnitOfWork(self.db) as uow:
            item = await uow.outbox.get(delivery.id)
            if item is None:
                return
            item.last_error = error[:1000]
            item.leased_until = None
            if item.attempts >= self.max_attempts:
                item.status = OutboxStatus.DEAD
                log.error(
                    "giving up on outbox %s after %s attempts: %s", item.id, item.attempts, error
                )
            else:
                wait = max(retry_after or 0.0, backoff_seconds(item.attempts))
                item.next_attempt_at = self.clock() + timedelta(seconds=wait)
                log.warning("outbox %s failed (%s); retry in %.1fs", item.id, error, wait)
            await uow.commit()

    async def _give_up(self, delivery: Delivery, error: str) -> None:
        self.failures += 1
        metrics.DELIVERY_FAILURES.labels(channel=delivery.channel, reason="permanent").inc()
        log.error("outbox %s cannot be delivered: %s", delivery.id, error)
        async with UnitOfWork(self.db) as uow:
            item = await uow.outbox.get(delivery.id)
            if item is not None:
                item.status = OutboxStatus.DEAD
                item.last_error = error[:1000]
                item.leased_until = None
            await uow.commit()

    async def _unreachable(self, delivery: Delivery, error: str) -> None:
        self.failures += 1
        metrics.DELIVERY_FAILURES.labels(channel=delivery.channel, reason="unreachable").inc()
        async with UnitOfWork(self.db) as uow:
            item = await uow.outbox.get(delivery.id)
            if item is None:
                return
            item.status = OutboxStatus.DEAD
            item.last_error = f"unreachable: {error}"[:1000]
            item.leased_until = None
            if item.conversation_id is not None:
                conversation = await uow.conversations.get(item.conversation_id)
                customer = (
                    await uow.customers.get(conversation.customer_id) if conversation else None
                )
                if customer is not None:
                    customer.unreachable = True
            if delivery.kind == CUSTOMER_SURVEY:
                survey = await uow.surveys.get(int(delivery.payload["survey_id"]))
                if survey is not None:
                    survey.status = SurveyStatus.UNREACHABLE
            await uow.commit()
