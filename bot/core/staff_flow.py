"""Route one staff event (claim, reply, note, resolve, release, unclaim, transfer).

Who may act at all is the staff channel's business (Slack checks channel membership);
here the rule is one owner at a time: once claimed, only the owner replies, resolves,
releases or passes the conversation on.
"""

from __future__ import annotations

from bot.core import handoff
from bot.core.events import (
    StaffClaim,
    StaffEvent,
    StaffRef,
    StaffRelease,
    StaffReply,
    StaffResolve,
    StaffTransfer,
    StaffUnclaim,
)
from bot.core.privacy import clean_text
from bot.core.turn import Turn
from storage.models import Agent, AuthorKind, ConversationStatus, Direction


async def _agent(turn: Turn, ref: StaffRef) -> Agent:
    return await turn.uow.agents.ensure(ref.platform, ref.external_id, ref.display_name[:200])


async def handle_staff_event(turn: Turn, event: StaffEvent) -> None:
    """Apply the event to the conversation in ``turn`` (set by the engine)."""
    conversation = turn.conversation
    assert conversation is not None
    agent = await _agent(turn, event.agent)
    current = await turn.uow.handoffs.current(conversation.id)

    if isinstance(event, StaffReply) and event.internal:
        _store_note(turn, agent, event.text)
        turn.notice = "Internal note saved (not sent to the customer)."
        return
    if current is None or not ConversationStatus(conversation.status).with_human:
        turn.notice = turn.staff_words("not_open")
        return
    if isinstance(event, StaffClaim):
        await handoff.claim(turn, current, agent)
    elif isinstance(event, StaffReply):
        text, _ = clean_text(event.text)
        if text:
            await handoff.relay_staff_reply(turn, current, agent, text)
    elif not await handoff.require_owner(turn, current, agent):
        return
    elif isinstance(event, StaffResolve):
        await handoff.resolve(turn, current, agent)
    elif isinstance(event, StaffRelease):
        await handoff.release_to_bot(turn, current, agent)
    elif isinstance(event, StaffUnclaim):
        if current.agent_id != agent.id:
            turn.notice = "You don't have this conversation."
            return
        await handoff.unclaim(turn, current)
    elif isinstance(event, StaffTransfer):
        colleague = await _agent(turn, event.to)
        await handoff.transfer(turn, current, colleague)


def _store_note(turn: Turn, agent: Agent, text: str) -> None:
    conversation = turn.conversation
    assert conversation is not None
    clean, _ = clean_text(text)
    turn.uow.messages.add(
        conversation_id=conversation.id,
        channel="staff",
        direction=Direction.OUTBOUND,
        author_kind=AuthorKind.AGENT,
        agent_id=agent.id,
        text=clean,
        internal=True,
        created_at=turn.now,
    )
