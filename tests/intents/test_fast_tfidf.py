"""The one-message TF-IDF path gives exactly scikit-learn's matrix, value for value."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.sparse import csr_matrix, hstack
from sklearn.feature_extraction.text import TfidfVectorizer

from intents.base import Understander
from intents.fast_tfidf import OneText, one_row

ODD = [
    "",
    "   ",
    "hello",
    "HELLO!!",
    "the the the the",
    "café déjà vu 😀",
    "4111 1111 1111 1111",
    "where is my order? it's been three weeks!!! order #48213",
    "x" * 500,
]


def _same(expected: csr_matrix, got: csr_matrix) -> bool:
    expected = csr_matrix(expected)
    expected.sort_indices()
    return (
        expected.shape == got.shape
        and expected.dtype == got.dtype
        and np.array_equal(expected.indices, got.indices)
        and np.array_equal(expected.data, got.data)
    )


def test_the_shipped_models_vectorizers(understander: Understander) -> None:
    model = understander.classifier._model  # type: ignore[attr-defined]
    knowledge = understander.knowledge  # type: ignore[attr-defined]
    texts, _ = understander.domain.training_data()  # type: ignore[attr-defined]
    pairs = [(model.word, model.char), (knowledge._word, knowledge._char)]
    for word, char in pairs:
        parts = [OneText(word), OneText(char)]
        for text in [*texts, *ODD]:
            expected = hstack([word.transform([text]), char.transform([text])])
            assert _same(expected, one_row(parts, text)), text


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"sublinear_tf": True, "dtype": np.float32},
        {"binary": True, "use_idf": False},
        {"norm": None, "analyzer": "char_wb", "ngram_range": (2, 4)},
        {"norm": "l1"},  # handed to scikit-learn itself
        {"stop_words": "english", "ngram_range": (1, 2)},
    ],
)
def test_vectorizer_options(options: dict[str, object]) -> None:
    corpus = ["how can I pay", "do you ship abroad", "where is my order", "pay by card please"]
    vectorizer = TfidfVectorizer(**options).fit(corpus)  # type: ignore[arg-type]
    for text in [*corpus, *ODD, "card card card pay"]:
        assert _same(vectorizer.transform([text]), one_row([OneText(vectorizer)], text)), text
