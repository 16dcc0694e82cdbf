"""The CSAT survey rules of PRODUCT.md §1."""

from __future__ import annotations

from bot.core.events import CustomerChoice, StaffClaim, StaffResolve
from bot.errors import RecipientUnreachable
from storage.models import SurveyStatus
from tests.helpers import Harness


async def _resolve_by_bot(h: Harness, **who: str) -> int:
    customer = h.customer(**who) if who else h.customer()
    outcome = await h.say("how can I pay", who=customer)
    await h.say("yes", who=customer)
    assert outcome.conversation_id is not None
    return outcome.conversation_id


async def _survey(h: Harness, conversation_id: int):  # type: ignore[no-untyped-def]
    return await h.query(lambda uow: uow.surveys.for_conversation(conversation_id))


async def test_one_survey_per_conversation_and_the_last_answer_wins(harness: Harness) -> None:
    cid = await _resolve_by_bot(harness)
    await harness.later(minutes=11)
    survey = await _survey(harness, cid)
    await harness.act(CustomerChoice(harness.customer(), f"csat:{survey.id}:3", "t1"))
    await harness.act(CustomerChoice(harness.customer(), f"csat:{survey.id}:4", "t2"))
    survey = await _survey(harness, cid)
    assert survey.score == 4 and survey.status == SurveyStatus.ANSWERED
    assert harness.customer_out.kinds().count("customer.survey") == 1
    edits = [d for d in harness.customer_out.deliveries if d.kind == "customer.edit"]
    assert edits and edits[-1].payload["buttons"][0][3]["label"] == "✓ 4"


async def test_throttle_one_survey_per_customer_per_week(harness: Harness) -> None:
    await _resolve_by_bot(harness)
    await harness.later(minutes=11)
    await harness.later(days=1)
    second = await _resolve_by_bot(harness)
    await harness.later(minutes=11)
    assert await _survey(harness, second) is None
    assert harness.customer_out.kinds().count("customer.survey") == 1
    await harness.later(days=7)
    third = await _resolve_by_bot(harness)
    await harness.later(minutes=11)
    assert (await _survey(harness, third)).status == SurveyStatus.SENT


async def test_expired_survey_says_it_has_closed(harness: Harness) -> None:
    cid = await _resolve_by_bot(harness)
    await harness.later(minutes=11)
    survey = await _survey(harness, cid)
    await harness.later(days=7, minutes=1)
    assert (await _survey(harness, cid)).status == SurveyStatus.EXPIRED
    outcome = await harness.act(CustomerChoice(harness.customer(), f"csat:{survey.id}:5", "late"))
    assert outcome.notice and "closed" in outcome.notice
    assert (await _survey(harness, cid)).score is None


async def test_tampered_or_foreign_survey_buttons_are_refused(harness: Harness) -> None:
    cid = await _resolve_by_bot(harness)
    await harness.later(minutes=11)
    survey = await _survey(harness, cid)
    mallory = harness.customer(name="Mal", external_id="666")
    for data in (f"csat:{survey.id}:9", f"csat:{survey.id}:0", "csat:x:5", f"csat:{survey.id}:5:1"):
        outcome = await harness.act(CustomerChoice(harness.customer(), data))
        assert outcome.notice and "isn't valid" in outcome.notice
    outcome = await harness.act(CustomerChoice(mallory, f"csat:{survey.id}:1"))
    assert outcome.notice and "isn't valid" in outcome.notice
    assert (await _survey(harness, cid)).score is None


async def test_greeting_only_conversations_are_not_surveyed(harness: Harness) -> None:
    cid = (await harness.say("hi")).conversation_id
    await harness.say("thanks")
    await harness.later(minutes=30)
    assert cid is not None and await _survey(harness, cid) is None


async def test_low_score_asks_what_went_wrong(harness: Harness) -> None:
    cid = await _resolve_by_bot(harness)
    await harness.later(minutes=11)
    survey = await _survey(harness, cid)
    await harness.act(CustomerChoice(harness.customer(), f"csat:{survey.id}:2", "t"))
    assert any("What went wrong?" in text for text in harness.replies())
    await harness.act(CustomerChoice(harness.customer(), f"csat:{survey.id}:1", "t2"))
    handoffs = [d for d in harness.staff_out.deliveries if d.kind == "staff.handoff"]
    assert len(handoffs) == 1  # changing 2 → 1 does not open a second follow-up


async def test_human_resolution_is_surveyed_and_attributed_to_the_agent(harness: Harness) -> None:
    cid = (await harness.say("human")).conversation_id
    assert cid is not None
    await harness.act(StaffClaim(cid, harness.agent))
    await harness.act(StaffResolve(cid, harness.agent))
    await harness.later(minutes=11)
    survey = await _survey(harness, cid)
    assert survey.status == SurveyStatus.SENT and survey.agent_id is not None


async def test_blocked_customer_makes_the_survey_unreachable(harness: Harness) -> None:
    cid = await _resolve_by_bot(harness)
    harness.customer_out.fail_next.append(RecipientUnreachable("bot was blocked by the user"))
    await harness.later(minutes=11)
    assert (await _survey(harness, cid)).status == SurveyStatus.UNREACHABLE
    customer = await harness.query(lambda uow: uow.customers.find("console", "42"))
    assert customer.unreachable
    await harness.say("hi again")  # writing again makes them reachable
    customer = await harness.query(lambda uow: uow.customers.find("console", "42"))
    assert not customer.unreachable
