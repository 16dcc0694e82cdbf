"""Settings: typed, with one clear line naming the variable when something is wrong."""

from __future__ import annotations

from datetime import time

import pytest

from bot.config import load_settings, parse_office_hours
from bot.errors import ConfigError


def test_defaults_are_the_embedded_console_setup(settings_env: pytest.MonkeyPatch) -> None:
    settings = load_settings()
    assert settings.database_url.startswith("sqlite+aiosqlite")
    assert not settings.telegram_enabled and not settings.slack_enabled
    assert settings.survey_delay_minutes == 10 and settings.survey_expiry_days == 7
    assert settings.mask_pii == ["email", "phone", "iban"]


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("CAREBOT_TIMEZONE", "Mars/Olympus", "CAREBOT_TIMEZONE"),
        ("CAREBOT_OFFICE_HOURS", "weekdays 9 to 5", "CAREBOT_OFFICE_HOURS"),
        ("CAREBOT_SURVEY_DELAY_MINUTES", "soon", "CAREBOT_SURVEY_DELAY_MINUTES"),
        ("CAREBOT_DATABASE_URL", "mysql://x", "CAREBOT_DATABASE_URL"),
        ("CAREBOT_MASK_PII", "email,shoe_size", "CAREBOT_MASK_PII"),
    ],
)
def test_bad_values_name_the_variable(
    settings_env: pytest.MonkeyPatch, name: str, value: str, fragment: str
) -> None:
    settings_env.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert fragment in message and "\n" not in message


def test_incomplete_slack_settings_are_refused(settings_env: pytest.MonkeyPatch) -> None:
    settings_env.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    with pytest.raises(ConfigError, match="SLACK_SIGNING_SECRET"):
        load_settings()


def test_mask_list_and_office_hours_parse(settings_env: pytest.MonkeyPatch) -> None:
    settings_env.setenv("CAREBOT_MASK_PII", "email, phone")
    settings_env.setenv("CAREBOT_OFFICE_HOURS", "Mon-Fri 09:00-17:00, Sat 10:00-14:00")
    settings = load_settings()
    assert settings.mask_pii == ["email", "phone"]
    weekdays, saturday = settings.office_windows
    assert weekdays.days == frozenset(range(5)) and saturday.start == time(10)


def test_office_hours_can_wrap_the_week() -> None:
    (window,) = parse_office_hours("Fri-Mon 08:00-12:00")
    assert window.days == frozenset({4, 5, 6, 0})
