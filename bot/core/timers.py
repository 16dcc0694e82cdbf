"""What each timer does when it comes due: survey send/expiry, SLA nudge, inactivity close.

Each runs as its own turn, under the customer's lock, like any inbound event.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.core import csat, handoff
from bot.core.turn import Turn
from storage.models import ConversationStatus, HandoffStatus, Job, Resolution

SURVEY_SEND = "survey_send"
SURVEY_EXPIRE = "survey_expire"
SLA_REMINDER = "sla_reminder"


async def run_timer(turn: Turn, job: Job) -> None:
    """Apply timer ``job`` to the conversation loaded in ``turn``."""
    if job.kind == SURVEY_SEND:
        survey = await turn.uow.surveys.get(int(job.payload["survey_id"]))
        if survey is not None:
            await csat.send_survey(turn, survey)
    elif job.kind == SURVEY_EXPIRE:
        survey = await turn.uow.surveys.get(int(job.payload["survey_id"]))
        if survey is not None:
            csat.expire(survey)
    elif job.kind == SLA_REMINDER:
        await _remind_staff(turn, job)


async def close_inactive(turn: Turn, cutoff: datetime) -> None:
    """Close the conversation if it has been quiet since before ``cutoff``."""
    conversation = turn.conversation
    if conversation is None or conversation.last_activity_at > cutoff:
        return
    status = ConversationStatus(conversation.status)
    if status not in (ConversationStatus.BOT, ConversationStatus.WAITING_FOR_STAFF):
        return
    conversation.status = ConversationStatus.CLOSED_INACTIVE
    conversation.ended_at = turn.now
    if status == ConversationStatus.WAITING_FOR_STAFF:
        conversation.resolution = Resolution.ABANDONED
        current = await turn.uow.handoffs.current(conversation.id)
        if current is not None:
            current.status = HandoffStatus.CLOSED
            current.ended_at = turn.now
            await turn.uow.jobs.cancel(handoff.sla_key(current))
            handoff.staff_notice(turn, current, turn.staff_words("closed_inactive"))
            await handoff.update_card(turn, current)
    elif conversation.awaiting == "confirm":
        # The bot answered and the customer left without asking for more (PRODUCT.md §3).
        conversation.resolution = Resolution.BOT_ASSUMED
    conversation.awaiting = None
    conversation.offer_reason = None


async def _remind_staff(turn: Turn, job: Job) -> None:
    current = await turn.uow.handoffs.get(int(job.payload["handoff_id"]))
    if current is None or current.status != HandoffStatus.WAITING:
        return
    current.reminders_sent += 1
    minutes = float(job.payload.get("minutes", turn.settings.sla_minutes))
    waited = round((turn.now - current.requested_at).total_seconds() / 60)
    group = turn.settings.slack_staff_group
    handoff.staff_notice(
        turn,
        current,
        turn.staff_words(
            "sla_reminder", minutes=waited, escalation=current.reminders_sent > 1, group=group
        ),
        mention_group=bool(group),
    )
    if current.reminders_sent == 1:
        await turn.uow.jobs.schedule(
            f"sla2:{current.id}",
            SLA_REMINDER,
            turn.now + timedelta(minutes=minutes),
            {"handoff_id": current.id, "minutes": minutes},
        )
