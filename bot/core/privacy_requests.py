"""Data-subject requests through the engine: export and erase one customer, daily purge.

Erasure takes the customer's lock like any event, removes personal data in one
transaction, closes an open conversation and queues the deletion of the bot's posts in
the staff channel through the outbox, so a Slack outage delays the deletion but never
loses it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot.core.actions import STAFF_DELETE
from bot.core.engine import ConversationEngine
from storage.data_subject import erase_customer, export_customer, find_customer, purge_expired
from storage.models import ConversationStatus
from storage.unit_of_work import UnitOfWork


async def export(engine: ConversationEngine, ref: str) -> dict[str, Any] | None:
    """Everything stored about the customer ``ref`` (id or ``channel:external_id``)."""
    async with UnitOfWork(engine.db) as uow:
        customer = await find_customer(uow.session, ref)
        if customer is None:
            return None
        return await export_customer(uow.session, customer)


async def erase(engine: ConversationEngine, ref: str) -> dict[str, int] | None:
    """Erase the customer ``ref``; returns what was removed, or None if unknown."""
    async with UnitOfWork(engine.db) as uow:
        customer = await find_customer(uow.session, ref)
        if customer is None:
            return None
        key = (customer.channel, customer.external_id)
        customer_id = customer.id
    async with engine.locks.hold(key), UnitOfWork(engine.db) as uow:
        customer = await uow.customers.get(customer_id, lock=True)
        assert customer is not None
        now = engine.clock()
        open_conversation = await uow.conversations.open_for(customer_id)
        if open_conversation is not None:
            open_conversation.status = ConversationStatus.CLOSED_INACTIVE
            open_conversation.ended_at = now
        posts = await erase_customer(uow.session, customer)
        for sender, channel, ts in posts:
            uow.outbox.add(
                target="staff",
                channel=sender,
                lane=f"erase:{customer_id}",
                kind=STAFF_DELETE,
                payload={"channel": channel, "ts": ts},
                conversation_id=None,
                now=now,
            )
        await uow.commit()
    if posts:
        engine.work_ready.set()
    return {"staff_posts_to_delete": len(posts)}


async def purge(engine: ConversationEngine, retention_days: int) -> datetime:
    """The daily retention purge; returns when it should run next."""
    now = engine.clock()
    async with UnitOfWork(engine.db) as uow:
        await purge_expired(uow.session, now=now, retention_days=retention_days)
        await uow.commit()
    return now + timedelta(days=1)
