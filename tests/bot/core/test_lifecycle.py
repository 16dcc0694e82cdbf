"""Every lifecycle transition of DESIGN.md, on SQLite and PostgreSQL."""

from __future__ import annotations

from bot.core.events import (
    CustomerChoice,
    CustomerCommand,
    StaffClaim,
    StaffRef,
    StaffRelease,
    StaffReply,
    StaffResolve,
    StaffTransfer,
    StaffUnclaim,
)
from storage.models import HandoffStatus, SurveyStatus
from tests.helpers import Harness


async def _survey(h: Harness, conversation_id: int):  # type: ignore[no-untyped-def]
    return await h.query(lambda uow: uow.surveys.for_conversation(conversation_id))


async def _handoff(h: Harness, conversation_id: int):  # type: ignore[no-untyped-def]
    return await h.query(lambda uow: uow.handoffs.latest(conversation_id))


async def test_greeting_discloses_the_bot_and_how_to_reach_a_person(harness: Harness) -> None:
    outcome = await harness.say("hi")
    assert outcome.status == "bot"
    first = harness.replies()[0]
    assert "virtual assistant" in first and '"human"' in first
    assert "Ann" in first


async def test_answer_confirmed_resolves_and_surveys_after_quiet_period(harness: Harness) -> None:
    await harness.say("how can I pay")
    assert "Did that" in harness.last_reply() or "help" in harness.last_reply().lower()
    outcome = await harness.say("yes")
    conversation = await harness.conversation(outcome.conversation_id)  # type: ignore[arg-type]
    assert conversation.status == "resolved"
    assert conversation.resolution == "bot_confirmed"
    survey = await _survey(harness, conversation.id)
    assert survey.status == SurveyStatus.SCHEDULED
    await harness.later(minutes=9)
    assert (await _survey(harness, conversation.id)).status == SurveyStatus.SCHEDULED
    await harness.later(minutes=2)
    survey = await _survey(harness, conversation.id)
    assert survey.status == SurveyStatus.SENT
    assert harness.customer_out.kinds()[-1] == "customer.survey"
    await harness.act(CustomerChoice(harness.customer(), f"csat:{survey.id}:5", "tap-1"))
    survey = await _survey(harness, conversation.id)
    assert survey.status == SurveyStatus.ANSWERED and survey.score == 5


async def test_confirm_button_resolves(harness: Harness) -> None:
    outcome = await harness.say("how can I pay")
    await harness.act(CustomerChoice(harness.customer(), "confirm:yes", "b1"))
    conversation = await harness.conversation(outcome.conversation_id)  # type: ignore[arg-type]
    assert conversation.resolution == "bot_confirmed"


async def test_asks_for_order_number_first_then_answers(harness: Harness) -> None:
    await harness.say("where is my order")
    assert "order number" in harness.last_reply()
    await harness.say("it is 48213")
    assert "48213" in harness.customer_out.texts()[-1]


async def test_full_handoff_claim_reply_resolve(harness: Harness) -> None:
    outcome = await harness.say("human")
    cid = outcome.conversation_id
    assert cid is not None and outcome.status == "waiting_for_staff"
    assert harness.staff_out.kinds() == ["staff.handoff"]
    card = harness.staff_out.deliveries[0].payload
    assert card["reason"] == "customer_request" and card["customer"]["name"] == "Ann Example"

    await harness.act(StaffClaim(cid, harness.agent, "c1"))
    assert (await harness.conversation(cid)).status == "with_staff"
    assert "Ana from our team has joined" in harness.last_reply()

    await harness.say("my parcel is lost")  # relayed, the bot stays quiet
    assert harness.staff_out.kinds()[-1] == "staff.customer_message"
    assert harness.staff_out.deliveries[-1].payload["text"] == "my parcel is lost"
    assert "joined" in harness.last_reply()  # no bot answer to the relayed message

    await harness.act(StaffReply(cid, harness.agent, "I'll check it now"))
    assert harness.last_reply() == "Ana: I'll check it now"
    await harness.act(StaffReply(cid, harness.agent, "looks like fraud", internal=True))
    assert "fraud" not in " ".join(harness.replies())

    await harness.act(StaffResolve(cid, harness.agent, "r1"))
    conversation = await harness.conversation(cid)
    assert conversation.status == "resolved" and conversation.resolution == "human"
    handoff = await _handoff(harness, cid)
    assert handoff.status == HandoffStatus.RESOLVED
    assert handoff.claimed_at is not None and handoff.first_human_reply_at is not None
    assert harness.staff_out.kinds()[-1] == "staff.handoff_update"
    assert (await _survey(harness, cid)).agent_id == handoff.agent_id


async def test_second_claim_is_refused_with_the_owners_name(harness: Harness) -> None:
    cid = (await harness.say("human")).conversation_id
    assert cid is not None
    await harness.act(StaffClaim(cid, harness.agent))
    bob = StaffRef("console", "U-bob", "Bob Builder")
    outcome = await harness.act(StaffClaim(cid, bob))
    assert outcome.notice and "Ana Agent already has" in outcome.notice
    outcome = await harness.act(StaffResolve(cid, bob))
    assert outcome.notice and "Only Ana Agent" in outcome.notice
    assert (await harness.conversation(cid)).status == "with_staff"


async def test_owner_can_unclaim_and_transfer(harness: Harness) -> None:
    cid = (await harness.say("human")).conversation_id
    assert cid is not None
    await harness.act(StaffClaim(cid, harness.agent))
    await harness.act(StaffUnclaim(cid, harness.agent))
    assert (await harness.conversation(cid)).status == "waiting_for_staff"
    await harness.act(StaffClaim(cid, harness.agent))
    bob = StaffRef("console", "U-bob", "Bob Builder")
    await harness.act(StaffTransfer(cid, harness.agent, bob))
    assert "Bob from our team has joined" in harness.last_reply()
    outcome = await harness.act(StaffResolve(cid, bob))
    assert outcome.status == "resolved"


async def test_release_back_to_bot(harness: Harness) -> None:
    cid = (await harness.say("human")).conversation_id
    assert cid is not None
    await harness.act(StaffClaim(cid, harness.agent))
    await harness.act(StaffRelease(cid, harness.agent))
    assert (await harness.conversation(cid)).status == "bot"
    assert "handed you back" in harness.last_reply()
    await harness.say("how can I pay")  # the bot answers again
    assert "Did that" in harness.last_reply() or "help" in harness.last_reply().lower()


async def test_customer_cancels_a_handoff(harness: Harness) -> None:
    cid = (await harness.say("human")).conversation_id
    await harness.act(CustomerCommand(harness.customer(), "cancel", "u9"))
    assert (await harness.conversation(cid)).status == "bot"  # type: ignore[arg-type]
    assert (await _handoff(harness, cid)).status == HandoffStatus.CANCELLED  # type: ignore[arg-type]
    assert "cancelled" in harness.last_reply()
    assert harness.staff_out.kinds()[-2:] == ["staff.notice", "staff.handoff_update"]


async def test_inactivity_closes_an_answered_conversation_as_bot_assumed(harness: Harness) -> None:
    cid = (await harness.say("how can I pay")).conversation_id
    await harness.later(hours=23)
    assert (await harness.conversation(cid)).status == "bot"  # type: ignore[arg-type]
    await harness.later(hours=1, minutes=1)
    conversation = await harness.conversation(cid)  # type: ignore[arg-type]
    assert conversation.status == "closed_inactive"
    assert conversation.resolution == "bot_assumed"
    assert await _survey(harness, cid) is None  # type: ignore[arg-type]


async def test_inactivity_while_waiting_for_staff_is_abandoned(harness: Harness) -> None:
    cid = (await harness.say("human")).conversation_id
    await harness.later(hours=25)
    conversation = await harness.conversation(cid)  # type: ignore[arg-type]
    assert conversation.status == "closed_inactive" and conversation.resolution == "abandoned"
    assert (await _handoff(harness, cid)).status == HandoffStatus.CLOSED  # type: ignore[arg-type]


async def test_new_message_activity_postpones_the_inactivity_close(harness: Harness) -> None:
    cid = (await harness.say("hi")).conversation_id
    await harness.later(hours=20)
    await harness.say("how can I pay")
    await harness.later(hours=20)
    assert (await harness.conversation(cid)).status == "bot"  # type: ignore[arg-type]


async def test_message_after_closing_opens_a_new_linked_conversation(harness: Harness) -> None:
    first = (await harness.say("how can I pay")).conversation_id
    await harness.later(hours=25)
    second = (await harness.say("hi")).conversation_id
    assert second != first
    conversation = await harness.conversation(second)  # type: ignore[arg-type]
    assert conversation.previous_id == first
    assert "Welcome back" in harness.last_reply()
    assert "payment methods" in harness.last_reply()


async def test_reopen_during_quiet_period_cancels_the_survey(harness: Harness) -> None:
    cid = (await harness.say("how can I pay")).conversation_id
    await harness.say("yes")
    await harness.later(minutes=3)
    again = await harness.say("do you ship abroad")
    assert again.conversation_id == cid and again.status == "bot"
    survey = await _survey(harness, cid)  # type: ignore[arg-type]
    assert survey.status == SurveyStatus.CANCELLED
    await harness.later(minutes=20)
    assert "customer.survey" not in harness.customer_out.kinds()
    await harness.say("thanks")  # resolved again: the survey is scheduled once more
    await harness.later(minutes=11)
    assert harness.customer_out.kinds().count("customer.survey") == 1
    assert (await harness.conversation(cid)).reopened_count == 1  # type: ignore[arg-type]


async def test_long_intent_names_can_wait_for_an_order_number(harness: Harness) -> None:
    """Regression: the pending intent used to be squeezed into a 32-character column."""
    await harness.say("where is my order")
    conversation = await harness.conversation(1)
    assert conversation.awaiting == "entity"
    assert conversation.context["pending_intent"] == "order_status"
