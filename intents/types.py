"""Value types that cross the boundary between understanding and the engine.

Everything here is a frozen dataclass of plain values, so the engine can store it,
log it and compare it without knowing how it was computed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Mood(StrEnum):
    """How a customer seems to feel in one message."""

    NEUTRAL = "neutral"
    POSITIVE = "positive"
    CONFUSED = "confused"
    FRUSTRATED = "frustrated"
    ANGRY = "angry"
    ANXIOUS = "anxious"

    @property
    def is_negative(self) -> bool:
        """Frustrated, angry and anxious customers get plainer, faster answers."""
        return self in (Mood.FRUSTRATED, Mood.ANGRY, Mood.ANXIOUS)


class Behaviour(StrEnum):
    """What the engine does when an intent is recognised (set per intent in the domain)."""

    ANSWER = "answer"  # answer from the knowledge base (or the intent's own answer)
    HANDOFF = "handoff"  # sensitive: always a person (refunds, cancellations, data requests, ...)
    HUMAN = "human"  # the customer asks for a person
    GREET = "greet"
    THANK = "thank"
    BYE = "bye"
    AFFIRM = "affirm"
    DENY = "deny"
    IDENTITY = "identity"  # "are you a bot?"


@dataclass(frozen=True)
class Emotion:
    """The mood of one message.

    ``compound`` is the lexicon score in [-1, 1]; ``signals`` names the rules that fired
    (for example ``"shouting"``, ``"profanity"``, ``"still_waiting"``); ``escalate`` is true
    when one message alone justifies offering a person (insult, profanity, shouting,
    complaint words such as "lawyer" or "chargeback").
    """

    mood: Mood = Mood.NEUTRAL
    compound: float = 0.0
    signals: tuple[str, ...] = ()
    escalate: bool = False


@dataclass(frozen=True)
class IntentScore:
    """One ranked intent with its calibrated probability."""

    name: str
    confidence: float


@dataclass(frozen=True)
class KnowledgeAnswer:
    """The best knowledge-base entry for a message, with its retrieval score in [0, 1]."""

    entry_id: str
    question: str
    answer: str
    score: float


@dataclass(frozen=True)
class Entity:
    """A value found in the text, such as an order number or an e-mail address."""

    kind: str
    value: str


@dataclass(frozen=True)
class IntentInfo:
    """What the domain says about one intent."""

    name: str
    behaviour: Behaviour
    title: str  # a short human label: "order status"
    answer_id: str | None = None  # knowledge-base entry that answers it, if fixed
    requires: tuple[str, ...] = ()  # entity kinds to ask for before answering
    apologise: bool = False  # the business is at fault when this happens (delay, double charge)


@dataclass(frozen=True)
class Understanding:
    """Everything the engine needs to know about one customer message.

    ``intent`` is ``None`` when the message is out of scope (or the classifier is not
    confident enough); ``ranking`` still lists the best guesses.
    """

    text: str
    intent: IntentInfo | None
    confidence: float
    ranking: tuple[IntentScore, ...] = ()
    out_of_scope: bool = False
    emotion: Emotion = field(default_factory=Emotion)
    knowledge: KnowledgeAnswer | None = None
    entities: tuple[Entity, ...] = ()
