"""When people answer: office hours, the next opening time and the expected wait.

The expected wait is the median human first-response time of the last 7 days (PRODUCT.md
§5); with too few samples a fixed sentence is used instead of a made-up number.
"""

from __future__ import annotations

import statistics
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.config import OfficeWindow


class OfficeHours:
    """Weekly windows in a time zone; no windows means always open."""

    def __init__(self, windows: tuple[OfficeWindow, ...], zone: ZoneInfo) -> None:
        self.windows = windows
        self.zone = zone

    def is_open(self, when: datetime) -> bool:
        """True if people answer at ``when``."""
        if not self.windows:
            return True
        local = when.astimezone(self.zone)
        return any(
            local.weekday() in w.days and w.start <= local.time() < w.end for w in self.windows
        )

    def next_opening(self, when: datetime) -> datetime:
        """The next moment the team is in (``when`` itself if open now)."""
        if self.is_open(when):
            return when
        local = when.astimezone(self.zone)
        best: datetime | None = None
        for offset in range(8):
            day = (local + timedelta(days=offset)).date()
            for window in self.windows:
                if day.weekday() not in window.days:
                    continue
                start = datetime.combine(day, window.start, tzinfo=self.zone)
                if start > local and (best is None or start < best):
                    best = start
            if best is not None:
                break
        return best if best is not None else when

    def describe_opening(self, when: datetime) -> str:
        """A phrase like ``"today at 09:00"`` or ``"on Monday at 09:00"`` (business time)."""
        opening = self.next_opening(when).astimezone(self.zone)
        local_now = when.astimezone(self.zone)
        clock = opening.strftime("%H:%M")
        if opening.date() == local_now.date():
            return f"today at {clock}"
        if opening.date() == local_now.date() + timedelta(days=1):
            return f"tomorrow at {clock}"
        return f"on {opening.strftime('%A')} at {clock}"


def expected_wait_minutes(samples: list[float], min_samples: int) -> int | None:
    """Median first-response minutes, rounded up to a whole minute; None if data is thin."""
    if len(samples) < min_samples:
        return None
    return max(1, round(statistics.median(samples) + 0.4999))
