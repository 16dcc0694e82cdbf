"""TF-IDF of one message without scikit-learn's per-call overhead, with identical values.

``TfidfVectorizer.transform([text])`` spends most of its time (≈ 0.4 ms a call) checking
its input and building intermediate matrices; the arithmetic for one short message takes
microseconds. The engine asks for several such transforms per customer message (the
classifier's word and character features, the knowledge base's), so this module repeats
scikit-learn's own steps — count in-vocabulary features, sort by column, ``log + 1``,
multiply by the idf, L2-normalise in the order of scikit-learn's own loop — on plain
arrays. The result is the same matrix, value for value (``tests/intents/test_fast_tfidf.py``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import cast

import numpy as np
from scipy.sparse import csr_matrix
from sklearn.feature_extraction.text import TfidfVectorizer


class OneText:
    """A fitted ``TfidfVectorizer``, for one text at a time."""

    def __init__(self, vectorizer: TfidfVectorizer) -> None:
        self.vectorizer = vectorizer
        self.analyse: Callable[[str], list[str]] = vectorizer.build_analyzer()
        self.vocabulary: dict[str, int] = vectorizer.vocabulary_
        self.width = len(self.vocabulary)
        self.dtype = np.dtype(vectorizer.dtype)
        self.idf = vectorizer.idf_ if vectorizer.use_idf else None
        # Anything unusual goes through scikit-learn itself.
        self.exact = vectorizer.norm in ("l2", None) and self.dtype in (np.float32, np.float64)

    def columns(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """The row's (sorted column indices, values), as ``transform([text])`` has them."""
        if not self.exact:
            row = csr_matrix(self.vectorizer.transform([text]))
            return row.indices, row.data
        return self.counted(self.analyse(text))

    def counted(self, features: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`columns` of a text whose features (``analyse(text)``) are already known."""
        if not self.exact:
            raise ValueError("this vectorizer goes through scikit-learn: use columns()")
        # Counted in a dict and sorted: for a message's few dozen features ``np.unique``
        # costs more than the counting (the same sorted columns and counts).
        found: Counter[int | None] = Counter(map(self.vocabulary.get, features))
        found.pop(None, None)  # out-of-vocabulary features
        counts = cast("Counter[int]", found)
        ordered = sorted(counts)
        indices = np.array(ordered, dtype=np.int32)
        data = np.fromiter(map(counts.__getitem__, ordered), self.dtype, len(ordered))
        vectorizer = self.vectorizer
        if vectorizer.binary:
            data.fill(1)
        if vectorizer.sublinear_tf:
            np.log(data, data)
            data += 1.0
        if self.idf is not None:
            data *= self.idf[indices]
        if vectorizer.norm == "l2" and len(data):
            data = l2_normalised(data)
        return indices, data


def l2_normalised(data: np.ndarray) -> np.ndarray:
    """scikit-learn's ``inplace_csr_row_normalize_l2`` for one row, without a matrix.

    Its loop squares each value in the row's own dtype, adds the squares up one by one in
    a double, and divides each value by the double square root (rounded back to the
    dtype); ``np.bincount`` adds in that order in float64.
    """
    squares = np.bincount(np.zeros(len(data), dtype=np.intp), data * data, minlength=1)[0]
    if squares == 0.0:
        return data
    normalised: np.ndarray = (data.astype(np.float64) / np.sqrt(squares)).astype(data.dtype)
    return normalised


def one_columns(parts: list[OneText], text: str) -> tuple[np.ndarray, np.ndarray]:
    """The (column indices, values) of :func:`one_row`, without building the matrix."""
    indices: list[np.ndarray] = []
    values: list[np.ndarray] = []
    offset = 0
    for part in parts:
        columns, data = part.columns(text)
        indices.append(columns + offset if offset else columns)
        values.append(data)
        offset += part.width
    return _joined(indices, values)


def _joined(indices: list[np.ndarray], values: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    data = np.concatenate(values) if len(values) > 1 else values[0]
    columns = np.concatenate(indices) if len(indices) > 1 else indices[0]
    return columns.astype(np.int32, copy=False), data


def one_row(parts: list[OneText], text: str) -> csr_matrix:
    """``hstack([part.transform([text]) for part in parts])`` as one CSR row."""
    columns, data = one_columns(parts, text)
    indptr = np.array([0, len(data)], dtype=np.int32)
    width = sum(part.width for part in parts)
    return csr_matrix((data, columns, indptr), shape=(1, width))
