"""The send rate limiter, on a fake clock: spacing overall and per chat, long waits refused."""

from __future__ import annotations

import asyncio

import pytest

from bot.channels.telegram_limits import SendRateLimiter
from bot.errors import TransientDeliveryError


class FakeTime:
    """Monotonic time that only moves when someone sleeps."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await asyncio.sleep(0)


async def _send_times(limiter: SendRateLimiter, time: FakeTime, chats: list[int]) -> list[float]:
    times = []
    for chat in chats:
        await limiter.acquire(chat)
        times.append(time.now)
    return times


async def test_default_limits_one_per_second_per_chat() -> None:
    time = FakeTime()
    limiter = SendRateLimiter(30, 1, monotonic=time, sleep=time.sleep)
    times = await _send_times(limiter, time, [7, 7, 7])
    assert [round(t - times[0], 3) for t in times] == [0.0, 1.0, 2.0]


async def test_default_limits_thirty_per_second_overall() -> None:
    time = FakeTime()
    limiter = SendRateLimiter(30, 1, monotonic=time, sleep=time.sleep)
    times = await _send_times(limiter, time, list(range(61)))
    assert times[30] - times[0] == pytest.approx(1.0)
    assert times[60] - times[0] == pytest.approx(2.0)


async def test_a_waiting_chat_does_not_hold_up_others() -> None:
    time = FakeTime()
    limiter = SendRateLimiter(30, 1, monotonic=time, sleep=time.sleep)
    await limiter.acquire(1)
    start = time.now
    await limiter.acquire(2)  # another chat: only the overall gap
    assert time.now - start == pytest.approx(1 / 30)


async def test_long_waits_go_back_to_the_dispatcher() -> None:
    time = FakeTime()
    limiter = SendRateLimiter(30, 0.1, max_wait=2.0, monotonic=time, sleep=time.sleep)
    await limiter.acquire(9)
    with pytest.raises(TransientDeliveryError) as caught:
        await limiter.acquire(9)
    assert caught.value.retry_after == pytest.approx(10.0)


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError):
        SendRateLimiter(0, 1)
