"""Fuzz the engine with arbitrary customer text, button data and staff replies.

Properties: nothing raises, every event gets an outcome, and what is stored is cleaned
(no control or bidi characters) and masked (no card number, no e-mail address).
"""

from __future__ import annotations

import itertools
import re

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from bot.core.events import CustomerChoice, CustomerMessage, CustomerRef, StaffReply
from intents.base import Understander
from storage.db import Database
from storage.models import AuthorKind, Message
from storage.unit_of_work import UnitOfWork
from tests.fuzz.strategies import (
    CARD,
    EMAIL,
    FUZZ,
    FUZZ_HEAVY,
    button_data,
    customer_name,
    customer_text,
)
from tests.helpers import FakeClock, Harness, build_harness
from tests.scripted import ScriptedUnderstander

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
_ids = itertools.count(1)


def _harness(database: Database, understander: Understander) -> Harness:
    return build_harness(database, ScriptedUnderstander(understander), FakeClock())


async def _stored(h: Harness, conversation_id: int) -> list[str]:
    """What the customer wrote, as stored (the bot's own lines may quote their name)."""
    async with UnitOfWork(h.carebot.db) as uow:
        stmt = select(Message.text).where(
            Message.conversation_id == conversation_id,
            Message.author_kind == AuthorKind.CUSTOMER,
        )
        return [str(text) for text in (await uow.session.execute(stmt)).scalars().all()]


@FUZZ
@given(texts=st.lists(customer_text, min_size=1, max_size=3), name=customer_name)
async def test_any_customer_text_is_handled_and_stored_clean(
    database: Database, understander: Understander, texts: list[str], name: str
) -> None:
    h = _harness(database, understander)
    who = CustomerRef("console", f"fz{next(_ids)}", "1", display_name=name, first_name=name)
    for number, text in enumerate(texts):
        outcome = await h.engine.handle(
            CustomerMessage(who, text, delivery_id=f"{who.external_id}-{number}")
        )
        assert outcome.handled or outcome.duplicate
        assert outcome.conversation_id is not None
        await h.settle()
        for stored in await _stored(h, outcome.conversation_id):
            assert not _CONTROL.search(stored), repr(stored)
            assert CARD not in stored and CARD.replace(" ", "") not in stored
            assert EMAIL not in stored


@FUZZ_HEAVY
@given(data=st.lists(button_data, min_size=1, max_size=4), reply=customer_text)
async def test_any_button_data_and_staff_reply_get_an_outcome(
    database: Database, understander: Understander, data: list[str], reply: str
) -> None:
    h = _harness(database, understander)
    who = CustomerRef("console", f"fb{next(_ids)}", "1", first_name="Ann")
    first = await h.say("human", who)
    assert first.conversation_id is not None
    for number, value in enumerate(data):
        outcome = await h.engine.handle(
            CustomerChoice(who, value, delivery_id=f"{who.external_id}-b{number}")
        )
        assert outcome is not None
    staff = await h.engine.handle(
        StaffReply(first.conversation_id, h.agent, reply, delivery_id=f"{who.external_id}-r")
    )
    assert staff is not None
    await h.settle()


async def test_customer_names_are_cleaned_before_the_bot_quotes_them(
    database: Database, understander: Understander
) -> None:
    """Found by this fuzz suite: a name is customer input too (bidi controls, a card)."""
    h = _harness(database, understander)
    name = f"\u2066x\u2069 {CARD}"
    who = CustomerRef("console", "fz-name", "1", display_name=name, first_name=name)
    outcome = await h.engine.handle(CustomerMessage(who, "hello", delivery_id="fz-name-1"))
    assert outcome.conversation_id is not None
    async with UnitOfWork(h.carebot.db) as uow:
        stmt = select(Message.text).where(Message.conversation_id == outcome.conversation_id)
        stored = [str(text) for text in (await uow.session.execute(stmt)).scalars().all()]
    assert not any(_CONTROL.search(text) or CARD in text for text in stored)
