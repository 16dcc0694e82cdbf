"""Who may act: channel members or the staff group, cached; names from users.info."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.channels.slack_auth import StaffDirectory
from tests.fakes.slack_server import FakeSlack


class Tick:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    server = await FakeSlack().start()
    yield server
    await server.stop()


def _directory(fake: FakeSlack, tick: Tick, group: str | None = None) -> StaffDirectory:
    client = AsyncWebClient(token=fake.token, base_url=fake.url, retry_handlers=[])
    return StaffDirectory(client, "C0DESK", group, ttl=300, min_refresh=10, clock=tick)


async def test_members_are_cached_for_the_ttl(fake: FakeSlack) -> None:
    tick = Tick()
    directory = _directory(fake, tick)
    assert await directory.is_staff("U1ANA")
    assert await directory.is_staff("U2BEN")
    assert fake.attempts("conversations.members") == 1
    fake.members.discard("U2BEN")
    tick.now = 301
    assert not await directory.is_staff("U2BEN")
    assert fake.attempts("conversations.members") == 2


async def test_a_newcomer_triggers_one_early_refresh(fake: FakeSlack) -> None:
    tick = Tick()
    directory = _directory(fake, tick)
    assert not await directory.is_staff("U3NEW")
    fake.members.add("U3NEW")
    assert not await directory.is_staff("U3NEW")  # not before min_refresh
    tick.now = 11
    assert await directory.is_staff("U3NEW")
    assert fake.attempts("conversations.members") == 2


async def test_staff_group_members_count(fake: FakeSlack) -> None:
    fake.group_members.add("U7GRP")
    directory = _directory(fake, Tick(), group="S0STAFF")
    assert await directory.is_staff("U7GRP")
    assert fake.of("usergroups.users.list")[0]["usergroup"] == "S0STAFF"
    assert not await _directory(fake, Tick()).is_staff("U7GRP")


async def test_display_names_are_cached(fake: FakeSlack) -> None:
    directory = _directory(fake, Tick())
    assert await directory.display_name("U1ANA") == "Ana Agent"
    assert await directory.display_name("U1ANA") == "Ana Agent"
    assert fake.attempts("users.info") == 1


async def test_display_name_falls_back_to_the_id(fake: FakeSlack) -> None:
    fake.outage(503)
    assert await _directory(fake, Tick()).display_name("U1ANA") == "U1ANA"
