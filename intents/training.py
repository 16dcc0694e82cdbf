"""Train a domain's classifier, or load it from the cache when the data has not changed."""

from __future__ import annotations

from pathlib import Path

from intents import cache
from intents.classifier import ClassifierConfig, IntentClassifier
from intents.domain import Domain


def trained_classifier(
    domain: Domain, *, cache_dir: Path | None = None, config: ClassifierConfig | None = None
) -> IntentClassifier:
    """The domain's classifier, cached under a key of the data hash and the config."""
    config = config or ClassifierConfig()
    folder = cache.default_cache_dir() if cache_dir is None else cache_dir
    classifier = IntentClassifier(config)
    # "auto" resolves by what is installed: the key names the model actually used.
    encoder = classifier.encoder.fingerprint if classifier.encoder else "light"
    key = cache.cache_key(domain.fingerprint(), repr(config), encoder)
    cached = cache.load(folder, key)
    if isinstance(cached, IntentClassifier):
        return cached
    texts, labels = domain.training_data()
    classifier.fit(texts, labels)
    cache.save(folder, key, classifier)
    return classifier
