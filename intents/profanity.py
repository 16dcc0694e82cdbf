"""Swear words: better-profanity's bundled list, kept to entries built on a swearing root.

A sworn message is a sign of anger on its own (PRODUCT.md §4 trigger 3), so the list must
not flag ordinary words that merely appear in a generic profanity list.
"""

from __future__ import annotations

import itertools
import re
from importlib import resources

_STRONG_ROOTS = (
    "fuck",
    "fck",
    "fuk",
    "fcuk",
    "phuck",
    "phuk",
    "shit",
    "sh1t",
    "sh!t",
    "cunt",
    "bitch",
    "bastard",
    "asshole",
    "arsehole",
    "dick",
    "prick",
    "piss",
    "crap",
    "damn",
    "dam",
    "wtf",
    "stfu",
    "gtfo",
    "twat",
    "wank",
    "tosser",
    "douche",
    "jackass",
    "dumbass",
    "dumass",
    "motherf",
    "mothaf",
    "muthaf",
    "bellend",
    "knobhead",
    "slut",
    "whore",
    "retard",
    "hell",
)
_CENSORED = re.compile(r"\b(?:f[\*#@]{2,}k?|f[\*#@]ck|sh[\*#@]t|s[\*#@]{2,}t|b[\*#@]tch)")


def _load_profanity() -> frozenset[str]:
    """Swear words from better-profanity's bundled list, minus its non-swearing entries.

    The full list flags ordinary support words ("virgin", "screwed", "fat", "omg",
    "stupid"), which would call a customer flying Virgin America angry; only entries
    built on a swearing root are kept.
    """
    text = (resources.files("better_profanity") / "profanity_wordlist.txt").read_text("utf-8")
    words = {line.strip().lower() for line in text.splitlines() if line.strip()}
    return frozenset(w for w in words if any(root in w for root in _STRONG_ROOTS))


PROFANITY = _load_profanity()
_TOKEN = re.compile(r"[a-z0-9@$!*+#'._-]+")


def has_profanity(text: str) -> bool:
    """True when a swear word (or a censored one such as ``f***``) appears."""
    lowered = text.lower()
    if _CENSORED.search(lowered):
        return True
    tokens = [t.strip("'.!_-") for t in _TOKEN.findall(lowered)]
    pairs = (f"{a} {b}" for a, b in itertools.pairwise(tokens))
    return any(t in PROFANITY for t in tokens) or any(p in PROFANITY for p in pairs)
