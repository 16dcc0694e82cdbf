"""Turning classifier scores into honest probabilities and an out-of-scope threshold.

Kept apart from the classifier because both steps are plain arithmetic on out-of-fold
scores: they are easy to test on their own and any scoring model can reuse them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.optimize import minimize_scalar

FloatArray = np.ndarray


def softmax(scores: FloatArray) -> FloatArray:
    """Row-wise softmax, numerically stable for any score scale."""
    shifted = scores - scores.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    result: FloatArray = exp / exp.sum(axis=-1, keepdims=True)
    return result


def fit_temperature(scores: Sequence[FloatArray], truth: Sequence[int]) -> float:
    """The temperature T minimising the log-loss of ``softmax(scores / T)``.

    Temperature scaling (Guo et al. 2017) has one parameter, so it cannot overfit the
    out-of-fold scores and it never changes which intent ranks first.
    """
    matrix = np.vstack(scores)
    rows = np.arange(len(truth))
    target = np.asarray(truth)

    def loss(log_t: float) -> float:
        probs = softmax(matrix / np.exp(log_t))
        return float(-np.log(np.clip(probs[rows, target], 1e-12, None)).mean())

    result = minimize_scalar(loss, bounds=(-6.0, 4.0), method="bounded")
    return float(np.exp(result.x))


def choose_threshold(
    correct: FloatArray, wrong: FloatArray, oos: FloatArray, max_answer_loss: float = 1.0
) -> float:
    """The in-scope-score bar that best serves customers, from out-of-fold scores.

    ``correct``/``wrong`` are the scores of in-scope messages the model got right/wrong,
    ``oos`` those of messages from held-out intents. The bar maximises the sum of
    in-scope accuracy (right *and* accepted) and out-of-scope recall (rejected), so it
    weighs "answered correctly" and "knew it did not know" equally, among the bars that
    turn away at most ``max_answer_loss`` of the messages it would have answered right:
    an unknown topic costs a hand-off, a known one sent to a person costs a customer's
    time, so the product caps that loss instead of trading it freely. Rejecting a wrong
    in-scope guess costs nothing here: the engine clarifies instead of guessing.
    """
    if len(oos) == 0 or len(correct) == 0:
        return 0.0
    candidates = np.unique(np.concatenate([correct, oos, [0.0]]))
    kept_right = np.array([(correct >= t).mean() for t in candidates])
    rejected_oos = np.array([(oos < t).mean() for t in candidates])
    gain = kept_right * len(correct) / (len(correct) + len(wrong)) + rejected_oos
    gain[kept_right < 1.0 - max_answer_loss - 1e-12] = -np.inf
    best = int(np.argmax(gain))
    # Midway to the next lower candidate, so a tiny shift in scores flips no decision.
    return float((candidates[best - 1] + candidates[best]) / 2) if best > 0 else 0.0
