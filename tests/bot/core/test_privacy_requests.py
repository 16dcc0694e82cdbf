"""Export and erase a customer; the retention purge; reports stay the same after erasure."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from bot.core import privacy_requests
from bot.core.events import CustomerChoice, StaffClaim, StaffReply, StaffResolve
from storage.models import Message, OutboxItem
from storage.reports import summary
from tests.helpers import Harness


async def _handled_and_rated(h: Harness) -> int:
    cid = (await h.say("human")).conversation_id
    assert cid is not None
    await h.say("my email is ann@example.com, card 4242424242424242")
    await h.act(StaffClaim(cid, h.agent))
    await h.act(StaffReply(cid, h.agent, "on it"))
    await h.act(StaffResolve(cid, h.agent))
    await h.later(minutes=11)
    survey = await h.query(lambda uow: uow.surveys.for_conversation(cid))
    await h.act(CustomerChoice(h.customer(), f"csat:{survey.id}:2"))
    await h.say("you were slow")
    return cid


async def test_export_contains_everything_but_staff_notes(harness: Harness) -> None:
    cid = await _handled_and_rated(harness)
    await harness.act(StaffReply(cid, harness.agent, "internal remark", internal=True))
    data = await privacy_requests.export(harness.engine, "console:42")
    assert data is not None
    assert data["customer"]["first_name"] == "Ann"
    texts = [m["text"] for c in data["conversations"] for m in c["messages"]]
    assert "human" in texts and "[EMAIL]" in " ".join(texts)
    assert "internal remark" not in texts
    assert data["surveys"][0]["comment"] == "you were slow"
    assert data["conversations"][0]["handoffs"][0]["reason"] == "customer_request"


async def test_erase_removes_personal_data_and_keeps_report_numbers(harness: Harness) -> None:
    await _handled_and_rated(harness)
    start, end = harness.clock() - timedelta(days=1), harness.clock() + timedelta(days=1)
    before = await summary(harness.carebot.db, start, end)
    result = await privacy_requests.erase(harness.engine, "console:42")
    assert result is not None and result["staff_posts_to_delete"] >= 2
    after = await summary(harness.carebot.db, start, end)
    assert after == before

    async def leftovers(uow):  # type: ignore[no-untyped-def]
        messages = (
            await uow.session.execute(select(func.count()).select_from(Message))
        ).scalar_one()
        payloads = (await uow.session.execute(select(OutboxItem.payload))).scalars().all()
        customer = await uow.customers.get(1)
        return messages, payloads, customer

    messages, payloads, customer = await harness.query(leftovers)
    assert messages == 0
    assert customer.first_name is None and customer.erased_at is not None
    # Only the deletion orders carry data, and that is Slack message ids.
    assert all(p == {"erased": True} or set(p) <= {"channel", "ts"} for p in payloads)
    assert "ann@example.com" not in str(payloads)
    await harness.settle()
    assert harness.staff_out.kinds().count("staff.delete") == result["staff_posts_to_delete"]
    assert await privacy_requests.erase(harness.engine, "console:nobody") is None


async def test_retention_purge_removes_old_transcripts_only(harness: Harness) -> None:
    await harness.say("how can I pay")
    await harness.say("yes")
    await harness.later(days=300)
    await harness.say("hi", who=harness.customer(name="Bo", external_id="bo"))
    next_run = await privacy_requests.purge(harness.engine, retention_days=365)
    assert next_run == harness.clock() + timedelta(days=1)

    async def count(uow):  # type: ignore[no-untyped-def]
        return (await uow.session.execute(select(func.count()).select_from(Message))).scalar_one()

    kept = await harness.query(count)
    await harness.later(days=70)
    await privacy_requests.purge(harness.engine, retention_days=365)
    assert 0 < await harness.query(count) < kept
