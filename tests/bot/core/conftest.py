"""Engine tests run against the scripted understander on both database engines."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from intents.base import Understander
from storage.db import Database
from tests.helpers import FakeClock, Harness, build_harness
from tests.scripted import ScriptedUnderstander


@pytest.fixture
async def harness(
    database: Database, understander: Understander, clock: FakeClock
) -> AsyncIterator[Harness]:
    """A Carebot with collecting channels, survey delay 10 min, SLA 15 min."""
    yield build_harness(database, ScriptedUnderstander(understander), clock)
