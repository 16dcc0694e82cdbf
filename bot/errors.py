"""Carebot's error tree.

CarebotError
├── ConfigError            a setting is missing or wrong; shown as one line at start
├── SchemaError            the database schema is newer than this code
└── DeliveryError          a platform call failed (raised by channel senders)
    ├── TransientDeliveryError   retry later (5xx, timeout, 429 with retry_after)
    ├── RecipientUnreachable     the customer blocked the bot; stop trying
    └── PermanentDeliveryError   the call can never succeed (bad request)
"""

from __future__ import annotations


class CarebotError(Exception):
    """Base of every error Carebot raises on purpose."""


class ConfigError(CarebotError):
    """A setting is missing or invalid; the message names the variable."""


class SchemaError(CarebotError):
    """The database was migrated by a newer Carebot than this one."""


class DeliveryError(CarebotError):
    """A platform call failed."""


class TransientDeliveryError(DeliveryError):
    """Worth retrying; ``retry_after`` (seconds) is the platform's own hint, if it gave one."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RecipientUnreachable(DeliveryError):
    """The recipient cannot be reached any more (for example, blocked the bot)."""


class PermanentDeliveryError(DeliveryError):
    """The call is wrong and retrying cannot help."""
