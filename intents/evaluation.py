"""``carebot eval``: measure the intent classifier and the mood reader on labelled CSVs.

Kept separate from the CLI so benchmarks and tests can call it and get numbers back.
The test set is used once, for the final figures: everything the classifier learns,
including the out-of-scope threshold, comes from the training rows.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from intents.classifier import ClassifierConfig, IntentClassifier
from intents.emotion import EmotionReader
from intents.types import Mood

OOS = "__out_of_scope__"
Progress = Callable[[Iterable[Any], int, str], Iterable[Any]]
LABEL_FALLBACKS = ("label", "category", "intent", "mood", "sentiment")


class DataError(ValueError):
    """A CSV file cannot be used; the message says which file and why."""


def read_csv(
    path: Path,
    text_column: str = "text",
    label_column: str | None = None,
    where: Sequence[tuple[str, str]] = (),
) -> tuple[list[str], list[str]]:
    """Rows of ``text`` and ``label`` (the label column defaults to the first of
    :data:`LABEL_FALLBACKS` present). ``where`` keeps only rows whose column equals a value.
    """
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            columns = list(reader.fieldnames or [])
            label = label_column or next((c for c in LABEL_FALLBACKS if c in columns), "label")
            for needed in (text_column, label, *(c for c, _ in where)):
                if needed not in columns:
                    raise DataError(
                        f"{path}: no column {needed!r} (columns: {', '.join(columns) or 'none'})"
                    )
            rows = [r for r in reader if all(_same(r[c], v) for c, v in where)]
    except OSError as exc:
        raise DataError(f"{path}: {exc.strerror or exc}") from exc
    except (UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"{path}: not a readable UTF-8 CSV file ({exc})") from exc
    texts = [row[text_column] or "" for row in rows]
    labels = [(row[label] or "").strip() for row in rows]
    if not texts:
        raise DataError(f"{path}: no rows")
    return texts, labels


def _same(value: str | None, wanted: str) -> bool:
    try:
        return float(value or "nan") == float(wanted)
    except ValueError:
        return (value or "") == wanted


def subsample(
    texts: Sequence[str], labels: Sequence[str], shots: int, seed: int
) -> tuple[list[str], list[str]]:
    """At most ``shots`` random examples per label (the few-shot setting)."""
    rng = np.random.default_rng(seed)
    label_arr = np.asarray(labels, dtype=object)
    keep: list[int] = []
    for label in sorted(set(labels)):
        idx = np.flatnonzero(label_arr == label)
        keep.extend(rng.choice(idx, min(shots, len(idx)), replace=False).tolist())
    keep.sort()
    return [texts[i] for i in keep], [labels[i] for i in keep]


def hold_out(
    train: tuple[list[str], list[str]], test: tuple[list[str], list[str]], count: int, seed: int
) -> tuple[tuple[list[str], list[str]], tuple[list[str], list[str]], list[str]]:
    """Remove ``count`` random intents from training and relabel them out-of-scope in test."""
    rng = np.random.default_rng(seed)
    intents = sorted(set(train[1]))
    unknown = sorted(str(x) for x in rng.choice(intents, count, replace=False))
    kept = [(t, y) for t, y in zip(*train, strict=True) if y not in unknown]
    test_labels = [OOS if y in unknown else y for y in test[1]]
    return ([t for t, _ in kept], [y for _, y in kept]), (test[0], test_labels), unknown


@dataclass
class IntentReport:
    """Figures of one intent evaluation (fractions in [0, 1], times in seconds/ms)."""

    train_rows: int
    test_rows: int
    intents: int
    accuracy: float
    macro_f1: float
    in_scope_accuracy: float
    oos_precision: float | None
    oos_recall: float | None
    oos_f1: float | None
    threshold: float
    train_seconds: float
    latency_p50_ms: float
    latency_p99_ms: float
    seed: int | None = None
    model: str = "light"
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Plain values for ``--json``."""
        return asdict(self)


def evaluate_intents(
    train: tuple[list[str], list[str]],
    test: tuple[list[str], list[str]],
    *,
    oos_label: str | None = None,
    config: ClassifierConfig | None = None,
    progress: Progress | None = None,
    seed: int | None = None,
) -> IntentReport:
    """Train on ``train``, then classify each test row once, one message at a time.

    The whole test loop, embedding included, is timed per message.
    Without ``oos_label`` every test row is in scope and accuracy is plain top-1 (the
    out-of-scope threshold is not applied). With it, rows carrying that label must be
    rejected, and a rejected in-scope row counts as wrong.
    """
    train_texts, train_labels = train
    if oos_label is not None:
        pairs = [(t, y) for t, y in zip(train_texts, train_labels, strict=True) if y != oos_label]
        train_texts, train_labels = [t for t, _ in pairs], [y for _, y in pairs]
    start = time.perf_counter()
    classifier = IntentClassifier(config).fit(train_texts, train_labels)
    train_seconds = time.perf_counter() - start
    texts, truth = test
    truth = [OOS if oos_label is not None and y == oos_label else y for y in truth]
    labels = np.asarray(classifier.labels, dtype=object)
    predicted: list[str] = []
    latencies: list[float] = []
    rows: Iterable[str] = progress(texts, len(texts), "classifying") if progress else texts
    for text in rows:
        tick = time.perf_counter()
        probs, scope = classifier.analyse([text])
        best = int(probs[0].argmax())
        rejected = oos_label is not None and scope[0] < classifier.threshold
        predicted.append(OOS if rejected else str(labels[best]))
        latencies.append((time.perf_counter() - tick) * 1000)
    return _intent_report(
        truth,
        predicted,
        latencies,
        classifier.threshold,
        train_seconds,
        len(train_texts),
        len(set(train_labels)),
        has_oos=oos_label is not None,
        seed=seed,
        model=classifier.model_name,
    )


def _intent_report(
    truth: list[str],
    predicted: list[str],
    latencies: list[float],
    threshold: float,
    train_seconds: float,
    train_rows: int,
    intents: int,
    *,
    has_oos: bool,
    seed: int | None,
    model: str = "light",
) -> IntentReport:
    true = np.asarray(truth, dtype=object)
    pred = np.asarray(predicted, dtype=object)
    in_scope = true != OOS
    oos_p = oos_r = oos_f = None
    if has_oos:
        oos_p, oos_r, oos_f = _prf(true == OOS, pred == OOS)
    return IntentReport(
        train_rows=train_rows,
        test_rows=len(truth),
        intents=intents,
        accuracy=float((true == pred).mean()),
        macro_f1=macro_f1(truth, predicted),
        in_scope_accuracy=float((true[in_scope] == pred[in_scope]).mean())
        if in_scope.any()
        else 0.0,
        oos_precision=oos_p,
        oos_recall=oos_r,
        oos_f1=oos_f,
        threshold=threshold,
        train_seconds=train_seconds,
        latency_p50_ms=float(np.percentile(latencies, 50)),
        latency_p99_ms=float(np.percentile(latencies, 99)),
        seed=seed,
        model=model,
    )


def _prf(actual: np.ndarray, guessed: np.ndarray) -> tuple[float, float, float]:
    hits = float((actual & guessed).sum())
    precision = hits / guessed.sum() if guessed.sum() else 0.0
    recall = hits / actual.sum() if actual.sum() else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return float(precision), float(recall), float(f1)


def macro_f1(truth: Sequence[str], predicted: Sequence[str]) -> float:
    """Unweighted mean F1 over the labels present in ``truth``."""
    true = np.asarray(truth, dtype=object)
    pred = np.asarray(predicted, dtype=object)
    return float(np.mean([_prf(true == label, pred == label)[2] for label in sorted(set(truth))]))


# --- mood -----------------------------------------------------------------------------

POLARITY = {
    Mood.POSITIVE: "positive",
    Mood.NEUTRAL: "neutral",
    Mood.CONFUSED: "neutral",
    Mood.FRUSTRATED: "negative",
    Mood.ANGRY: "negative",
    Mood.ANXIOUS: "negative",
}
"""How moods map to the three polarity labels of sentiment data sets."""


def evaluate_moods(
    test: tuple[list[str], list[str]], progress: Progress | None = None
) -> dict[str, dict[str, float]]:
    """Macro-F1, accuracy and per-label recall of Carebot's mood reader and of plain VADER.

    Labels ``negative``/``neutral``/``positive`` are compared by polarity; any other
    labels are compared with the mood names directly.
    """
    texts, truth = test
    polar = set(truth) <= {"negative", "neutral", "positive"}
    reader = EmotionReader()
    vader = SentimentIntensityAnalyzer()
    ours: list[str] = []
    plain: list[str] = []
    rows: Iterable[str] = progress(texts, len(texts), "reading moods") if progress else texts
    for text in rows:
        mood = reader.read(text).mood
        ours.append(POLARITY[mood] if polar else mood.value)
        compound = vader.polarity_scores(text)["compound"]
        plain.append(
            "positive" if compound >= 0.05 else "negative" if compound <= -0.05 else "neutral"
        )
    results = {"carebot": _mood_figures(truth, ours)}
    if polar:
        results["plain_vader"] = _mood_figures(truth, plain)
    return results


def _mood_figures(truth: list[str], predicted: list[str]) -> dict[str, float]:
    true = np.asarray(truth, dtype=object)
    pred = np.asarray(predicted, dtype=object)
    figures = {
        "rows": float(len(truth)),
        "accuracy": float((true == pred).mean()),
        "macro_f1": macro_f1(truth, predicted),
    }
    for label in sorted(set(truth)):
        figures[f"recall_{label}"] = _prf(true == label, pred == label)[1]
    return figures
