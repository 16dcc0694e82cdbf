"""Fixtures of the channel tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.fakes.telegram_server import FakeTelegram


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    """The fake Bot API on 127.0.0.1."""
    server = FakeTelegram()
    await server.start()
    yield server
    await server.stop()
