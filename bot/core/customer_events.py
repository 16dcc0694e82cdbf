"""Route one customer event: find or open the conversation, then text, command or button.

Bad input never raises: empty text, huge text, control characters and markup all get a
kind answer and are stored safely (cleaned and masked).
"""

from __future__ import annotations

import logging

from bot.core import csat, customer_flow, handoff
from bot.core.actions import CUSTOMER_DELETE, STAFF_CUSTOMER_MESSAGE
from bot.core.events import (
    CustomerAttachment,
    CustomerChoice,
    CustomerCommand,
    CustomerEvent,
    CustomerMessage,
)
from bot.core.privacy import clean_text, mask_personal_data
from bot.core.turn import Turn
from storage.models import (
    Conversation,
    ConversationStatus,
    Handoff,
    HandoffReason,
    HandoffStatus,
    Resolution,
)

log = logging.getLogger(__name__)
ATTACHMENT_WORDS = {
    "sticker": "a sticker",
    "photo": "a photo",
    "voice": "a voice message",
    "audio": "an audio file",
    "video": "a video",
    "document": "a document",
    "location": "a location",
    "contact": "a contact",
    "other": "an attachment",
}


async def handle_customer_event(turn: Turn, event: CustomerEvent) -> bool:
    """Handle the event inside ``turn``; returns True if it turned out to be a duplicate."""
    if isinstance(event, CustomerMessage):
        return await _on_text(turn, event)
    if isinstance(event, CustomerCommand):
        await _on_command(turn, event)
    elif isinstance(event, CustomerChoice):
        await _on_choice(turn, event)
    elif isinstance(event, CustomerAttachment):
        await _on_attachment(turn, event)
    return False


async def current_conversation(turn: Turn, *, create: bool = True) -> Conversation | None:
    """The open conversation; reopens one whose survey is still pending, or starts one."""
    uow, customer = turn.uow, turn.customer
    conversation = await uow.conversations.open_for(customer.id)
    if conversation is None:
        pending = await uow.surveys.pending_for(customer.id)
        if pending is not None:
            conversation = await uow.conversations.get(pending.conversation_id)
            if conversation is not None and conversation.status == ConversationStatus.RESOLVED:
                await _reopen(turn, conversation)
                await csat.cancel_pending(turn, pending)
    if conversation is None and create:
        latest = await uow.conversations.latest_for(customer.id)
        conversation = Conversation(
            customer_id=customer.id,
            channel=customer.channel,
            status=ConversationStatus.BOT,
            started_at=turn.now,
            last_activity_at=turn.now,
            previous_id=latest.id if latest else None,
            moods=[],
            context={},
        )
        uow.conversations.add(conversation)
        await uow.session.flush()
    turn.conversation = conversation
    if conversation is not None and not conversation.introduced:
        turn.introduce(await _introduction(turn))
    return conversation


async def _introduction(turn: Turn) -> str:
    conversation = turn.conversation
    assert conversation is not None
    if conversation.previous_id is None:
        return turn.words("intro")
    previous = await turn.uow.conversations.get(conversation.previous_id)
    info = (
        turn.services.understander.intent_info(previous.primary_intent or "") if previous else None
    )
    return turn.words("welcome_back", last_topic=info.title if info else None)


async def _reopen(turn: Turn, conversation: Conversation) -> None:
    """A message arrived during the survey's quiet period: the same touchpoint goes on."""
    conversation.reopened_count += 1
    conversation.ended_at = None
    if conversation.resolution == Resolution.HUMAN:
        latest = await turn.uow.handoffs.latest(conversation.id)
        conversation.status = ConversationStatus.WITH_STAFF
        conversation.resolution = None
        if latest is not None:
            latest.status = HandoffStatus.CLAIMED
            latest.ended_at = None
            turn.conversation = conversation
            handoff.staff_notice(turn, latest, turn.staff_words("customer_returned"))
            await handoff.update_card(turn, latest)
    else:
        conversation.status = ConversationStatus.BOT
        conversation.resolution = None


async def _on_text(turn: Turn, event: CustomerMessage) -> bool:
    settings = turn.settings
    text, was_cut = clean_text(event.text)
    masked = mask_personal_data(text, settings.mask_pii)
    survey = None
    if (turn.customer.extra or {}).get(csat.AWAITING_COMMENT):
        survey = await turn.uow.surveys.awaiting_comment(turn.customer.id)
        if survey is None or not csat.is_open(turn, survey):
            csat.clear_comment_flag(turn)
            survey = None
    if survey is not None and text:
        turn.conversation = await turn.uow.conversations.get(survey.conversation_id)
        csat.take_comment(turn, survey, masked.text)
        await _tell_staff_about_comment(turn, survey.conversation_id)
        return False
    conversation = await current_conversation(turn)
    assert conversation is not None
    known = bool(
        event.platform_message_id
        # A delivery id is deduplicated by the inbox; edits refer to a message we may know.
        and (event.edited or not event.delivery_id)
        and await turn.uow.messages.seen_platform_id(
            turn.customer.channel, event.platform_message_id
        )
    )
    if known and not event.edited:
        return True
    if known:  # a correction: the bot does not answer twice; a person helping sees it
        await _relay_edit(turn, masked.text)
        return False
    if not text:
        turn.reply(turn.words("empty_message"))
        return False
    message_id = None if event.edited else event.platform_message_id
    status = ConversationStatus(conversation.status)
    if masked.had_card:
        _warn_about_card(turn, event)
    if status.with_human:
        mood = turn.services.understander.mood(masked.text, turn.customer.language)
        customer_flow.track_mood(conversation, mood.mood, mood.compound, settings.negative_compound)
        turn.record_inbound(
            masked.text,
            platform_message_id=message_id,
            mood=mood.mood,
            sentiment=mood.compound,
        )
        await _relay_to_staff(turn, masked.text)
        return False
    understanding = await turn.understand(masked.text)
    emotion = understanding.emotion
    turn.record_inbound(
        masked.text,
        platform_message_id=message_id,
        intent=understanding.intent.name if understanding.intent else None,
        confidence=understanding.confidence,
        mood=emotion.mood,
        sentiment=emotion.compound,
    )
    conversation.customer_turns += 1
    customer_flow.track_mood(
        conversation, emotion.mood, emotion.compound, settings.negative_compound
    )
    if was_cut:
        turn.reply(turn.words("too_long"))
    await customer_flow.respond(turn, understanding)
    return False


async def _relay_edit(turn: Turn, text: str) -> None:
    conversation = turn.conversation
    if conversation is None or not ConversationStatus(conversation.status).with_human or not text:
        return
    turn.record_inbound(f"(edited) {text}")
    await _relay_to_staff(turn, f"(edited) {text}")


async def _relay_to_staff(turn: Turn, text: str) -> None:
    """While a person helps, the customer's words go to the handoff's thread."""
    assert turn.conversation is not None
    current = await turn.uow.handoffs.current(turn.conversation.id)
    if current is not None:
        name = turn.customer.first_name or turn.customer.display_name or "Customer"
        turn.queue_staff(STAFF_CUSTOMER_MESSAGE, current, {"text": text, "customer_name": name})


def _warn_about_card(turn: Turn, event: CustomerMessage) -> None:
    can_delete = (
        turn.settings.delete_card_messages
        and event.platform_message_id is not None
        and turn.customer.channel in turn.services.can_delete_messages
    )
    if can_delete:
        turn.queue_customer(CUSTOMER_DELETE, {"platform_message_id": event.platform_message_id})
    turn.reply(turn.words("card_removed", deleted=can_delete), author="system")


async def _tell_staff_about_comment(turn: Turn, conversation_id: int) -> None:
    survey = await turn.uow.surveys.for_conversation(conversation_id)
    for conversation_handoff in await _handoffs_to_update(turn, conversation_id):
        handoff.staff_notice(
            turn,
            conversation_handoff,
            turn.staff_words(
                "csat_received",
                score=survey.score if survey else "?",
                comment=survey.comment if survey else None,
            ),
        )
        await handoff.update_card(turn, conversation_handoff)


async def _handoffs_to_update(turn: Turn, conversation_id: int) -> list[Handoff]:
    """The resolved conversation's own card, and the follow-up card opened for its rating."""
    found: list[Handoff] = []
    own = await turn.uow.handoffs.latest(conversation_id)
    if own is not None:
        found.append(own)
    follow_up_id = (turn.customer.extra or {}).get("followup_handoff")
    if follow_up_id:
        follow_up = await turn.uow.handoffs.get(int(follow_up_id))
        if follow_up is not None and follow_up not in found:
            found.append(follow_up)
    return found


async def _on_command(turn: Turn, event: CustomerCommand) -> None:
    conversation = await current_conversation(turn)
    assert conversation is not None
    status = ConversationStatus(conversation.status)
    if event.command == "start":
        if not turn._pending_intro:
            turn.introduce(await _introduction(turn))
        turn.reply(turn.words("greeting"))
    elif event.command == "help":
        turn.reply(turn.words("help"))
    elif event.command == "human":
        turn.record_inbound("/human")
        if status.with_human:
            turn.reply(turn.words("already_waiting"), author="system")
        else:
            conversation.customer_turns += 1
            await handoff.open_handoff(turn, HandoffReason.CUSTOMER_REQUEST)
    elif event.command == "cancel":
        turn.record_inbound("/cancel")
        if not await handoff.cancel_by_customer(turn):
            turn.reply(turn.words("nothing_to_cancel"))


async def _on_attachment(turn: Turn, event: CustomerAttachment) -> None:
    conversation = await current_conversation(turn)
    assert conversation is not None
    kind_text = ATTACHMENT_WORDS.get(event.kind, "an attachment")
    caption = mask_personal_data(clean_text(event.caption or "")[0], turn.settings.mask_pii).text
    turn.record_inbound(
        f"[{event.kind}]" + (f" {caption}" if caption else ""),
        platform_message_id=event.platform_message_id,
    )
    with_staff = ConversationStatus(conversation.status).with_human
    if with_staff:
        current = await turn.uow.handoffs.current(conversation.id)
        if current is not None:
            handoff.staff_notice(
                turn, current, turn.staff_words("attachment", kind_text=kind_text, caption=caption)
            )
    turn.reply(
        turn.words("attachment", kind_text=kind_text, with_staff=with_staff), author="system"
    )


async def _on_choice(turn: Turn, event: CustomerChoice) -> None:
    data = event.data.strip()
    if data.startswith("csat:"):
        await _on_survey_tap(turn, data, event.platform_message_id)
        return
    conversation = await current_conversation(turn, create=False)
    if conversation is None or not ConversationStatus(conversation.status).is_open:
        turn.notice = turn.words("survey_invalid")
        return
    if data == "cancel":
        if not await handoff.cancel_by_customer(turn):
            turn.notice = turn.words("nothing_to_cancel")
        return
    if ConversationStatus(conversation.status).with_human:
        turn.notice = turn.words("already_waiting")
        return
    if data == "human":
        turn.record_inbound("[Talk to a person]")
        reason = conversation.offer_reason or HandoffReason.CUSTOMER_REQUEST
        await handoff.open_handoff(turn, HandoffReason(reason))
    elif data == "keep_bot" and conversation.offer_reason:
        conversation.offer_reason = None
        turn.reply(turn.words("keep_with_bot"))
    elif data in ("confirm:yes", "confirm:no") and conversation.awaiting == "confirm":
        turn.record_inbound("[Yes]" if data == "confirm:yes" else "[No]")
        if data == "confirm:yes":
            await customer_flow.confirm_resolved(turn)
        else:
            conversation.awaiting = None
            await customer_flow.not_helped(turn)
    else:
        turn.notice = turn.words("survey_invalid")


async def _on_survey_tap(turn: Turn, data: str, platform_message_id: str | None) -> None:
    parts = data.split(":")
    valid = len(parts) == 3 and parts[1].isdigit() and parts[2] in {"1", "2", "3", "4", "5"}
    survey = await turn.uow.surveys.get(int(parts[1])) if valid else None
    if survey is None or survey.customer_id != turn.customer.id:
        turn.notice = turn.words("survey_invalid")
        log.warning("refused survey button %r from customer %s", data[:64], turn.customer.id)
        return
    turn.conversation = await turn.uow.conversations.get(survey.conversation_id)
    if not csat.is_open(turn, survey):
        turn.notice = turn.words("survey_closed")
        return
    score = int(parts[2])
    first_low = await csat.answer(turn, survey, score, platform_message_id)
    turn.notice = f"Thanks! You rated {score}/5."
    for card in await _handoffs_to_update(turn, survey.conversation_id):
        await handoff.update_card(turn, card)
    if first_low:
        await _open_followup(turn, survey.conversation_id)


async def _open_followup(turn: Turn, rated_conversation_id: int) -> None:
    """A score of 1–2: a person follows up, in the open conversation or a new one."""
    rated = turn.conversation
    conversation = await turn.uow.conversations.open_for(turn.customer.id)
    if conversation is None:
        conversation = Conversation(
            customer_id=turn.customer.id,
            channel=turn.customer.channel,
            status=ConversationStatus.BOT,
            started_at=turn.now,
            last_activity_at=turn.now,
            previous_id=rated_conversation_id,
            primary_intent=rated.primary_intent if rated else None,
            introduced=True,
            moods=[],
            context={"followup_of": rated_conversation_id},
        )
        turn.uow.conversations.add(conversation)
        await turn.uow.session.flush()
    turn.conversation = conversation
    opened = await handoff.open_handoff(turn, HandoffReason.LOW_CSAT_FOLLOWUP)
    turn.customer.extra = {**(turn.customer.extra or {}), "followup_handoff": opened.id}
