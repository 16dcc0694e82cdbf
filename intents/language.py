"""Second opinion on whether a message is English, for texts the word check doubts.

The mood reader's cheap test (share of known English words) misjudges terse support
messages full of names, codes and jargon ("Just DM'd. Same issue persisting."): 3.7% of
the English airline tweets failed it. py3langid (BSD, its model ships in the wheel) then
decides, restricted to languages customers commonly write in so that a line of codes is
not read as Nigerian Pidgin or Volapük.
"""

from __future__ import annotations

from functools import cache

from py3langid.langid import MODEL_FILE, LanguageIdentifier

COMMON_LANGUAGES = (
    "en",
    "de",
    "es",
    "fr",
    "it",
    "nl",
    "pt",
    "ru",
    "pl",
    "tr",
    "sv",
    "da",
    "no",
    "fi",
    "cs",
    "sk",
    "ro",
    "hu",
    "el",
    "bg",
    "uk",
    "ar",
    "he",
    "fa",
    "hi",
    "zh",
    "ja",
    "ko",
    "id",
    "ms",
    "vi",
    "th",
)
"""Languages a message can be attributed to (ISO 639-1)."""

OTHER_LANGUAGE_MIN = 0.8
"""Probability above which another language overrules a doubtful English reading."""


@cache
def _identifier() -> LanguageIdentifier:
    """Loaded once per process (about a second): :func:`prepare` at start, else on first
    doubt."""
    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(COMMON_LANGUAGES)
    return identifier


def prepare() -> None:
    """Load the identifier now, so that no customer's message waits the second it takes."""
    _identifier()


def other_language(text: str) -> str | None:
    """The language ``text`` is confidently written in, if it is not English."""
    language, probability = _identifier().classify(text)
    if language != "en" and probability >= OTHER_LANGUAGE_MIN:
        return str(language)
    return None
