"""Development protocol for the out-of-scope model, on Banking77 *train* only.

Usage (from the repository root)::

    python bench/oos_dev.py [--data ../shared/data] [--seeds 1000 1001 1002]
        [--cache bench/.data/oos-dev]

For each seed: 10 of the 77 intents are held out, the rows of every intent are split
75/25 (stratified), the classifier's own cross-validation runs on the 75% of the kept
intents ("dev-train"), and the 25% ("dev-test", the held-out intents' rows labelled
out of scope) scores the result. The test file is never read, so any choice of signal,
objective or setting can be compared here and the test set kept for the final figures.

The expensive parts (the out-of-fold signals and the dev-test signals of the model
trained on dev-train) are cached per seed, so rules that only change what is learnt
from those signals are compared in seconds. It prints, per variant and seed, in-scope
accuracy and out-of-scope recall at the learnt bar, and the best recall any bar reaches
while in-scope accuracy stays >= 0.85 (a figure of separation, not an operating point).
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable
from pathlib import Path

import numpy as np

from intents.calibration import softmax
from intents.classifier import ClassifierConfig, IntentClassifier, _LinearModel
from intents.evaluation import read_csv

ROOT = Path(__file__).resolve().parent.parent
Arrays = dict[str, np.ndarray]


def split(
    texts: list[str], labels: list[str], seed: int, heldout: int = 10, share: float = 0.25
) -> tuple[list[str], list[str], list[str], list[str]]:
    """Dev-train (kept intents, 75%) and dev-test (every intent, 25%; "" = held out)."""
    rng = np.random.default_rng(seed)
    intents = sorted(set(labels))
    unknown = set(rng.choice(np.asarray(intents, dtype=object), heldout, replace=False))
    label_arr = np.asarray(labels, dtype=object)
    test = np.zeros(len(labels), dtype=bool)
    for intent in intents:
        idx = np.flatnonzero(label_arr == intent)
        rng.shuffle(idx)
        test[idx[: round(len(idx) * share)]] = True
    train_rows = [i for i in range(len(labels)) if not test[i] and labels[i] not in unknown]
    test_rows = np.flatnonzero(test)
    return (
        [texts[i] for i in train_rows],
        [labels[i] for i in train_rows],
        [texts[i] for i in test_rows],
        ["" if labels[i] in unknown else labels[i] for i in test_rows],
    )


def signals(
    data: Path, seed: int, config: ClassifierConfig, cache: Path, share: float = 0.25
) -> Arrays:
    """Out-of-fold and dev-test signals of one seed (cached by seed and CV settings)."""
    key = f"{seed}-f{config.large_cv_folds}-h{config.heldout_share}"
    key += "" if share == 0.25 else f"-t{share}"
    key += "" if config.seed == ClassifierConfig().seed else f"-s{config.seed}"
    path = cache / f"{key}.npz"
    if path.exists():
        return dict(np.load(path, allow_pickle=False))
    texts, labels = read_csv(data / "banking77" / "train.csv")
    train_x, train_y, test_x, test_y = split(texts, labels, seed, share=share)
    classifier = IntentClassifier(config)
    folds = classifier._out_of_fold(train_x, train_y, False, None)
    assert folds is not None
    model = _LinearModel(config, False).fit(train_x, train_y)
    raw, near = model.signals(test_x)
    index = {label: i for i, label in enumerate(model.labels)}
    arrays = {
        "oof_raw": folds[0],
        "oof_near": folds[1],
        "oof_true": folds[2],
        "raw": raw,
        "near": near,
        "true": np.asarray([index.get(y, -1) for y in test_y]),
    }
    cache.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **arrays)
    return arrays


def score(arrays: Arrays, config: ClassifierConfig) -> tuple[float, float, float]:
    """In-scope accuracy and OOS recall at the learnt bar; best recall at in-scope >= 0.85."""
    classifier = IntentClassifier(config)
    classifier._learn_scope(arrays["oof_raw"], arrays["oof_near"], arrays["oof_true"])
    probs = softmax(arrays["raw"] / classifier.temperature)
    scope = classifier._scope_score(arrays["raw"], arrays["near"], probs)
    true = arrays["true"]
    known = true >= 0
    right = known & (probs.argmax(axis=1) == true)
    accepted = scope >= classifier.threshold
    in_scope = float((right & accepted)[known].mean())
    recall = float((~accepted)[~known].mean())
    best = 0.0
    for bar in np.unique(scope):
        if (right & (scope >= bar))[known].mean() >= 0.85:
            best = max(best, float((scope < bar)[~known].mean()))
    return in_scope, recall, best


Variant = Callable[[ClassifierConfig], ClassifierConfig]


def main() -> int:
    """Print the figures of every variant on every seed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1000, 1001, 1002])
    parser.add_argument("--cache", type=Path, default=ROOT / "bench" / ".data" / "oos-dev")
    parser.add_argument(
        "--test-share",
        type=float,
        default=0.25,
        help="share of each intent's rows in dev-test (0.1: dev-train as large as the benchmark's)",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="a ClassifierConfig field to change (repeatable), e.g. max_answer_loss=0.1",
    )
    args = parser.parse_args()
    config = ClassifierConfig()
    for item in args.set:
        name, value = item.split("=", 1)
        kind = type(getattr(config, name))
        config = dataclasses.replace(config, **{name: kind(value)})
    rows = []
    for seed in args.seeds:
        figures = score(signals(args.data, seed, config, args.cache, args.test_share), config)
        rows.append(figures)
        print(
            f"seed {seed}: in-scope {figures[0]:.4f}  recall {figures[1]:.4f}  "
            f"best recall at in-scope >= 0.85 {figures[2]:.4f}",
            flush=True,
        )
    mean = np.mean(rows, axis=0)
    print(
        f"mean:      in-scope {mean[0]:.4f}  recall {mean[1]:.4f}  "
        f"best recall at in-scope >= 0.85 {mean[2]:.4f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
