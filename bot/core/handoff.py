"""Handoff to staff and the sticky human mode (PRODUCT.md §4).

    bot ──trigger──► waiting_for_staff ──claim──► with_staff ──resolve──► resolved
     ▲                    │  ▲                        │
     └──cancel / release──┘  └──────── unclaim ───────┘   (release: back to the bot)

While a person owns the conversation the bot only sends system notices; the customer's
messages go to the staff thread and the staff's replies come back, labelled.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.core import csat
from bot.core.actions import STAFF_HANDOFF, STAFF_HANDOFF_UPDATE, STAFF_NOTICE
from bot.core.office_hours import expected_wait_minutes
from bot.core.turn import Turn
from storage.models import (
    Agent,
    AuthorKind,
    Conversation,
    ConversationStatus,
    Handoff,
    HandoffReason,
    HandoffStatus,
    Resolution,
)

TRANSCRIPT_LINES = 20


def sla_key(handoff: Handoff) -> str:
    """The timer that reminds staff of an unclaimed handoff."""
    return f"sla:{handoff.id}"


async def open_handoff(turn: Turn, reason: HandoffReason) -> Handoff:
    """Hand the conversation to staff: tell the customer, post the card, start the SLA."""
    conversation = turn.conversation
    assert conversation is not None
    existing = await turn.uow.handoffs.current(conversation.id)
    if existing is not None:
        turn.reply(turn.words("already_waiting"), author="system")
        return existing
    settings = turn.settings
    handoff = Handoff(
        conversation_id=conversation.id,
        reason=reason,
        status=HandoffStatus.WAITING,
        priority=turn.customer.is_vip,
        requested_at=turn.now,
    )
    turn.uow.handoffs.add(handoff)
    await turn.uow.session.flush()
    conversation.status = ConversationStatus.WAITING_FOR_STAFF
    conversation.handoff_reason = conversation.handoff_reason or reason
    conversation.awaiting = None
    conversation.offer_reason = None

    hours = turn.services.office_hours
    samples = await turn.uow.handoffs.first_response_minutes(turn.now - timedelta(days=7))
    intent = turn.services.understander.intent_info(conversation.primary_intent or "")
    turn.reply(
        turn.words(
            "handoff_started",
            reason=reason,
            topic=intent.title if intent else None,
            open_now=hours.is_open(turn.now),
            wait_minutes=expected_wait_minutes(samples, settings.expected_wait_min_samples),
            wait_sentence="A person will reply here as soon as possible.",
            opens_at=hours.describe_opening(turn.now),
        ),
        author="system",
    )
    turn.queue_staff(STAFF_HANDOFF, handoff, await build_card(turn, handoff))
    minutes = settings.vip_sla_minutes if handoff.priority else settings.sla_minutes
    due = max(turn.now, hours.next_opening(turn.now)) + timedelta(minutes=minutes)
    await turn.uow.jobs.schedule(
        sla_key(handoff), "sla_reminder", due, {"handoff_id": handoff.id, "minutes": minutes}
    )
    return handoff


async def build_card(turn: Turn, handoff: Handoff, **changes: Any) -> dict[str, Any]:
    """Everything staff need to help without asking the customer to repeat themselves."""
    conversation = await turn.uow.conversations.get(handoff.conversation_id)
    assert conversation is not None
    customer = turn.customer
    understander = turn.services.understander
    intent = understander.intent_info(conversation.primary_intent or "")
    transcript = await turn.uow.messages.transcript(conversation.id, limit=TRANSCRIPT_LINES)
    public = [m for m in transcript if not m.internal]
    customer_lines = [m for m in public if m.author_kind == AuthorKind.CUSTOMER]
    agent = await turn.uow.agents.get(handoff.agent_id)
    history = await turn.uow.conversations.history(customer.id, before=conversation.id)
    survey = await turn.uow.surveys.for_conversation(conversation.id)
    name = customer.display_name or customer.first_name or f"Customer {customer.id}"
    reason_text = turn.staff_words("reason", reason=handoff.reason)
    card: dict[str, Any] = {
        "conversation_id": conversation.id,
        "status": handoff.status,
        "reason": handoff.reason,
        "reason_text": reason_text,
        "priority": handoff.priority,
        "customer": {
            "id": customer.id,
            "name": name,
            "channel": customer.channel,
            "tags": list(customer.tags or []),
            "language": customer.language,
        },
        "intent": conversation.primary_intent,
        "intent_title": intent.title if intent else None,
        "mood": conversation.mood or "neutral",
        "summary": turn.staff_words(
            "summary",
            customer_name=name,
            topic=intent.title if intent else None,
            mood=conversation.mood,
            reason_text=reason_text,
            turns=len(customer_lines),
            last_text=(customer_lines[-1].text[:160] if customer_lines else None),
        ),
        "history": [
            {
                "conversation_id": past.id,
                "started_at": past.started_at.isoformat(),
                "intent": past.primary_intent,
                "resolution": past.resolution,
                "csat": score,
            }
            for past, score in history
        ],
        "transcript": [
            {"author": m.author_kind, "text": m.text, "at": m.created_at.isoformat()}
            for m in public
        ],
        "agent_name": agent.display_name if agent else None,
        "agent_id": agent.external_id if agent else None,
        "csat": survey.score if survey else None,
        "csat_comment": survey.comment if survey else None,
    }
    if handoff.reason == HandoffReason.LOW_CSAT_FOLLOWUP:
        card["followup_of"] = await _rated_conversation(turn, conversation, history)
    card.update(changes)
    return card


async def _rated_conversation(
    turn: Turn, conversation: Conversation, history: Any
) -> dict[str, Any] | None:
    """The badly rated conversation a service-recovery handoff follows up, with its rating."""
    rated_id = (conversation.context or {}).get("followup_of")
    if rated_id is None:  # the follow-up joined a conversation the customer already had open
        low = [past.id for past, score in history if score is not None and score <= 2]
        rated_id = low[0] if low else None
    if rated_id is None:
        return None
    survey = await turn.uow.surveys.for_conversation(int(rated_id))
    return {
        "conversation_id": int(rated_id),
        "score": survey.score if survey else None,
        "comment": survey.comment if survey else None,
    }


async def update_card(turn: Turn, handoff: Handoff, **changes: Any) -> None:
    """Refresh the staff card so the channel reads as a live queue."""
    turn.queue_staff(STAFF_HANDOFF_UPDATE, handoff, await build_card(turn, handoff, **changes))


def staff_notice(turn: Turn, handoff: Handoff, text: str, *, mention_group: bool = False) -> None:
    """A line in the handoff's thread, for staff only."""
    turn.queue_staff(STAFF_NOTICE, handoff, {"text": text, "mention_group": mention_group})


async def claim(turn: Turn, handoff: Handoff, agent: Agent, *, announce: bool = True) -> bool:
    """Give the conversation to ``agent``; False (with a notice) if a colleague has it."""
    conversation = turn.conversation
    assert conversation is not None
    if handoff.status == HandoffStatus.CLAIMED and handoff.agent_id not in (None, agent.id):
        owner = await turn.uow.agents.get(handoff.agent_id)
        turn.notice = turn.staff_words("already_claimed", owner=owner.display_name if owner else "")
        return False
    if handoff.status == HandoffStatus.CLAIMED:
        turn.notice = "You already have this conversation."
        return True
    handoff.status = HandoffStatus.CLAIMED
    handoff.agent_id = agent.id
    handoff.claimed_at = handoff.claimed_at or turn.now
    conversation.status = ConversationStatus.WITH_STAFF
    conversation.agent_id = agent.id
    await turn.uow.jobs.cancel(sla_key(handoff))
    if announce:
        turn.reply(turn.words("human_joined", agent_name=agent.first_name), author="system")
    await update_card(turn, handoff)
    return True


async def require_owner(turn: Turn, handoff: Handoff, agent: Agent) -> bool:
    """Only the owner acts on a claimed handoff; unclaimed ones are open to any staff."""
    if handoff.status != HandoffStatus.CLAIMED or handoff.agent_id in (None, agent.id):
        return True
    owner = await turn.uow.agents.get(handoff.agent_id)
    turn.notice = turn.staff_words("not_owner", owner=owner.display_name if owner else "")
    return False


async def relay_staff_reply(turn: Turn, handoff: Handoff, agent: Agent, text: str) -> None:
    """A staff member's reply reaches the customer, labelled with their first name."""
    if handoff.status == HandoffStatus.WAITING and not await claim(turn, handoff, agent):
        return
    if not await require_owner(turn, handoff, agent):
        return
    handoff.first_human_reply_at = handoff.first_human_reply_at or turn.now
    turn.reply(
        turn.words("agent_message", agent_name=agent.first_name, text=text),
        author="agent",
        agent=agent,
    )


async def resolve(turn: Turn, handoff: Handoff, agent: Agent) -> None:
    """Staff closed it: the conversation is resolved and the CSAT flow starts."""
    conversation = turn.conversation
    assert conversation is not None
    handoff.status = HandoffStatus.RESOLVED
    handoff.resolved_at = turn.now
    handoff.ended_at = turn.now
    handoff.agent_id = handoff.agent_id or agent.id
    conversation.agent_id = handoff.agent_id
    mark_resolved(turn, conversation, Resolution.HUMAN)
    await turn.uow.jobs.cancel(sla_key(handoff))
    turn.reply(turn.words("resolved_by_staff"), author="system")
    await csat.schedule_survey(turn, agent_id=handoff.agent_id)
    await update_card(turn, handoff)


def mark_resolved(turn: Turn, conversation: Conversation, resolution: Resolution) -> None:
    """Record a resolution; the first resolution time is kept when a reopened one ends."""
    conversation.status = ConversationStatus.RESOLVED
    conversation.resolution = resolution
    conversation.resolved_at = conversation.resolved_at or turn.now
    conversation.ended_at = turn.now
    conversation.awaiting = None
    conversation.offer_reason = None


async def release_to_bot(turn: Turn, handoff: Handoff, agent: Agent) -> None:
    """Staff hand the conversation back to the bot, which says so."""
    conversation = turn.conversation
    assert conversation is not None
    await _end_with_bot(turn, conversation, handoff, HandoffStatus.RELEASED)
    turn.reply(turn.words("back_to_bot", agent_name=agent.first_name), author="system")
    await update_card(turn, handoff)


async def unclaim(turn: Turn, handoff: Handoff) -> None:
    """The owner puts the conversation back in the queue."""
    conversation = turn.conversation
    assert conversation is not None
    handoff.status = HandoffStatus.WAITING
    handoff.agent_id = None
    conversation.status = ConversationStatus.WAITING_FOR_STAFF
    conversation.agent_id = None
    await turn.uow.jobs.schedule(
        sla_key(handoff),
        "sla_reminder",
        turn.now + timedelta(minutes=turn.settings.sla_minutes),
        {"handoff_id": handoff.id, "minutes": turn.settings.sla_minutes},
    )
    await update_card(turn, handoff)


async def transfer(turn: Turn, handoff: Handoff, to: Agent) -> None:
    """The owner passes the conversation to a colleague."""
    conversation = turn.conversation
    assert conversation is not None
    handoff.status = HandoffStatus.CLAIMED
    handoff.agent_id = to.id
    handoff.claimed_at = handoff.claimed_at or turn.now
    conversation.status = ConversationStatus.WITH_STAFF
    conversation.agent_id = to.id
    await turn.uow.jobs.cancel(sla_key(handoff))
    turn.reply(turn.words("human_joined", agent_name=to.first_name), author="system")
    await update_card(turn, handoff)


async def cancel_by_customer(turn: Turn) -> bool:
    """The customer no longer wants a person; False if nothing was waiting."""
    conversation = turn.conversation
    if conversation is None or not ConversationStatus(conversation.status).with_human:
        return False
    handoff = await turn.uow.handoffs.current(conversation.id)
    await _end_with_bot(turn, conversation, handoff, HandoffStatus.CANCELLED)
    if handoff is not None:
        staff_notice(turn, handoff, turn.staff_words("customer_cancelled"))
        await update_card(turn, handoff)
    turn.reply(turn.words("handoff_cancelled"), author="system")
    return True


async def _end_with_bot(
    turn: Turn, conversation: Conversation, handoff: Handoff | None, status: HandoffStatus
) -> None:
    """The bot has the conversation again, with a clean slate for its triggers."""
    conversation.status = ConversationStatus.BOT
    conversation.failed_turns = 0
    conversation.negative_streak = 0
    if handoff is not None:
        handoff.status = status
        handoff.ended_at = turn.now
        await turn.uow.jobs.cancel(sla_key(handoff))
