"""Classifier, calibration and entity extraction on tiny fixtures."""

from __future__ import annotations

import numpy as np
import pytest

from intents.calibration import choose_threshold, fit_temperature, softmax
from intents.classifier import IntentClassifier
from intents.domain import EntityPattern
from intents.entities import EntityExtractor

DATA = {
    "greet": ["hi", "hello", "hey", "good morning", "hello there", "hiya", "hey you", "morning"],
    "refund": [
        "where is my refund",
        "refund my money",
        "I want a refund",
        "refund status",
        "money back please",
        "when do I get my refund",
        "refund not received",
        "refund please",
    ],
    "track": [
        "track my parcel",
        "where is my package",
        "tracking number",
        "parcel status",
        "has my package shipped",
        "where is the delivery",
        "package tracking",
        "parcel location",
    ],
    "bye": ["bye", "goodbye", "see you", "bye bye", "take care", "see you later", "cya", "later"],
}


@pytest.fixture(scope="module")
def classifier() -> IntentClassifier:
    texts = [t for v in DATA.values() for t in v]
    labels = [k for k, v in DATA.items() for _ in v]
    return IntentClassifier().fit(texts, labels)


def test_ranks_with_probabilities(classifier: IntentClassifier) -> None:
    ranking = classifier.rank("where's my refund?", top=4)
    assert ranking[0].name == "refund"
    assert [r.confidence for r in ranking] == sorted((r.confidence for r in ranking), reverse=True)
    assert sum(r.confidence for r in ranking) == pytest.approx(1.0)


def test_threshold_is_learnt(classifier: IntentClassifier) -> None:
    assert 0.0 < classifier.threshold < 1.0
    assert classifier.temperature > 0


def test_needs_two_intents() -> None:
    with pytest.raises(ValueError, match="two intents"):
        IntentClassifier().fit(["a", "b"], ["x", "x"])
    with pytest.raises(RuntimeError):
        IntentClassifier().predict_proba(["a"])


def test_softmax_and_temperature() -> None:
    scores = np.array([[2.0, 0.0, -1.0], [0.0, 3.0, 0.0]])
    assert softmax(scores).sum(axis=1) == pytest.approx([1.0, 1.0])
    # Always-right confident scores want a low temperature (sharper), never negative.
    assert fit_temperature(list(scores), [0, 1]) < 1.0


def test_choose_threshold_separates() -> None:
    correct = np.array([0.9, 0.95, 0.8, 0.85])
    oos = np.array([0.3, 0.4, 0.5])
    bar = choose_threshold(correct, np.array([0.6]), oos)
    assert 0.5 < bar <= 0.8
    assert choose_threshold(correct, np.array([]), np.array([])) == 0.0


def test_entities() -> None:
    import re

    extractor = EntityExtractor(
        [
            EntityPattern("order_number", re.compile(r"order\s*#?\s*(\d{5,})", re.I)),
            EntityPattern("order_number", re.compile(r"\b(\d{6,})\b")),
            EntityPattern("email", re.compile(r"\b\S+@\S+\.\w+\b")),
        ]
    )
    found = extractor.extract("Order #123456, mail me at a@b.com or about 7654321")
    assert [(e.kind, e.value) for e in found] == [
        ("order_number", "123456"),
        ("email", "a@b.com"),
        ("order_number", "7654321"),
    ]
    assert extractor.kinds == {"order_number", "email"}


def test_choose_threshold_caps_the_lost_answers() -> None:
    correct = np.linspace(0.3, 1.0, 100)
    oos = np.linspace(0.0, 0.6, 100)
    free = choose_threshold(correct, np.array([]), oos)
    capped = choose_threshold(correct, np.array([]), oos, max_answer_loss=0.05)
    assert capped < free
    assert (correct >= capped).mean() >= 0.95


def test_scope_score_separates_unknown_topics(classifier: IntentClassifier) -> None:
    probs, scope = classifier.analyse(["where is my refund please", "what a lovely blue whale"])
    assert probs.shape == (2, 4)
    assert scope[0] > scope[1]
    ranking, in_scope = classifier.rank_with_scope("I want a refund")
    assert ranking[0].name == "refund"
    assert in_scope


def test_few_examples_use_logistic_regression() -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import LinearSVC

    few = IntentClassifier().fit([t for v in DATA.values() for t in v], _labels())
    assert isinstance(few._model.model, LogisticRegression)  # type: ignore[union-attr]
    many_texts = [f"{t} {i}" for v in DATA.values() for t in v for i in range(3)]
    many = IntentClassifier().fit(many_texts, [y for y in _labels() for _ in range(3)])
    assert isinstance(many._model.model, LinearSVC)  # type: ignore[union-attr]


def _labels() -> list[str]:
    return [k for k, v in DATA.items() for _ in v]


def test_few_shot_learns_from_intent_names() -> None:
    texts = ["my card has not come", "card still missing", "top up failed", "could not add money"]
    labels = ["card_arrival", "card_arrival", "top_up_failed", "top_up_failed"]
    classifier = IntentClassifier().fit(texts * 3, labels * 3)
    assert classifier.rank("when will the card arrive")[0].name == "card_arrival"
    model = classifier._model
    assert model is not None
    assert sum(m.shape[1] for m in model.examples) == 12  # the names are not kept as examples
