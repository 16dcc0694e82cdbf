"""What the bot does with each customer message while it owns the conversation.

The order of the checks is the policy (PRODUCT.md §4): an answer to the bot's own
question first, then an explicit request for a person, always-human topics, anger,
repeated failure and long conversations; only then an answer.
"""

from __future__ import annotations

from jinja2 import TemplateError

from bot.core import csat, handoff
from bot.core.actions import Button
from bot.core.turn import Turn
from intents.knowledge import KNOWLEDGE_MIN_SCORE
from intents.types import Behaviour, IntentInfo, Understanding
from storage.models import Conversation, HandoffReason, Resolution

CONFIRM_BUTTONS = [[Button("Yes, thanks", "confirm:yes"), Button("No", "confirm:no")]]
HUMAN_BUTTONS = [[Button("Talk to a person", "human"), Button("Keep chatting", "keep_bot")]]
MOOD_RANK = {"angry": 5, "frustrated": 4, "anxious": 3, "confused": 2, "neutral": 1, "positive": 0}


def track_mood(conversation: Conversation, mood: str, compound: float, threshold: float) -> None:
    """Extend the mood trajectory, the worst-mood summary and the negative streak."""
    conversation.moods = [*(conversation.moods or []), mood][-50:]
    if (
        MOOD_RANK.get(mood, 1) > MOOD_RANK.get(conversation.mood or "neutral", 1)
        or conversation.mood is None
    ):
        conversation.mood = mood
    if compound <= threshold:
        conversation.negative_streak += 1
    else:
        conversation.negative_streak = 0


async def respond(turn: Turn, understanding: Understanding) -> None:
    """Decide and queue the bot's answer to one understood message."""
    conversation = turn.conversation
    assert conversation is not None
    settings = turn.settings
    intent = understanding.intent or _expected_reply(turn, understanding)
    behaviour = intent.behaviour if intent else None
    if intent and behaviour not in _SMALL_TALK:
        conversation.last_intent = intent.name
        conversation.primary_intent = conversation.primary_intent or intent.name

    if conversation.offer_reason and behaviour == Behaviour.AFFIRM:
        await handoff.open_handoff(turn, HandoffReason(conversation.offer_reason))
        return
    if conversation.offer_reason and behaviour == Behaviour.DENY:
        conversation.offer_reason = None
        turn.reply(turn.words("keep_with_bot"))
        return
    conversation.offer_reason = None

    if conversation.awaiting == "confirm" and behaviour in (
        Behaviour.AFFIRM,
        Behaviour.THANK,
        Behaviour.BYE,
    ):
        await confirm_resolved(turn)
        return
    if conversation.awaiting == "confirm" and behaviour == Behaviour.DENY:
        conversation.awaiting = None
        await not_helped(turn)
        return
    if conversation.awaiting == "entity":
        pending_name = str((conversation.context or {}).get("pending_intent", ""))
        pending = turn.services.understander.intent_info(pending_name)
        conversation.awaiting = None
        if pending and _has_required(pending, understanding):
            await answer(turn, pending, understanding)
            return
    conversation.awaiting = None

    if behaviour == Behaviour.HUMAN:
        await handoff.open_handoff(turn, HandoffReason.CUSTOMER_REQUEST)
        return
    if behaviour == Behaviour.HANDOFF:
        await handoff.open_handoff(turn, HandoffReason.SENSITIVE_INTENT)
        return
    upset = (
        understanding.emotion.escalate or conversation.negative_streak >= settings.negative_streak
    )
    if upset and await offer_human(turn, HandoffReason.NEGATIVE_MOOD, understanding):
        return
    if conversation.customer_turns > settings.long_conversation_turns and not (
        conversation.context or {}
    ).get("offered_long"):
        conversation.context = {**(conversation.context or {}), "offered_long": True}
        if await offer_human(turn, HandoffReason.LONG_CONVERSATION, understanding):
            return

    if intent is None:
        if _knowledge_fits(understanding):
            await answer(turn, None, understanding)
        else:
            await not_understood(turn)
        return
    conversation.failed_turns = 0
    if behaviour == Behaviour.ANSWER:
        await answer(turn, intent, understanding)
    elif behaviour == Behaviour.GREET:
        turn.reply(turn.words("greeting"))
    elif behaviour in (Behaviour.THANK, Behaviour.BYE) and conversation.answered:
        await confirm_resolved(turn)
    elif behaviour == Behaviour.THANK:
        turn.reply(turn.words("thanks_reply"))
    elif behaviour == Behaviour.BYE:
        turn.reply(turn.words("bye_reply"))
    elif behaviour == Behaviour.IDENTITY:
        turn.reply(turn.words("identity"))
    else:  # affirm / deny with nothing to confirm
        turn.reply(turn.words("greeting"))


_SMALL_TALK = {
    Behaviour.HUMAN,
    Behaviour.GREET,
    Behaviour.THANK,
    Behaviour.BYE,
    Behaviour.AFFIRM,
    Behaviour.DENY,
    Behaviour.IDENTITY,
}


_REPLIES = {Behaviour.AFFIRM, Behaviour.DENY, Behaviour.THANK, Behaviour.BYE}
EXPECTED_REPLY_CONFIDENCE = 0.5


def _expected_reply(turn: Turn, understanding: Understanding) -> IntentInfo | None:
    """After the bot asked a yes/no question, a likely yes/no/thanks is accepted.

    The out-of-scope threshold is tuned for open questions; when the bot has just asked
    "did that help?" or offered a person, short answers are what we expect, so the top
    guess is taken if it is such an answer and reasonably likely.
    """
    conversation = turn.conversation
    if conversation is None or not (
        conversation.awaiting == "confirm" or conversation.offer_reason
    ):
        return None
    if not understanding.ranking:
        return None
    best = understanding.ranking[0]
    info = turn.services.understander.intent_info(best.name)
    if info and info.behaviour in _REPLIES and best.confidence >= EXPECTED_REPLY_CONFIDENCE:
        return info
    return None


def _has_required(intent: IntentInfo, understanding: Understanding) -> bool:
    kinds = {entity.kind for entity in understanding.entities}
    return all(kind in kinds for kind in intent.requires)


def _knowledge_fits(understanding: Understanding) -> bool:
    return (
        understanding.knowledge is not None
        and understanding.knowledge.score >= KNOWLEDGE_MIN_SCORE
        and not understanding.out_of_scope
    )


async def answer(turn: Turn, intent: IntentInfo | None, understanding: Understanding) -> None:
    """Answer from the knowledge base, asking for a missing order number first."""
    conversation = turn.conversation
    assert conversation is not None
    if intent is not None and not _has_required(intent, understanding):
        missing = next(
            k for k in intent.requires if k not in {e.kind for e in understanding.entities}
        )
        conversation.awaiting = "entity"  # the intent waits in the context (names can be long)
        conversation.context = {**(conversation.context or {}), "pending_intent": intent.name}
        turn.reply(turn.words("ask_entity", entity=missing))
        return
    source = None
    if intent is not None and intent.answer_id:
        source = turn.services.understander.knowledge_entry(intent.answer_id)
    fits = intent is not None or _knowledge_fits(understanding)
    if source is None and understanding.knowledge is not None and fits:
        source = understanding.knowledge.answer
    if source is None:
        await not_understood(turn)
        return
    values = {entity.kind: entity.value for entity in understanding.entities}
    values.setdefault("first_name", turn.customer.first_name or "")
    try:
        text = turn.services.renderer.render_string(source, **values)
    except TemplateError:
        text = source
    apologised = bool((conversation.context or {}).get("apologised"))
    body = turn.words(
        "answer",
        answer=text,
        apologise=bool(intent and intent.apologise),
        apologised=apologised,
        topic=intent.title if intent else "this",
    )
    if intent and intent.apologise:
        conversation.context = {**(conversation.context or {}), "apologised": True}
    conversation.answered = True
    conversation.awaiting = "confirm"
    conversation.failed_turns = 0
    turn.reply(f"{body}\n\n{turn.words('did_that_help')}", buttons=CONFIRM_BUTTONS)


async def confirm_resolved(turn: Turn) -> None:
    """The customer says the answer helped: a confirmed bot resolution."""
    conversation = turn.conversation
    assert conversation is not None
    handoff.mark_resolved(turn, conversation, Resolution.BOT_CONFIRMED)
    turn.reply(turn.words("glad_to_help"))
    await csat.schedule_survey(turn, agent_id=None)


async def not_helped(turn: Turn) -> None:
    """The answer did not help: count a failure and offer a person."""
    conversation = turn.conversation
    assert conversation is not None
    conversation.failed_turns += 1
    if conversation.failed_turns >= turn.settings.failed_turns_before_handoff:
        await handoff.open_handoff(turn, _vip_or(turn, HandoffReason.NOT_UNDERSTOOD))
        return
    conversation.offer_reason = HandoffReason.NOT_UNDERSTOOD
    turn.reply(turn.words("not_helped"), buttons=HUMAN_BUTTONS)


async def not_understood(turn: Turn) -> None:
    """1st miss: rephrase; 2nd: rephrase or a person; 3rd: hand off (PRODUCT.md §4.2)."""
    conversation = turn.conversation
    assert conversation is not None
    conversation.failed_turns += 1
    limit = turn.settings.failed_turns_before_handoff
    if conversation.failed_turns >= limit:
        await handoff.open_handoff(turn, HandoffReason.NOT_UNDERSTOOD)
    elif conversation.failed_turns == limit - 1:
        if turn.customer.is_vip:
            await handoff.open_handoff(turn, HandoffReason.VIP)
            return
        conversation.offer_reason = HandoffReason.NOT_UNDERSTOOD
        turn.reply(turn.words("rephrase_offer_human"), buttons=HUMAN_BUTTONS)
    else:
        turn.reply(turn.words("rephrase"))


def _vip_or(turn: Turn, reason: HandoffReason) -> HandoffReason:
    return HandoffReason.VIP if turn.customer.is_vip else reason


async def offer_human(turn: Turn, reason: HandoffReason, understanding: Understanding) -> bool:
    """Offer a person (VIPs get one at once) instead of more bot answers."""
    conversation = turn.conversation
    assert conversation is not None
    if turn.customer.is_vip:
        await handoff.open_handoff(turn, HandoffReason.VIP)
        return True
    intent = understanding.intent
    conversation.offer_reason = reason
    topic = intent.title if intent and intent.behaviour == Behaviour.ANSWER else None
    turn.reply(turn.words("offer_human", reason=reason, topic=topic), buttons=HUMAN_BUTTONS)
    return True
