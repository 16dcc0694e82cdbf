"""The one interface the engine uses to understand customers.

The engine depends on this Protocol only, so a business (or a test) can swap the
implementation: the default is built by :func:`intents.load_understander`.
"""

from __future__ import annotations

from typing import Protocol

from intents.types import Emotion, IntentInfo, Understanding


class Understander(Protocol):
    """Turns one customer message into an :class:`Understanding`."""

    def understand(self, text: str, language: str | None = None) -> Understanding:
        """Classify the intent, detect out-of-scope, read the mood and find the best answer."""
        ...

    def mood(self, text: str, language: str | None = None) -> Emotion:
        """Read only the mood (used for messages relayed while a person helps)."""
        ...

    def intent_info(self, name: str) -> IntentInfo | None:
        """Look up an intent of the domain by name (``None`` if the domain has no such intent)."""
        ...

    def knowledge_entry(self, entry_id: str) -> str | None:
        """The answer template of a knowledge-base entry, by id."""
        ...
