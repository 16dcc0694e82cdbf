"""Office hours, the next opening and the expected wait."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.config import parse_office_hours
from bot.core.office_hours import OfficeHours, expected_wait_minutes

BERLIN = ZoneInfo("Europe/Berlin")
HOURS = OfficeHours(parse_office_hours("Mon-Fri 09:00-17:00"), BERLIN)


def test_open_and_closed_in_the_business_time_zone() -> None:
    assert HOURS.is_open(datetime(2026, 3, 2, 8, 30, tzinfo=UTC))  # 09:30 in Berlin
    assert not HOURS.is_open(datetime(2026, 3, 2, 7, 30, tzinfo=UTC))  # 08:30 in Berlin


def test_next_opening_phrases() -> None:
    friday_evening = datetime(2026, 3, 6, 18, 0, tzinfo=UTC)
    assert HOURS.describe_opening(friday_evening) == "on Monday at 09:00"
    early = datetime(2026, 3, 3, 6, 0, tzinfo=UTC)
    assert HOURS.describe_opening(early) == "today at 09:00"
    evening = datetime(2026, 3, 3, 17, 30, tzinfo=UTC)
    assert HOURS.describe_opening(evening) == "tomorrow at 09:00"


def test_always_open_without_windows() -> None:
    assert OfficeHours((), BERLIN).is_open(datetime(2026, 3, 8, 3, tzinfo=UTC))


def test_expected_wait_needs_enough_samples() -> None:
    assert expected_wait_minutes([3.0, 4.0], min_samples=5) is None
    assert expected_wait_minutes([1.0, 2.0, 3.2, 9.0, 30.0], min_samples=5) == 4
