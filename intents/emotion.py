"""Mood of one customer message: the VADER lexicon plus support-specific rules.

VADER (its lexicon ships inside the wheel) reads ordinary sentiment well but misses what
support customers actually write: "I'm still waiting" scores 0.0 and "Great, another
delay. Just perfect." scores +0.76. The rules in :mod:`intents.emotion_rules` catch
implicit frustration (waits, time on hold, broken promises, complaint questions, churn
threats), sarcasm, shouting, profanity, insults and complaint words; each rule that fires
is named in ``Emotion.signals`` so a person can see why. Weak cues ("still", "delay")
only shift the score, so praise despite a delay stays praise; the words a customer uses
to ask ("please help", "I'd like to", "thanks" after a question) are not counted as
praise.

``compound`` stays on VADER's scale (the engine hands off after two messages at or below
-0.5), so implicit frustration pushes it down: "still waiting for the third time" lands
near -0.9. Text that does not look English (:mod:`intents.language` decides when the
word check doubts) falls back to neutral: the lexicon cannot read it, and a wrong "angry"
is worse than no reading at all.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from intents.emotion_rules import RULES, SUPPORT_WORDS, Rule
from intents.language import other_language
from intents.profanity import has_profanity
from intents.types import Emotion, Mood

POSITIVE_MIN = 0.3
"""Compound at or above which a message reads as positive (VADER's 0.05 is too eager for
support text: "I want to speak to a human" scores +0.08)."""
FRUSTRATED_MAX = -0.15
"""Compound at or below which a message with no other signal reads as frustrated."""
ANGRY_MAX = -0.75
"""Compound at or below which a message reads as angry even without an explicit signal."""

REQUEST_WORDS = frozenset(
    {"help", "please", "pls", "hope", "wish", "like", "want", "free", "sure", "yes", "yeah"}
    | {"ok", "okay"}
)
"""Words VADER scores as positive that in a support message only ask, hedge or answer
("please help", "I'd like to", "I hope you can", "not sure", "free delivery?", "yes, the
blue one"): they are not praise."""

PRAISE_MIN = 0.7
"""VADER compound from which weak cues ("still", "delay", "again") no longer turn praise
into a complaint: "the crew were amazing despite the delay" stays positive."""

_POLITENESS = re.compile(
    r"\b(?:thanks?(?: you)?(?: so much| very much| in advance)?|thx|ty|cheers|hi|hello|hey)\b",
    re.IGNORECASE,
)
"""Courtesy around a question: "how do I change my address? Thanks!" asks, it does not praise."""

_REQUEST = re.compile(r"\?|\b(?:please|pls|plz)\b", re.IGNORECASE)
"""A question or a plea: its courtesy words are not scored."""

_PLAIN_ANSWER = re.compile(
    r"^\W*(?:no|nope|nah|no,? thanks?(?: you)?|not really|not now|not yet)\W*$", re.IGNORECASE
)
"""A bare "no" answers the bot's question; VADER would call it negative."""

_WORD = re.compile(r"[^\W\d_]{2,}")
_CAPS_WORD = re.compile(r"\b[A-Z]{3,}\b")
_REPEATED_PUNCTUATION = re.compile(r"[!?]{2,}")
_NOISE = re.compile(r"(?:https?://|www\.)\S+|(?<!\w)@\w+")
"""Links and @handles: "@united" must not read as a happy word."""


class EmotionReader:
    """Reads the mood of single messages; cheap to call, build it once."""

    def __init__(self, vocabulary: Iterable[str] = ()) -> None:
        """Build the reader.

        Args:
            vocabulary: extra English words (e.g. from the domain's examples) that count as
                evidence a message is English, so "refund pls" is not mistaken for another
                language.
        """
        self._vader = SentimentIntensityAnalyzer()
        for word in REQUEST_WORDS:
            self._vader.lexicon.pop(word, None)
        self._english = (
            set(ENGLISH_STOP_WORDS)
            | set(self._vader.lexicon)
            | SUPPORT_WORDS
            | {word.lower() for word in vocabulary}
        )

    def read(self, text: str, language: str | None = None) -> Emotion:
        """The mood of one message (``language`` is an ISO code if the channel knows it)."""
        text = _NOISE.sub(" ", text).replace("#", " ")
        if not text.strip():
            return Emotion()
        if language and not language.lower().startswith("en"):
            return Emotion(signals=("non_english",))
        if not self.looks_english(text):
            return Emotion(signals=("non_english",))
        if _PLAIN_ANSWER.match(text):
            return Emotion()
        scored = _POLITENESS.sub(" ", text) if _REQUEST.search(text) else text
        vader = float(self._vader.polarity_scores(scored)["compound"])
        fired = [rule for rule in RULES if rule.pattern.search(text)]
        signals = [rule.name for rule in fired]
        escalate = any(rule.escalate for rule in fired)
        if has_profanity(text):
            signals.append("profanity")
            escalate = True
        praised = vader >= PRAISE_MIN
        negative = (
            any(rule.delta < 0 and not (rule.weak and praised) for rule in fired)
            or "profanity" in signals
        )
        if "sarcasm" in signals:
            vader = min(-0.4, -abs(vader))
        compound = min(vader, 0.0) if negative else vader
        compound += sum(rule.delta for rule in fired)
        if "profanity" in signals:
            compound -= 0.4
        if self._shouting(text) and compound < POSITIVE_MIN:
            signals.append("shouting")
            escalate = True
            compound -= 0.25
        if _REPEATED_PUNCTUATION.search(text):
            signals.append("repeated_punctuation")
            if compound < POSITIVE_MIN:
                compound -= 0.15
        compound = max(-1.0, min(1.0, compound))
        mood = self._mood(compound, fired, escalate, signals)
        return Emotion(mood, round(compound, 4), tuple(signals), escalate)

    def looks_english(self, text: str) -> bool:
        """Mostly ASCII letters and enough known English words, or else no other language."""
        letters = [c for c in text if c.isalpha()]
        if not letters:
            return True  # emoji and punctuation: let VADER read them
        if sum(1 for c in letters if not c.isascii()) / len(letters) > 0.3:
            return False
        words = [w.lower() for w in _WORD.findall(text)]
        if len(words) < 3:
            return True
        known = sum(1 for word in words if word in self._english)
        return known / len(words) >= 0.34 or other_language(text) is None

    @staticmethod
    def _shouting(text: str) -> bool:
        letters = [c for c in text if c.isalpha()]
        caps_words = [w for w in _CAPS_WORD.findall(text) if len(w) >= 4 or w in {"NOW", "WHY"}]
        if len(letters) >= 10 and sum(c.isupper() for c in letters) / len(letters) >= 0.7:
            return True
        return len(caps_words) >= 2

    @staticmethod
    def _mood(compound: float, fired: list[Rule], escalate: bool, signals: list[str]) -> Mood:
        # Weak cues ("still", "delay") only shift the score; they suggest no mood of their own.
        moods = {rule.mood for rule in fired if not rule.weak}
        if escalate:
            return Mood.ANGRY
        if Mood.ANXIOUS in moods and compound < POSITIVE_MIN:
            return Mood.ANXIOUS
        if Mood.FRUSTRATED in moods:
            # Implicit frustration stays "frustrated" however low it pushes the score:
            # anger needs an explicit sign (insult, profanity, shouting, complaint words).
            return Mood.FRUSTRATED
        if compound <= ANGRY_MAX and not any(rule.weak for rule in fired):
            return Mood.ANGRY
        if Mood.CONFUSED in moods:
            return Mood.CONFUSED
        if compound <= FRUSTRATED_MAX:
            return Mood.FRUSTRATED
        if compound >= POSITIVE_MIN:
            return Mood.POSITIVE
        if "repeated_punctuation" in signals and compound < 0:
            return Mood.FRUSTRATED
        return Mood.NEUTRAL
