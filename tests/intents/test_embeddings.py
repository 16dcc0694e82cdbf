"""The sentence-embedding model (the ``embeddings`` extra) and how it is chosen.

The extra is part of the dev install, so these tests run everywhere the suite runs; a
missing extra fails them instead of skipping them.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest

from bot.app import _understander
from bot.config import load_settings
from bot.errors import ConfigError
from intents import embeddings, load_understander
from intents.classifier import ClassifierConfig, IntentClassifier
from intents.cli import eval_main
from intents.embeddings import EmbeddingsUnavailable, SentenceEncoder, resolve
from intents.understander import DomainUnderstander
from intents.wordpiece import WordPiece

from .test_classifier import DATA, _labels
from .test_intents_cli import files  # noqa: F401  (fixture)


@pytest.fixture(scope="module")
def encoder() -> SentenceEncoder:
    return SentenceEncoder()


@pytest.fixture(scope="module")
def wordpiece() -> WordPiece:
    return WordPiece(embeddings.VOCABULARY)


def test_wordpiece_matches_bert_ids(wordpiece: WordPiece) -> None:
    # Ids and pieces as BERT's uncased reference tokenizer gives them.
    assert wordpiece.ids("I am still waiting on my card?") == [
        101, 1045, 2572, 2145, 3403, 2006, 2026, 4003, 1029, 102
    ]  # fmt: skip
    vocab = {index: word for word, index in wordpiece.vocab.items()}
    tokens = [vocab[i] for i in wordpiece.ids("Refunded CAFÉ!! 日本")]
    assert tokens == ["[CLS]", "ref", "##und", "##ed", "cafe", "!", "!", "日", "本", "[SEP]"]
    pieces = [vocab[i] for i in wordpiece.ids("unrefundable")][1:-1]
    assert pieces == ["un", "##re", "##fu", "##nda", "##ble"]
    assert wordpiece.ids("x" * 150) == [101, wordpiece.unk, 102]  # over-long word
    assert wordpiece.ids("") == [101, 102]
    assert wordpiece.ids("a\x00b\u200b c") == wordpiece.ids("ab c")  # control characters go


def test_truncates_long_messages(wordpiece: WordPiece) -> None:
    ids = wordpiece.ids("refund " * 500)
    assert len(ids) == embeddings.MAX_TOKENS and ids[-1] == wordpiece.sep


def test_vectors_are_unit_and_mean_something(encoder: SentenceEncoder) -> None:
    texts = ["where is my refund", "I want my money back", "what a lovely blue whale", ""]
    vectors = encoder.encode(texts)
    assert vectors.shape == (4, SentenceEncoder.dimension)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.2
    # Batching by length must not change a text's vector.
    assert np.allclose(encoder.encode(["where is my refund"])[0], vectors[0], atol=1e-5)


def test_pickled_encoder_reopens_the_model(encoder: SentenceEncoder) -> None:
    before = encoder.encode(["track my parcel"])
    data = pickle.dumps(encoder)
    assert len(data) < 10_000  # the session and vocabulary are not stored
    again = pickle.loads(data)
    assert again.fingerprint == encoder.fingerprint
    assert np.allclose(again.encode(["track my parcel"]), before)


def test_model_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    assert embeddings.available()
    assert resolve("light") is None
    assert isinstance(resolve("embeddings"), SentenceEncoder)
    assert isinstance(resolve("auto"), SentenceEncoder)
    with pytest.raises(ValueError, match="unknown intent model"):
        resolve("bert")
    monkeypatch.setattr(embeddings, "available", lambda: False)
    assert resolve("auto") is None  # the light model is the fallback
    with pytest.raises(EmbeddingsUnavailable, match=r"carebot\[embeddings\]"):
        resolve("embeddings")


def test_light_is_the_default() -> None:
    classifier = IntentClassifier()
    assert classifier.encoder is None and classifier.model_name == "light"


@pytest.fixture(scope="module")
def embedded() -> IntentClassifier:
    texts = [t for v in DATA.values() for t in v]
    return IntentClassifier(ClassifierConfig(model="embeddings")).fit(texts, _labels())


def test_embedding_classifier_ranks_and_rejects(embedded: IntentClassifier) -> None:
    assert embedded.model_name == "embeddings"
    # No word in common with the refund examples: the meaning carries it.
    assert embedded.rank("reimburse me")[0].name == "refund"
    probs, scope = embedded.analyse(["I would like a refund", "what a lovely blue whale"])
    assert probs.shape == (2, 4) and np.allclose(probs.sum(axis=1), 1.0)
    assert scope[0] > scope[1]
    assert 0.0 < embedded.threshold < 1.0


def test_embedding_classifier_survives_pickling(embedded: IntentClassifier) -> None:
    again = pickle.loads(pickle.dumps(embedded))
    assert again.rank("reimburse me") == embedded.rank("reimburse me")


def test_few_shot_names_are_embedded_too() -> None:
    texts = ["my card has not come", "card still missing", "top up failed", "could not add money"]
    labels = ["card_arrival", "card_arrival", "top_up_failed", "top_up_failed"]
    classifier = IntentClassifier(ClassifierConfig(model="embeddings")).fit(texts * 3, labels * 3)
    assert classifier.rank("when will the card arrive")[0].name == "card_arrival"


def test_cache_keeps_the_models_apart(tmp_path: Path) -> None:
    light = load_understander(cache_dir=tmp_path, model="light")
    embedded = load_understander(cache_dir=tmp_path, model="embeddings")
    assert isinstance(light, DomainUnderstander) and isinstance(embedded, DomainUnderstander)
    assert light.classifier.model_name == "light"
    assert embedded.classifier.model_name == "embeddings"
    assert len(list(tmp_path.glob("intents-*.pkl"))) == 2
    warm = load_understander(cache_dir=tmp_path, model="embeddings")
    assert isinstance(warm, DomainUnderstander)
    assert warm.understand("where is my order?").intent is not None
    assert warm.understand("where is my order?").intent.name == "order_status"  # type: ignore[union-attr]


def test_setting_selects_the_model(
    settings_env: pytest.MonkeyPatch, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert load_settings().intent_model == "light"
    settings_env.setenv("CAREBOT_INTENT_MODEL", "bert")
    with pytest.raises(ConfigError, match="CAREBOT_INTENT_MODEL"):
        load_settings()
    settings_env.setenv("CAREBOT_INTENT_MODEL", "embeddings")
    settings = load_settings()
    monkeypatch.setattr(embeddings, "available", lambda: False)
    with pytest.raises(ConfigError, match="CAREBOT_INTENT_MODEL=embeddings"):
        _understander(settings)


def test_eval_reports_the_model(
    files: tuple[Path, Path],  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    train, test = files
    args = ["--train", str(train), "--test", str(test), "--oos-label", "oos", "--json"]
    assert eval_main([*args, "--model", "embeddings"]) == 0
    assert json.loads(capsys.readouterr().out)["runs"][0]["model"] == "embeddings"
    assert eval_main(args) == 0
    assert json.loads(capsys.readouterr().out)["runs"][0]["model"] == "light"
