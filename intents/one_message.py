"""Products of one message's sparse row on plain arrays, with scipy's results bit for bit.

For one customer message the classifier and the knowledge base multiply one TF-IDF row by
a few matrices. scipy builds and checks a matrix object at every step (about seventeen per
message, tens of µs each), far more than the arithmetic. These helpers do the same float64
products and add them up in the same order as scipy's ``csr_matvecs`` and ``csr_matmat``
(every sum starts at 0.0 and takes its terms in the order scipy visits them), so every
value is the same, not just close (``tests/intents/test_one_message.py``).

A row is ``(indices, values)``: its column indices in ascending order and their values.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import csr_matrix

from intents.fast_tfidf import l2_normalised


def times_dense(indices: np.ndarray, values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``row @ weights`` for a C-ordered (columns × outputs) float64 array.

    scipy adds ``value * weights[column]`` to a zeroed result, column after column;
    ``np.add.reduce`` along the first axis with ``initial=0.0`` does the same.
    """
    products = values.astype(np.float64)[:, None] * weights[indices]
    result: np.ndarray = np.add.reduce(products, axis=0, initial=0.0)
    return result


def unit(values: np.ndarray) -> np.ndarray:
    """The row's values scaled to unit length, as float64 (zero rows stay zero)."""
    return l2_normalised(values.astype(np.float64))


class RowsByColumn:
    """A CSR matrix whose rows are indexed by a message row's columns: ``row @ matrix``.

    The message row's columns are visited in ascending order and, for each, the matrix
    row's entries: each output's sum takes its terms column by column, as scipy's sparse
    product does. Products are float64 (the matrix's values are converted once).
    """

    def __init__(self, matrix: csr_matrix) -> None:
        matrix = csr_matrix(matrix)
        self.indptr = np.asarray(matrix.indptr, dtype=np.int64)
        self.indices = np.asarray(matrix.indices, dtype=np.intp)
        self.data = np.asarray(matrix.data, dtype=np.float64)
        self.width = int(matrix.shape[1])

    def times(self, indices: np.ndarray, values: np.ndarray) -> np.ndarray:
        """The dense product ``row @ matrix`` (float64, one value per matrix column)."""
        starts = self.indptr[indices]
        lengths = self.indptr[indices + 1] - starts
        ends = np.cumsum(lengths)
        total = int(ends[-1]) if len(ends) else 0
        positions = np.repeat(starts - ends + lengths, lengths) + np.arange(total)
        products = np.repeat(values.astype(np.float64), lengths) * self.data[positions]
        result: np.ndarray = np.bincount(self.indices[positions], products, minlength=self.width)
        return result


class RowsTimesQuery:
    """A CSR matrix times one message row as a column: ``matrix @ row.T``, dense.

    scipy adds up each matrix row's terms in the row's stored order (which need not be
    ascending); multiplying every stored value by the message's value at its column (0.0
    where the message has none) and adding them up row by row in stored order gives the
    same sums: the extra terms are +0.0, which leave a sum of non-negative values as is.
    So this is exact only for matrices and rows without negative values (TF-IDF).
    """

    def __init__(self, matrix: csr_matrix) -> None:
        matrix = csr_matrix(matrix)
        if matrix.nnz and float(matrix.data.min()) < 0.0:
            raise ValueError("only for matrices without negative values")
        self.rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
        self.indices = np.asarray(matrix.indices, dtype=np.intp)
        self.data = np.asarray(matrix.data, dtype=np.float64)
        self.height = int(matrix.shape[0])
        self.query = np.zeros(int(matrix.shape[1]), dtype=np.float64)

    def times(self, indices: np.ndarray, values: np.ndarray) -> np.ndarray:
        """The dense product ``matrix @ row.T`` (float64, one value per matrix row)."""
        if len(values) and float(values.min()) < 0.0:
            raise ValueError("only for rows without negative values")
        query = self.query
        query[indices] = values
        try:
            products = self.data * query[self.indices]
        finally:
            query[indices] = 0.0
        result: np.ndarray = np.bincount(self.rows, products, minlength=self.height)
        return result
