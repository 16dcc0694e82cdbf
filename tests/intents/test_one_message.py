"""One message's sparse products on plain arrays equal scipy's, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.sparse import csr_matrix
from scipy.sparse import random as sparse_random

from intents.base import Understander
from intents.classifier import _unit_rows
from intents.fast_tfidf import OneText, one_row
from intents.knowledge import KnowledgeBase
from intents.one_message import RowsByColumn, RowsTimesQuery, times_dense, unit

ODD = ["", "   ", "hello", "zzzz qqq", "x" * 300, "café déjà vu 😀", "4111 1111 1111 1111"]


def _row(seed: int, width: int, density: float = 0.05) -> csr_matrix:
    row = sparse_random(1, width, density=density, random_state=seed, format="csr")
    row.data = row.data.astype(np.float32)
    row.sort_indices()
    return row


@pytest.mark.parametrize("seed", range(20))
def test_products_match_scipy_bit_for_bit(seed: int) -> None:
    row = _row(seed, 400)
    rng = np.random.default_rng(seed)
    weights = rng.normal(size=(400, 7))
    expected = np.asarray(row @ weights, dtype=np.float64)[0]
    got = times_dense(row.indices, row.data, np.ascontiguousarray(weights))
    assert np.array_equal(expected, got)
    assert np.array_equal(_unit_rows(row).data, unit(row.data))
    examples = sparse_random(400, 30, density=0.1, random_state=seed + 1, format="csr")
    examples.data = examples.data.astype(np.float32)
    unit_row = csr_matrix((unit(row.data), row.indices, row.indptr), shape=row.shape)
    expected_sims = np.asarray((unit_row @ examples).todense())[0]
    assert np.array_equal(expected_sims, RowsByColumn(examples).times(row.indices, unit(row.data)))
    matrix = sparse_random(25, 400, density=0.1, random_state=seed + 2, format="csr")
    matrix.indices = matrix.indices.copy()
    shuffled = csr_matrix(matrix)  # stored out of order within rows, as scikit-learn's can be
    for start, end in zip(shuffled.indptr[:-1], shuffled.indptr[1:], strict=True):
        order = rng.permutation(end - start)
        shuffled.indices[start:end] = shuffled.indices[start:end][order]
        shuffled.data[start:end] = shuffled.data[start:end][order]
    query = csr_matrix(row, dtype=np.float64)
    for stored in (matrix, shuffled):
        expected_scores = np.asarray((stored @ query.T).toarray()).ravel()
        got_scores = RowsTimesQuery(stored).times(query.indices, query.data)
        assert np.array_equal(expected_scores, got_scores)


def test_empty_rows() -> None:
    empty = np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float32)
    assert np.array_equal(times_dense(*empty, np.ones((5, 3))), np.zeros(3))
    assert np.array_equal(RowsByColumn(csr_matrix(np.ones((5, 4)))).times(*empty), np.zeros(4))
    assert np.array_equal(RowsTimesQuery(csr_matrix(np.ones((2, 5)))).times(*empty), np.zeros(2))
    assert len(unit(empty[1])) == 0


def test_negative_values_are_refused() -> None:
    with pytest.raises(ValueError):
        RowsTimesQuery(csr_matrix(np.array([[1.0, -1.0]])))
    product = RowsTimesQuery(csr_matrix(np.array([[1.0, 1.0]])))
    with pytest.raises(ValueError):
        product.times(np.array([0]), np.array([-1.0]))
    assert np.array_equal(product.times(np.array([1]), np.array([2.0])), [2.0])  # still usable


def test_the_shipped_classifier_gives_the_sparse_paths_values(understander: Understander) -> None:
    model = understander.classifier._model  # type: ignore[attr-defined]
    texts, _ = understander.domain.training_data()  # type: ignore[attr-defined]
    for text in [*texts, *ODD]:
        raw, signals = model._signals_sparse([text])
        fast_raw, fast_signals = model.signals([text])
        assert raw.dtype == fast_raw.dtype and signals.shape == fast_signals.shape
        assert np.array_equal(raw, fast_raw), text
        assert np.array_equal(signals, fast_signals, equal_nan=True), text


def _sparse_variant_scores(knowledge: KnowledgeBase, text: str) -> np.ndarray:
    """The knowledge base's variant scores by scipy's sparse product (the reference)."""
    if knowledge._matrix is None or not text.strip():
        return np.zeros(0)
    query = one_row([OneText(knowledge._word), OneText(knowledge._char)], text)
    sims = np.asarray((knowledge._matrix @ query.T).toarray()).ravel() / 2.0
    return np.clip(sims, 0.0, 1.0)


def test_the_shipped_knowledge_base_gives_the_sparse_paths_scores(
    understander: Understander,
) -> None:
    knowledge = understander.knowledge  # type: ignore[attr-defined]
    texts, _ = understander.domain.training_data()  # type: ignore[attr-defined]
    for text in [*texts, *ODD]:
        expected = _sparse_variant_scores(knowledge, text)
        got = knowledge._variant_scores(text)
        assert expected.dtype == got.dtype and np.array_equal(expected, got), text
