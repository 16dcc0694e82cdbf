"""BERT's uncased WordPiece tokenizer, in plain Python, for the sentence encoder.

Why not a tokenizer library: the only one that reads this vocabulary drags in a model-hub
client we never want at run time, and BERT's rules are short. They are: drop control
characters, put spaces around CJK ideographs, lower-case, strip accents, split on
whitespace and punctuation, then cut each word into the longest vocabulary pieces
("refunded" → "refund", "##ed"). The ids match the reference tokenizer on every
Banking77 and airline-tweet text (tests/intents/test_embeddings.py checks known ids).
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from pathlib import Path

_CJK = (
    (0x4E00, 0x9FFF),
    (0x3400, 0x4DBF),
    (0x20000, 0x2A6DF),
    (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F),
    (0x2B820, 0x2CEAF),
    (0xF900, 0xFAFF),
    (0x2F800, 0x2FA1F),
)
MAX_WORD_CHARS = 100  # longer "words" are one unknown token, as in BERT


class WordPiece:
    """Text → token ids with ``[CLS]`` … ``[SEP]``, at most ``max_tokens`` long."""

    def __init__(self, vocabulary: Path, max_tokens: int = 128) -> None:
        words = vocabulary.read_text(encoding="utf-8").splitlines()
        self.vocab = {word: index for index, word in enumerate(words)}
        self.max_tokens = max_tokens
        self.cls, self.sep, self.unk = (self.vocab[t] for t in ("[CLS]", "[SEP]", "[UNK]"))

    def ids(self, text: str) -> list[int]:
        """Token ids of one text, special tokens included."""
        pieces: list[int] = []
        for word in _words(text):
            pieces.extend(self._pieces(word))
        return [self.cls, *pieces[: self.max_tokens - 2], self.sep]

    def _pieces(self, word: str) -> list[int]:
        if len(word) > MAX_WORD_CHARS:
            return [self.unk]
        out: list[int] = []
        start = 0
        while start < len(word):
            end = len(word)
            while end > start:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in self.vocab:
                    out.append(self.vocab[piece])
                    break
                end -= 1
            else:
                return [self.unk]  # no piece fits: the whole word is unknown
            start = end
        return out


def _words(text: str) -> list[str]:
    """BERT's normalisation and pre-tokenisation: lower-case words and punctuation marks."""
    out: list[str] = []
    current: list[str] = []
    for char in _normalise(text):
        if char == " ":
            if current:
                out.append("".join(current))
                current = []
        elif _is_punctuation(char):
            if current:
                out.append("".join(current))
                current = []
            out.append(char)
        else:
            current.append(char)
    if current:
        out.append("".join(current))
    return out


def _normalise(text: str) -> str:
    chars: list[str] = []
    for char in text:
        code = ord(char)
        if code == 0 or code == 0xFFFD or _is_control(char):
            continue
        if char.isspace():
            chars.append(" ")
        elif any(low <= code <= high for low, high in _CJK):
            chars.extend((" ", char, " "))
        else:
            chars.append(char)
    decomposed = unicodedata.normalize("NFD", "".join(chars))
    return "".join(c for c in decomposed if unicodedata.category(c) != "Mn").lower()


def _is_control(char: str) -> bool:
    return char not in "\t\n\r" and unicodedata.category(char).startswith("C")


@lru_cache(maxsize=4096)
def _is_punctuation(char: str) -> bool:
    code = ord(char)
    if 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126:
        return True
    return unicodedata.category(char).startswith("P")
