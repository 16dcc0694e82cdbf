"""Every handoff trigger of PRODUCT.md §4, each with its reason code."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.core.events import CustomerChoice, CustomerCommand, StaffClaim, StaffReply
from storage.db import Database
from storage.models import Customer
from tests.helpers import FakeClock, Harness, build_harness
from tests.scripted import ScriptedUnderstander


async def _reason(h: Harness, conversation_id: int | None) -> str | None:
    assert conversation_id is not None
    conversation = await h.conversation(conversation_id)
    return conversation.handoff_reason if conversation.status == "waiting_for_staff" else None


async def test_explicit_request_by_text(harness: Harness) -> None:
    outcome = await harness.say("human")
    assert await _reason(harness, outcome.conversation_id) == "customer_request"
    assert "passing you to a person" in harness.last_reply()


async def test_explicit_request_by_command_skips_any_retention(harness: Harness) -> None:
    outcome = await harness.act(CustomerCommand(harness.customer(), "human", "u1"))
    assert await _reason(harness, outcome.conversation_id) == "customer_request"


async def test_not_understood_rephrase_then_offer_then_handoff(harness: Harness) -> None:
    await harness.say("blorp")
    assert "another way" in harness.last_reply() or "rephrase" in harness.last_reply()
    assert harness.customer_out.deliveries[-1].payload["buttons"] == []
    await harness.say("zzzk")
    labels = [
        b["label"] for row in harness.customer_out.deliveries[-1].payload["buttons"] for b in row
    ]
    assert "Talk to a person" in labels
    outcome = await harness.say("qwerty")
    assert await _reason(harness, outcome.conversation_id) == "not_understood"


async def test_understood_turn_resets_the_failure_count(harness: Harness) -> None:
    await harness.say("blorp")
    await harness.say("zzzk")
    await harness.say("how can I pay")
    outcome = await harness.say("qwerty")
    assert outcome.status == "bot"


async def test_two_negative_messages_offer_a_person_then_accept(harness: Harness) -> None:
    await harness.say("how can I pay !sad")
    outcome = await harness.say("this still does not work !sad")
    assert outcome.status == "bot"
    assert "Would you like a person" in harness.last_reply()
    outcome = await harness.act(CustomerChoice(harness.customer(), "human", "b1"))
    assert await _reason(harness, outcome.conversation_id) == "negative_mood"


async def test_one_message_with_profanity_offers_a_person_and_yes_accepts(harness: Harness) -> None:
    await harness.say("where is my stuff !angry")
    assert "Would you like a person" in harness.last_reply()
    outcome = await harness.say("yes")
    assert await _reason(harness, outcome.conversation_id) == "negative_mood"


async def test_declining_the_offer_keeps_the_bot(harness: Harness) -> None:
    await harness.say("blah !angry")
    outcome = await harness.say("no")
    assert outcome.status == "bot" and "keep going" in harness.last_reply()


async def test_sensitive_intent_always_goes_to_a_person(harness: Harness) -> None:
    outcome = await harness.say("you charged me twice")
    assert await _reason(harness, outcome.conversation_id) == "sensitive_intent"
    assert "double charge" in harness.last_reply()


async def test_vip_gets_a_person_on_any_trigger(harness: Harness) -> None:
    await harness.say("hi")

    async def tag(uow):  # type: ignore[no-untyped-def]
        customer = await uow.customers.find("console", "42")
        customer.tags = ["vip"]
        await uow.commit()

    await harness.query(tag)
    outcome = await harness.say("where is everything !angry")
    assert await _reason(harness, outcome.conversation_id) == "vip"
    assert harness.staff_out.deliveries[-1].payload["priority"] is True


async def test_long_conversation_offers_a_person(harness: Harness) -> None:
    for turn in range(8):  # eight questions, none confirmed as solved
        await harness.say("do you ship abroad" if turn % 2 else "how can I pay")
    assert "We've been at this for a while" not in " ".join(harness.replies())
    await harness.say("do you ship abroad")
    assert "We've been at this for a while" in harness.last_reply()
    outcome = await harness.say("yes")
    assert await _reason(harness, outcome.conversation_id) == "long_conversation"


async def test_low_csat_opens_a_followup_handoff(harness: Harness) -> None:
    cid = (await harness.say("how can I pay")).conversation_id
    await harness.say("yes")
    await harness.later(minutes=11)
    survey = await harness.query(lambda uow: uow.surveys.for_conversation(cid))
    outcome = await harness.act(CustomerChoice(harness.customer(), f"csat:{survey.id}:1", "t1"))
    assert outcome.conversation_id != cid
    assert await _reason(harness, outcome.conversation_id) == "low_csat_followup"
    card = harness.staff_out.deliveries[-1].payload
    assert card["reason"] == "low_csat_followup"
    await harness.say("Nobody told me the fees")  # the optional comment
    survey = await harness.query(lambda uow: uow.surveys.for_conversation(cid))
    assert survey.comment == "Nobody told me the fees"
    assert any("Nobody told me the fees" in t for t in harness.staff_out.texts("staff.notice"))


async def test_outside_office_hours_says_when_people_are_back(
    database: Database, understander: ScriptedUnderstander, clock: FakeClock
) -> None:
    clock.now = datetime(2026, 3, 7, 12, 0, tzinfo=UTC)  # a Saturday
    h = build_harness(
        database, ScriptedUnderstander(understander), clock, office_hours="Mon-Fri 09:00-17:00"
    )
    await h.say("human")
    assert "back on Monday at 09:00" in h.last_reply()


async def test_expected_wait_uses_the_median_first_response(harness: Harness) -> None:
    for number in range(5):
        who = harness.customer(name=f"C{number}", external_id=f"c{number}")
        cid = (await harness.say("human", who=who)).conversation_id
        assert cid is not None
        await harness.later(minutes=4 + number)  # 4..8 minutes: median 6
        await harness.act(StaffClaim(cid, harness.agent))
        await harness.act(StaffReply(cid, harness.agent, "hello"))
    await harness.say("human", who=harness.customer(name="Zed", external_id="z"))
    assert "within about 6 minutes" in harness.last_reply()


async def test_unclaimed_handoff_reminds_staff_then_escalates(harness: Harness) -> None:
    cid = (await harness.say("human")).conversation_id
    await harness.later(minutes=16)
    notices = harness.staff_out.texts("staff.notice")
    assert len(notices) == 1 and "Reminder" in notices[0]
    await harness.later(minutes=16)
    notices = harness.staff_out.texts("staff.notice")
    assert len(notices) == 2 and "Still unclaimed" in notices[1]
    await harness.later(minutes=60)
    assert len(harness.staff_out.texts("staff.notice")) == 2  # escalates once, then stops
    assert cid is not None


async def test_claimed_handoff_gets_no_reminder(harness: Harness) -> None:
    cid = (await harness.say("human")).conversation_id
    assert cid is not None
    await harness.act(StaffClaim(cid, harness.agent))
    await harness.later(minutes=40)
    assert harness.staff_out.texts("staff.notice") == []


async def test_customer_model_is_vip_by_tag() -> None:
    assert Customer(tags=["vip"]).is_vip and not Customer(tags=[]).is_vip
