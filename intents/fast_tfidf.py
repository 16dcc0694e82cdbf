"""TF-IDF of one message without scikit-learn's per-call overhead, with identical values.

``TfidfVectorizer.transform([text])`` spends most of its time (≈ 0.4 ms a call) checking
its input and building intermediate matrices; the arithmetic for one short message takes
microseconds. The engine asks for several such transforms per customer message (the
classifier's word and character features, the knowledge base's), so this module repeats
scikit-learn's own steps — count in-vocabulary features, sort by column, ``log + 1``,
multiply by the idf, L2-normalise with scikit-learn's routine — on plain arrays. The
result is the same matrix, value for value (``tests/intents/test_fast_tfidf.py``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.sparse import csr_matrix
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.utils.sparsefuncs_fast import inplace_csr_row_normalize_l2


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
        counts: dict[int, int] = {}
        vocabulary = self.vocabulary
        for feature in self.analyse(text):
            index = vocabulary.get(feature)
            if index is not None:
                counts[index] = counts.get(index, 0) + 1
        indices = np.fromiter(sorted(counts), dtype=np.int32, count=len(counts))
        data = np.fromiter((counts[i] for i in indices), dtype=self.dtype, count=len(counts))
        vectorizer = self.vectorizer
        if vectorizer.binary:
            data.fill(1)
        if vectorizer.sublinear_tf:
            np.log(data, data)
            data += 1.0
        if self.idf is not None:
            data *= self.idf[indices]
        if vectorizer.norm == "l2" and len(data):
            row = csr_matrix(
                (data, indices, np.array([0, len(data)], dtype=np.int32)), shape=(1, self.width)
            )
            inplace_csr_row_normalize_l2(row)
            data = row.data
        return indices, data


def one_row(parts: list[OneText], text: str) -> csr_matrix:
    """``hstack([part.transform([text]) for part in parts])`` as one CSR row."""
    indices: list[np.ndarray] = []
    values: list[np.ndarray] = []
    offset = 0
    for part in parts:
        columns, data = part.columns(text)
        indices.append(columns + offset if offset else columns)
        values.append(data)
        offset += part.width
    data = np.concatenate(values) if len(values) > 1 else values[0]
    columns = np.concatenate(indices) if len(indices) > 1 else indices[0]
    indptr = np.array([0, len(data)], dtype=np.int32)
    return csr_matrix((data, columns.astype(np.int32, copy=False), indptr), shape=(1, offset))
