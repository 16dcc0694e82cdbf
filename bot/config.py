"""Settings: read once at start, typed, validated, with clear one-line errors.

Every behaviour default of the product rules (PRODUCT.md) is a setting, so a business can
tune timing and thresholds without touching code. No Telegram or Slack settings means the
embedded default: the console channel and a local SQLite file.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import time
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from pydantic_settings.exceptions import SettingsError

from bot.errors import ConfigError

PiiKind = Literal["email", "phone", "iban"]
DEFAULT_PII: tuple[PiiKind, ...] = ("email", "phone", "iban")
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HOURS_PART = re.compile(
    r"^(?P<d1>[a-z]{3})(?:-(?P<d2>[a-z]{3}))?\s+(?P<h1>\d{1,2}:\d{2})-(?P<h2>\d{1,2}:\d{2})$"
)


@dataclass(frozen=True)
class OfficeWindow:
    """One weekly window in which people answer: weekdays ``days`` (0 = Monday)."""

    days: frozenset[int]
    start: time
    end: time


def parse_office_hours(text: str) -> tuple[OfficeWindow, ...]:
    """Parse ``"Mon-Fri 09:00-17:00, Sat 10:00-14:00"``; ``"always"`` means no windows."""
    text = text.strip().lower()
    if text in ("", "always", "24/7"):
        return ()
    windows = []
    for part in text.split(","):
        match = _HOURS_PART.match(part.strip())
        if not match or match["d1"] not in _DAYS or (match["d2"] and match["d2"] not in _DAYS):
            raise ValueError(f"cannot read {part.strip()!r}; write e.g. 'Mon-Fri 09:00-17:00'")
        first = _DAYS.index(match["d1"])
        last = _DAYS.index(match["d2"]) if match["d2"] else first
        days = {(first + i) % 7 for i in range(((last - first) % 7) + 1)}
        start, end = (time.fromisoformat(match[k].zfill(5)) for k in ("h1", "h2"))
        if end <= start:
            raise ValueError(f"in {part.strip()!r} the closing time must be after the opening")
        windows.append(OfficeWindow(frozenset(days), start, end))
    return tuple(windows)


class Settings(BaseSettings):
    """All configuration, from environment variables or a ``.env`` file."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    # Storage
    database_url: str = Field(
        "sqlite+aiosqlite:///carebot.db", validation_alias="CAREBOT_DATABASE_URL"
    )

    # Telegram
    telegram_bot_token: str | None = Field(None, validation_alias="TELEGRAM_BOT_TOKEN")
    telegram_api_url: str = Field(
        "https://api.telegram.org/bot", validation_alias="CAREBOT_TELEGRAM_API_URL"
    )
    telegram_webhook_url: str | None = Field(None, validation_alias="CAREBOT_TELEGRAM_WEBHOOK_URL")
    telegram_webhook_secret: str | None = Field(
        None, validation_alias="CAREBOT_TELEGRAM_WEBHOOK_SECRET"
    )
    telegram_rate_overall: float = Field(30.0, validation_alias="CAREBOT_TELEGRAM_RATE_OVERALL")
    telegram_rate_per_chat: float = Field(1.0, validation_alias="CAREBOT_TELEGRAM_RATE_PER_CHAT")
    telegram_groups: bool = Field(False, validation_alias="CAREBOT_TELEGRAM_GROUPS")
    # The Bot API's HTTP client (bot/channels/telegram_http.py): aiohttp, or PTB's httpx.
    telegram_http_client: Literal["aiohttp", "httpx"] = Field(
        "aiohttp", validation_alias="CAREBOT_TELEGRAM_HTTP_CLIENT"
    )

    # Slack
    slack_bot_token: str | None = Field(None, validation_alias="SLACK_BOT_TOKEN")
    slack_signing_secret: str | None = Field(None, validation_alias="SLACK_SIGNING_SECRET")
    slack_app_token: str | None = Field(None, validation_alias="SLACK_APP_TOKEN")
    slack_handoff_channel: str | None = Field(None, validation_alias="SLACK_HANDOFF_CHANNEL")
    slack_managers_channel: str | None = Field(
        None, validation_alias="CAREBOT_SLACK_MANAGERS_CHANNEL"
    )
    slack_staff_group: str | None = Field(None, validation_alias="CAREBOT_SLACK_STAFF_GROUP")
    slack_api_url: str = Field("https://slack.com/api/", validation_alias="CAREBOT_SLACK_API_URL")
    digest_day: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] = Field(
        "mon", validation_alias="CAREBOT_DIGEST_DAY"
    )
    digest_time: time = Field(time(9, 0), validation_alias="CAREBOT_DIGEST_TIME")

    # Business
    business_name: str = Field("our shop", validation_alias="CAREBOT_BUSINESS_NAME")
    bot_name: str = Field("Carebot", validation_alias="CAREBOT_BOT_NAME")
    timezone: str = Field("UTC", validation_alias="CAREBOT_TIMEZONE")
    office_hours: str = Field("always", validation_alias="CAREBOT_OFFICE_HOURS")
    domain_path: Path | None = Field(None, validation_alias="CAREBOT_DOMAIN")
    intent_model: Literal["light", "embeddings", "auto"] = Field(
        "light", validation_alias="CAREBOT_INTENT_MODEL"
    )
    templates_path: Path | None = Field(None, validation_alias="CAREBOT_TEMPLATES")
    # Read messages in a child process (intents/worker.py); auto: with two or more cores.
    understanding_process: Literal["auto", "on", "off"] = Field(
        "auto", validation_alias="CAREBOT_UNDERSTANDING_PROCESS"
    )

    # Lifecycle and handoff (PRODUCT.md §1, §4)
    inactivity_timeout_minutes: float = Field(
        1440, gt=0, validation_alias="CAREBOT_INACTIVITY_TIMEOUT_MINUTES"
    )
    failed_turns_before_handoff: int = Field(
        3, ge=1, validation_alias="CAREBOT_FAILED_TURNS_BEFORE_HANDOFF"
    )
    negative_compound: float = Field(
        -0.5, ge=-1, le=0, validation_alias="CAREBOT_NEGATIVE_COMPOUND"
    )
    negative_streak: int = Field(2, ge=1, validation_alias="CAREBOT_NEGATIVE_STREAK")
    long_conversation_turns: int = Field(
        8, ge=1, validation_alias="CAREBOT_LONG_CONVERSATION_TURNS"
    )
    sla_minutes: float = Field(15, gt=0, validation_alias="CAREBOT_SLA_MINUTES")
    vip_sla_minutes: float = Field(5, gt=0, validation_alias="CAREBOT_VIP_SLA_MINUTES")
    expected_wait_min_samples: int = Field(5, ge=1, validation_alias="CAREBOT_WAIT_MIN_SAMPLES")

    # CSAT (PRODUCT.md §1)
    survey_delay_minutes: float = Field(10, ge=0, validation_alias="CAREBOT_SURVEY_DELAY_MINUTES")
    survey_expiry_days: float = Field(7, gt=0, validation_alias="CAREBOT_SURVEY_EXPIRY_DAYS")
    survey_throttle_days: float = Field(7, ge=0, validation_alias="CAREBOT_SURVEY_THROTTLE_DAYS")

    # Privacy (PRODUCT.md §7): cards and CVVs are always masked.
    mask_pii: Annotated[list[PiiKind], NoDecode] = Field(
        default_factory=lambda: list(DEFAULT_PII), validation_alias="CAREBOT_MASK_PII"
    )
    delete_card_messages: bool = Field(True, validation_alias="CAREBOT_DELETE_CARD_MESSAGES")
    retention_days: int = Field(365, ge=1, validation_alias="CAREBOT_RETENTION_DAYS")

    # Delivery
    outbox_max_attempts: int = Field(12, ge=1, validation_alias="CAREBOT_OUTBOX_MAX_ATTEMPTS")
    outbox_poll_seconds: float = Field(0.5, gt=0, validation_alias="CAREBOT_OUTBOX_POLL_SECONDS")
    # Leases: how long a claimed delivery/timer stays with a worker that may have died.
    outbox_lease_seconds: float = Field(60, gt=0, validation_alias="CAREBOT_OUTBOX_LEASE_SECONDS")
    job_lease_seconds: float = Field(120, gt=0, validation_alias="CAREBOT_JOB_LEASE_SECONDS")
    outbox_max_backoff_seconds: float = Field(
        300, gt=0, validation_alias="CAREBOT_OUTBOX_MAX_BACKOFF_SECONDS"
    )
    # A successful send is recorded with the next turn's transaction if one comes this soon.
    outbox_record_delay_seconds: float = Field(
        0.05, ge=0, le=5, validation_alias="CAREBOT_OUTBOX_RECORD_DELAY_SECONDS"
    )
    log_level: str = Field("INFO", validation_alias=AliasChoices("CAREBOT_LOG_LEVEL", "LOG_LEVEL"))
    log_format: Literal["text", "json"] = Field("text", validation_alias="CAREBOT_LOG_FORMAT")

    @field_validator("mask_pii", mode="before")
    @classmethod
    def _split_list(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return value
            return [part.strip().lower() for part in text.split(",") if part.strip()]
        return value

    @field_validator("digest_day", mode="before")
    @classmethod
    def _short_day(cls, value: object) -> object:
        return value.strip().lower()[:3] if isinstance(value, str) else value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r}; use a name like 'Europe/Berlin'"
            ) from None
        return value

    @field_validator("office_hours")
    @classmethod
    def _readable_hours(cls, value: str) -> str:
        parse_office_hours(value)
        return value

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError(
                "use 'sqlite+aiosqlite:///FILE' or 'postgresql+asyncpg://USER@HOST/DB'"
            )
        return value

    @model_validator(mode="after")
    def _complete_channels(self) -> Settings:
        if self.slack_bot_token and not (self.slack_signing_secret or self.slack_app_token):
            raise ValueError(
                "SLACK_BOT_TOKEN is set but neither SLACK_SIGNING_SECRET nor SLACK_APP_TOKEN"
            )
        if self.slack_bot_token and not self.slack_handoff_channel:
            raise ValueError("SLACK_BOT_TOKEN is set but SLACK_HANDOFF_CHANNEL is not")
        if self.telegram_webhook_url and not self.telegram_webhook_secret:
            raise ValueError(
                "CAREBOT_TELEGRAM_WEBHOOK_URL needs CAREBOT_TELEGRAM_WEBHOOK_SECRET "
                "(1-256 characters of A-Z, a-z, 0-9, _ and -)"
            )
        return self

    # Derived values
    @property
    def zone(self) -> ZoneInfo:
        """The business's time zone."""
        return ZoneInfo(self.timezone)

    @property
    def office_windows(self) -> tuple[OfficeWindow, ...]:
        """Parsed office hours; empty means people answer at any time."""
        return parse_office_hours(self.office_hours)

    @property
    def telegram_enabled(self) -> bool:
        """True when customers reach us on Telegram."""
        return bool(self.telegram_bot_token)

    @property
    def reads_in_child(self) -> bool:
        """True when messages are read in a child process (``understanding_process``)."""
        if self.understanding_process == "auto":
            return (os.cpu_count() or 1) >= 2
        return self.understanding_process == "on"

    @property
    def slack_enabled(self) -> bool:
        """True when staff work handoffs in Slack."""
        return bool(self.slack_bot_token)

    @property
    def is_sqlite(self) -> bool:
        """SQLite is the single-process default."""
        return self.database_url.startswith("sqlite")


def load_settings(**overrides: object) -> Settings:
    """Build settings, turning validation errors into one clear :class:`ConfigError` line."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc)) from None
    except SettingsError as exc:
        raise ConfigError(f"bad settings: {exc}") from None


def describe_validation_error(exc: ValidationError) -> str:
    """Name the environment variable at fault, in one line."""
    first = exc.errors()[0]
    names = {
        name: (field.validation_alias if isinstance(field.validation_alias, str) else name.upper())
        for name, field in Settings.model_fields.items()
    }
    loc = [str(part) for part in first.get("loc", ())]
    variable = names.get(loc[0], loc[0]) if loc else None
    message = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
    if variable:
        return f"bad setting {variable}: {message}"
    return f"bad settings: {message}"
