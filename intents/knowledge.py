"""Knowledge-base retrieval: the FAQ entry whose question variants best match a message.

TF-IDF over word and character n-grams, cosine similarity, best variant per entry. It is
deliberately simple and transparent: a business can see why an entry matched (shared
words) and fix it by adding a question variant, with no retraining step.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.sparse import hstack
from sklearn.feature_extraction.text import TfidfVectorizer

from intents.domain import FaqEntry
from intents.fast_tfidf import OneText, one_columns
from intents.one_message import RowsTimesQuery
from intents.types import KnowledgeAnswer

KNOWLEDGE_MIN_SCORE = 0.45
"""The recommended bar: answer from an entry only when its score reaches this.

Below it, the engine should clarify or hand off. Chosen on the shipped shop domain so
that paraphrases of a question pass and questions about other topics do not (see
``tests/intents/test_knowledge.py``).
"""


class KnowledgeBase:
    """Finds the best FAQ entry for a message, with a score in [0, 1]."""

    def __init__(self, entries: Sequence[FaqEntry]) -> None:
        self._entries = {entry.entry_id: entry for entry in entries}
        self._owner: list[str] = []
        variants: list[str] = []
        for entry in entries:
            for question in entry.questions:
                variants.append(question.text)
                self._owner.append(entry.entry_id)
        self._word = TfidfVectorizer(
            analyzer="word", ngram_range=(1, 2), sublinear_tf=True, stop_words="english"
        )
        self._char = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True)
        self._matrix = None
        self._one: list[OneText] | None = None  # built on first use, once fitted
        self._product: RowsTimesQuery | None = None
        self._last: tuple[str, np.ndarray] | None = None
        if variants:
            # Word n-grams without stop words carry the topic; character n-grams catch
            # typos and word forms. Each half is L2-normalised, so the mean of the two
            # cosines is itself in [0, 1].
            try:
                words = self._word.fit_transform(variants)
            except ValueError:  # only stop words in every variant
                self._word = TfidfVectorizer(analyzer="word", ngram_range=(1, 2))
                words = self._word.fit_transform(variants)
            self._matrix = hstack([words, self._char.fit_transform(variants)]).tocsr()

    def answer(self, entry_id: str) -> str | None:
        """The answer template of one entry, by id."""
        entry = self._entries.get(entry_id)
        return entry.answer if entry else None

    def score(self, text: str, entry_id: str) -> float:
        """How well the message matches one given entry (0 if unknown)."""
        scores = self._variant_scores(text)
        mask = [owner == entry_id for owner in self._owner]
        return float(scores[mask].max()) if scores.size and any(mask) else 0.0

    def best(self, text: str) -> KnowledgeAnswer | None:
        """The best-matching entry, or ``None`` if nothing shares a single n-gram."""
        scores = self._variant_scores(text)
        if not scores.size or scores.max() <= 0.0:
            return None
        index = int(np.argmax(scores))
        entry = self._entries[self._owner[index]]
        return KnowledgeAnswer(
            entry_id=entry.entry_id,
            question=entry.questions[0].text,
            answer=entry.answer,
            score=round(float(scores[index]), 4),
        )

    def _variant_scores(self, text: str) -> np.ndarray:
        if self._matrix is None or not text.strip():
            return np.zeros(0)
        if self._last is not None and self._last[0] == text:
            return self._last[1]  # best() then score() for the same message
        if self._one is None or self._product is None:
            self._one = [OneText(self._word), OneText(self._char)]
            self._product = RowsTimesQuery(self._matrix)
        sims = self._product.times(*one_columns(self._one, text)) / 2.0
        scores = np.clip(sims, 0.0, 1.0)
        scores.setflags(write=False)
        self._last = (text, scores)
        return scores
