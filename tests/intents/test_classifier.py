"""Classifier, calibration and entity extraction on tiny fixtures."""

from __future__ import annotations

import numpy as np
import pytest

from intents.calibration import choose_threshold, fit_temperature, softmax
from intents.classifier import IntentClassifier, fit_scope_model
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


def test_scope_model_folds_the_scaler_into_its_weights() -> None:
    rng = np.random.default_rng(0)
    right = rng.normal([1.0, 10.0], [0.3, 3.0], (200, 2))  # columns of different scales
    oos = rng.normal([-1.0, 10.0], [0.3, 3.0], (60, 2))
    features = np.vstack([right, oos])
    weights, bias = fit_scope_model(features, np.arange(len(features)) < len(right))
    logit = np.array([[1.0, 10.0], [-1.0, 10.0]]) @ weights + bias
    assert logit[0] > 0 > logit[1]
    assert abs(weights[1]) < abs(weights[0])  # the column that separates carries the weight


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


def test_evidence_splits_the_top_score(classifier: IntentClassifier) -> None:
    model = classifier._model
    assert model is not None
    texts = ["where is my refund", "hello there", "zzz"]
    raw, signals = model.signals(texts)
    assert signals.shape == (3, 13)
    word, rest, strongest, count = signals[:, 5:9].T
    # word part + rest is the top score without the intercept
    best = raw.argmax(axis=1)
    intercept = model.model.intercept_[best]
    assert word + rest == pytest.approx(raw.max(axis=1) - intercept)
    assert np.all((strongest >= 0) & (strongest <= 1 + 1e-9))
    assert count[0] > count[2]  # a real question has more supporting features than "zzz"


def test_evidence_counts_the_five_strongest_features() -> None:
    from scipy.sparse import csr_matrix

    from intents.classifier import ClassifierConfig, _LinearModel

    model = _LinearModel(ClassifierConfig())
    model.word.vocabulary_ = {"a": 0, "b": 1}
    model.model.coef_ = np.array([[1.0] * 8, [-1.0] * 8])
    row = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 0.0, -1.0]  # contributions for intent 0
    features = csr_matrix(np.array([row, [0.0] * 7 + [2.0]]))
    evidence = model._evidence(features, np.array([0, 1]))
    assert evidence[0] == pytest.approx([3.0, 17.0, 20.0 / 21.0, np.log1p(6)])
    assert evidence[1] == pytest.approx([0.0, -2.0, 0.0, 0.0])  # intent 1 weighs it -1


def test_unseen_words_are_per_intent(classifier: IntentClassifier) -> None:
    model = classifier._model
    assert model is not None
    refund = model.labels.index("refund")
    track = model.labels.index("track")
    analyse = model.word.build_analyzer()
    words = [analyse("where is my refund"), analyse("where is my xyzzy")]
    seen_by_refund, seen_by_track = model._unseen_words(words, np.array([refund, track]))
    assert seen_by_refund == pytest.approx([0.0, 0.0, 0.0, 0.0])  # an example of refund
    # "where is my" are track words too ("where is my package"); "xyzzy" nobody's,
    # and a word the model never saw weighs as the rarest one
    assert seen_by_track[0] == pytest.approx(0.25)
    assert seen_by_track[1] > 0.25
    assert seen_by_track[2] == pytest.approx(1 / 3)  # "my xyzzy" of the three pairs
    assert seen_by_track[3] == 0.0  # nothing typical of another intent
    nothing = model._unseen_words([[], analyse("blue whale")], np.array([refund, refund]))
    assert nothing.tolist() == [[1.0, 1.0, 1.0, 0.0], [1.0, 1.0, 1.0, 0.0]]


def test_words_typical_of_another_intent(classifier: IntentClassifier) -> None:
    model = classifier._model
    assert model is not None
    analyse = model.word.build_analyzer()
    track = model.labels.index("track")
    refund = model.labels.index("refund")
    # "refund" is in 7 of the 8 refund examples, never in track's; "where" is in both
    rates = model._unseen_words([analyse("where is my refund")], np.array([track]))[0, 3]
    assert rates == pytest.approx(7 / 8)
    column = model.word.vocabulary_["refund"]
    assert model.word_rates[column] == pytest.approx(7 / 8)
    assert model.seen_words[refund, column]
    assert not model.seen_words[track, column]
    # a word of fewer than three examples counts for no intent
    assert model.word_rates[model.word.vocabulary_["cya"]] == 0.0
