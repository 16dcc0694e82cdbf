"""A predictable understander for engine tests: the shop domain's intents, fixed phrases.

The engine's policy is tested against this script, so a change in the statistical
classifier cannot make a lifecycle test flaky; the real classifier has its own tests.
"""

from __future__ import annotations

import re

from intents.base import Understander
from intents.types import Emotion, Entity, IntentInfo, KnowledgeAnswer, Mood, Understanding

PHRASES = {
    "hi": "greeting",
    "hello": "greeting",
    "where is my order": "order_status",
    "how can i pay": "payment_methods",
    "do you ship abroad": "shipping_info",
    "yes": "affirm",
    "yes please": "affirm",
    "no": "deny",
    "thanks": "thanks",
    "bye": "goodbye",
    "human": "talk_to_human",
    "i want a refund for this dispute": "refund_dispute",
    "you charged me twice": "charged_twice",
    "are you a bot": "bot_identity",
}
ORDER = re.compile(r"\b(\d{4,10})\b")


class ScriptedUnderstander:
    """Exact phrases → intents; ``!angry``/``!sad`` markers set the mood."""

    def __init__(self, real: Understander) -> None:
        self.real = real

    def _emotion(self, text: str) -> Emotion:
        if "!angry" in text:
            return Emotion(Mood.ANGRY, -0.8, ("profanity",), escalate=True)
        if "!sad" in text:
            return Emotion(Mood.FRUSTRATED, -0.6, ("still_waiting",))
        return Emotion(Mood.NEUTRAL, 0.0)

    def understand(self, text: str, language: str | None = None) -> Understanding:
        """Look the phrase up (markers and order numbers removed)."""
        emotion = self._emotion(text)
        entities = tuple(Entity("order_number", m) for m in ORDER.findall(text))
        key = re.sub(r"!\w+", "", ORDER.sub("", text)).strip(" .?!,").lower()
        if not key and entities:
            key = "my order"
        name = PHRASES.get(key)
        info = self.real.intent_info(name) if name else None
        knowledge = None
        if info is not None and info.answer_id:
            answer = self.real.knowledge_entry(info.answer_id) or "An answer."
            knowledge = KnowledgeAnswer(info.answer_id, key, answer, 0.9)
        return Understanding(
            text=text,
            intent=info,
            confidence=0.95 if info else 0.1,
            out_of_scope=info is None,
            emotion=emotion,
            knowledge=knowledge,
            entities=entities,
        )

    def mood(self, text: str, language: str | None = None) -> Emotion:
        """Mood only."""
        return self._emotion(text)

    def intent_info(self, name: str) -> IntentInfo | None:
        """From the real domain."""
        return self.real.intent_info(name)

    def knowledge_entry(self, entry_id: str) -> str | None:
        """From the real domain."""
        return self.real.knowledge_entry(entry_id)
