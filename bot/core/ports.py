"""The ports the core offers to channels: a sender per channel delivers outbox rows."""

from __future__ import annotations

from typing import Protocol

from bot.core.actions import Delivery, Receipt


class Sender(Protocol):
    """Delivers claimed outbox rows to one platform.

    Raise :class:`bot.errors.TransientDeliveryError` (with ``retry_after`` when the
    platform said so) to retry later, :class:`bot.errors.RecipientUnreachable` when the
    customer blocked the bot, :class:`bot.errors.PermanentDeliveryError` when it can never
    work. Delivery is at-least-once: a sender may see the same row twice after a crash.
    """

    async def deliver(self, delivery: Delivery) -> Receipt:
        """Make the platform call for one delivery."""
        ...
