"""The CSAT survey and its rules (PRODUCT.md §1).

One survey per conversation, sent after a quiet period once the conversation is resolved;
at most one per customer per throttle period; cancelled if the conversation reopens
before it is sent; open for a few days, the last answer winning; a score of 1–2 asks what
went wrong and opens a follow-up handoff for a person.
"""

from __future__ import annotations

from datetime import timedelta

from bot.core.actions import CUSTOMER_EDIT, CUSTOMER_SURVEY, Button
from bot.core.turn import Turn
from storage.models import (
    Conversation,
    ConversationStatus,
    Survey,
    SurveyStatus,
)

LOW_SCORE = 2
AWAITING_COMMENT = "awaiting_comment"  # flag on Customer.extra: the next text is a comment
SCORE_LABELS = {1: "1 😞", 2: "2", 3: "3", 4: "4", 5: "5 😊"}


def send_key(conversation_id: int) -> str:
    """The timer that sends a conversation's survey."""
    return f"survey_send:{conversation_id}"


def expire_key(survey_id: int) -> str:
    """The timer that closes a survey."""
    return f"survey_expire:{survey_id}"


def survey_buttons(survey_id: int, chosen: int | None = None) -> list[list[Button]]:
    """One row of five buttons; the chosen score is marked while the survey is open."""
    return [
        [
            Button(f"✓ {n}" if n == chosen else SCORE_LABELS[n], f"csat:{survey_id}:{n}")
            for n in range(1, 6)
        ]
    ]


def worth_surveying(conversation: Conversation) -> bool:
    """Greeting-only or spam conversations are not surveyed."""
    return bool(conversation.answered or conversation.handoff_reason)


async def schedule_survey(turn: Turn, *, agent_id: int | None) -> Survey | None:
    """Schedule the survey for a just-resolved conversation, if the rules allow one."""
    conversation = turn.conversation
    assert conversation is not None
    settings = turn.settings
    survey = await turn.uow.surveys.for_conversation(conversation.id)
    if survey is not None and survey.status in (SurveyStatus.ANSWERED, SurveyStatus.SENT):
        return None  # one survey per conversation; a rating is never replaced by a reopen
    if not worth_surveying(conversation):
        return None
    last_sent = await turn.uow.surveys.last_sent_at(turn.customer.id)
    if last_sent and turn.now - last_sent < timedelta(days=settings.survey_throttle_days):
        return None
    due = turn.now + timedelta(minutes=settings.survey_delay_minutes)
    if survey is None:
        survey = Survey(
            conversation_id=conversation.id,
            customer_id=turn.customer.id,
            created_at=turn.now,
            status=SurveyStatus.SCHEDULED,
            scheduled_for=due,
            agent_id=agent_id,
        )
        await turn.uow.surveys.insert(survey)
    else:
        survey.status = SurveyStatus.SCHEDULED
        survey.scheduled_for = due
        survey.agent_id = agent_id
    await turn.uow.jobs.schedule(
        send_key(conversation.id), "survey_send", due, {"survey_id": survey.id}
    )
    return survey


async def cancel_pending(turn: Turn, survey: Survey) -> None:
    """The conversation reopened before the survey went out."""
    survey.status = SurveyStatus.CANCELLED
    await turn.uow.jobs.cancel(send_key(survey.conversation_id))


async def send_survey(turn: Turn, survey: Survey) -> None:
    """Timer: ask the question, unless the conversation reopened meanwhile."""
    conversation = turn.conversation
    if survey.status != SurveyStatus.SCHEDULED or conversation is None:
        return
    if conversation.status != ConversationStatus.RESOLVED:
        survey.status = SurveyStatus.CANCELLED
        return
    if turn.customer.unreachable:
        survey.status = SurveyStatus.UNREACHABLE
        return
    survey.status = SurveyStatus.SENT
    survey.sent_at = turn.now
    survey.expires_at = turn.now + timedelta(days=turn.settings.survey_expiry_days)
    turn.reply(
        turn.words("survey_question"),
        kind=CUSTOMER_SURVEY,
        buttons=survey_buttons(survey.id),
        extra={"survey_id": survey.id},
    )
    await turn.uow.jobs.schedule(
        expire_key(survey.id), "survey_expire", survey.expires_at, {"survey_id": survey.id}
    )


def expire(survey: Survey) -> None:
    """Timer: an unanswered survey closes; an answered one keeps its answer."""
    if survey.status == SurveyStatus.SENT:
        survey.status = SurveyStatus.EXPIRED
    survey.awaiting_comment = False


def is_open(turn: Turn, survey: Survey) -> bool:
    """Answers are taken while the survey is out and not past its expiry."""
    return (
        survey.status in (SurveyStatus.SENT, SurveyStatus.ANSWERED)
        and survey.expires_at is not None
        and turn.now < survey.expires_at
    )


async def answer(turn: Turn, survey: Survey, score: int, platform_message_id: str | None) -> bool:
    """Record a tap (the last answer wins); returns True if a follow-up handoff is due."""
    first_low = score <= LOW_SCORE and not (survey.score is not None and survey.score <= LOW_SCORE)
    survey.score = score
    survey.status = SurveyStatus.ANSWERED
    survey.answered_at = turn.now
    message_id = platform_message_id or survey.platform_message_id
    if message_id:
        turn.queue_customer(
            CUSTOMER_EDIT,
            {
                "platform_message_id": message_id,
                "text": turn.words("survey_question"),
                "buttons": [[b.as_dict() for b in row] for row in survey_buttons(survey.id, score)],
            },
        )
    turn.reply(turn.words("survey_thanks", score=score))
    if first_low:
        survey.awaiting_comment = True
        _flag_comment(turn, True)
    return first_low


def clear_comment_flag(turn: Turn) -> None:
    """The comment question is no longer open (answered or expired)."""
    _flag_comment(turn, False)


def _flag_comment(turn: Turn, on: bool) -> None:
    extra = dict(turn.customer.extra or {})
    if on:
        extra[AWAITING_COMMENT] = True
    else:
        extra.pop(AWAITING_COMMENT, None)
    turn.customer.extra = extra


def take_comment(turn: Turn, survey: Survey, text: str) -> None:
    """Keep the customer's answer to "what went wrong?"."""
    survey.comment = text[:2000]
    survey.awaiting_comment = False
    _flag_comment(turn, False)
    turn.reply(turn.words("survey_comment_thanks"))
