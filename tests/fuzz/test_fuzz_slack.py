"""Fuzz the real Bolt app with signed Slack payloads, and customer text towards Slack.

Properties: no payload gets a 5xx or makes a listener fail; nothing an outsider sends
reaches a customer; and, the key one, no customer text or name ever reaches Slack as a
live mention, broadcast or link: every mrkdwn field and fallback ``text`` the fake
Web API receives is free of ``<!…>``, ``<@…>``, ``<#…>``, ``<http…>`` and of a raw
``@channel``/``@here``/``@everyone`` (a word joiner follows the ``@``).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.channels import slack_blocks as kit
from bot.channels import slack_privacy
from bot.core.events import CustomerCommand, CustomerMessage, CustomerRef
from intents.base import Understander
from storage.db import Database
from tests.fakes import slack_signing as signing
from tests.fakes.slack_world import ANA, DESK, EVE, SlackWorld, slack_world
from tests.fuzz.strategies import (
    FUZZ,
    FUZZ_HEAVY,
    customer_name,
    customer_text,
    pings_or_links,
    slack_texts,
)
from tests.helpers import FakeClock
from tests.scripted import ScriptedUnderstander

_ids = itertools.count(1)
ACTION_IDS = [
    kit.CLAIM,
    kit.RESOLVE,
    kit.RELEASE,
    kit.UNCLAIM,
    kit.TRANSFER,
    *slack_privacy.ACTIONS,
]
ts_like = st.one_of(
    st.just("1700000000.000001"),
    st.from_regex(r"\A[0-9]{1,12}\.[0-9]{1,8}\Z"),
    st.text(max_size=20),
)
block_kit = st.lists(
    st.fixed_dictionaries(
        {"type": st.sampled_from(["rich_text", "section", "x"]), "text": st.text()}
    ),
    max_size=2,
)
command_text = st.one_of(
    customer_text,
    st.builds(
        lambda word, rest: f"{word} {rest}",
        st.sampled_from(
            ["queue", "report", "customer", "customer export", "customer erase", "note"]
        ),
        customer_text,
    ),
)


class _Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def _errors() -> Iterator[list[logging.LogRecord]]:
    handler = _Errors()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler.records
    finally:
        root.removeHandler(handler)


@pytest.fixture
async def world(
    database: Database, understander: Understander, clock: FakeClock, settings_env: Any
) -> AsyncIterator[SlackWorld]:
    async with slack_world(
        database, ScriptedUnderstander(understander), clock, survey_delay_minutes=0
    ) as built:
        yield built


async def _finish_listeners(before: set[asyncio.Task[Any]]) -> None:
    """Wait for the listener tasks Bolt started while handling the request."""
    current = asyncio.current_task()
    new = [t for t in asyncio.all_tasks() - before if t is not current and not t.done()]
    if new:
        await asyncio.wait(new, timeout=5)


@FUZZ
@given(
    kind=st.sampled_from(["event", "action", "command"]),
    user=st.sampled_from([ANA, EVE]),
    text=customer_text,
    thread=ts_like,
    blocks=block_kit,
    action_id=st.sampled_from(ACTION_IDS),
    value=st.one_of(st.none(), st.text(max_size=30), st.integers(-3, 10**12).map(str)),
    command=command_text,
)
async def test_signed_payloads_never_fail_and_outsiders_reach_nobody(
    world: SlackWorld,
    kind: str,
    user: str,
    text: str,
    thread: str,
    blocks: list[dict[str, Any]],
    action_id: str,
    value: str | None,
    command: str,
) -> None:
    if not world.cards_for(1):
        await world.handoff()  # one live handoff, so thread ids and buttons can hit it
    sent_before = len(world.customer_out.deliveries)
    before = asyncio.all_tasks()
    with _errors() as errors:
        if kind == "event":
            event = signing.thread_reply(DESK, thread, user, text, blocks=blocks)
            response = await world.event(event)
        elif kind == "action":
            body = signing.action_body(action_id, value, user, DESK, thread)
            response = await world.post(body, signing.FORM)
        else:
            response = await world.command(command, user=user)
        await _finish_listeners(before)
        await world.settle()
    assert response.status_code < 500, response.text
    assert not errors, [r.getMessage() for r in errors]
    if user == EVE:
        assert len(world.customer_out.deliveries) == sent_before


def _everything_sent(world: SlackWorld) -> Iterator[tuple[str, str]]:
    for call in world.fake.calls:
        if call.method in ("chat.postMessage", "chat.update", "chat.postEphemeral", "respond"):
            body = dict(call.body)
            if isinstance(body.get("blocks"), str):  # form-encoded calls carry JSON strings
                body["blocks"] = json.loads(body["blocks"])
            for text in slack_texts(body):
                yield call.method, text


@FUZZ_HEAVY
@given(name=customer_name, texts=st.lists(customer_text, min_size=1, max_size=3))
async def test_no_customer_text_pings_or_links_in_slack(
    world: SlackWorld, name: str, texts: list[str]
) -> None:
    number = next(_ids)
    who = CustomerRef("console", f"m{number}", f"m{number}", display_name=name, first_name=name)
    await world.harness.engine.handle(CustomerMessage(who, texts[0], delivery_id=f"m{number}-0"))
    await world.harness.engine.handle(CustomerCommand(who, "human", delivery_id=f"m{number}-h"))
    for index, text in enumerate(texts[1:], 1):
        await world.harness.engine.handle(
            CustomerMessage(who, text, delivery_id=f"m{number}-{index}")
        )
    await world.settle()
    for method, text in _everything_sent(world):
        assert not pings_or_links(text), (method, text)
