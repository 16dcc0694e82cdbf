"""Understanding customers: intents, knowledge-base answers, out-of-scope detection, mood.

The engine needs only :func:`load_understander` and the types; everything else is an
implementation detail that can be swapped behind :class:`~intents.base.Understander`.
"""

from __future__ import annotations

from pathlib import Path

from intents.base import Understander
from intents.domain import DomainError, load_domain
from intents.types import (
    Behaviour,
    Emotion,
    Entity,
    IntentInfo,
    IntentScore,
    KnowledgeAnswer,
    Mood,
    Understanding,
)


def load_understander(
    domain: Path | None = None, *, cache_dir: Path | None = None, model: str = "light"
) -> Understander:
    """Load a domain folder and return a ready :class:`Understander`.

    Args:
        domain: the domain folder; ``None`` means the shipped online-shop domain.
        cache_dir: where trained models are cached (default
            :func:`intents.cache.default_cache_dir`). A cold start trains (about a second
            for the shop domain); a warm one only loads.
        model: ``light`` (n-grams, the default), ``embeddings`` (n-grams + sentence
            vectors, needs the ``embeddings`` extra) or ``auto`` (embeddings when the
            extra is installed, else light).

    Raises:
        DomainError: a domain file is wrong; the message names the file and the line.
        EmbeddingsUnavailable: ``model="embeddings"`` without the extra installed.
    """
    from intents import language
    from intents.classifier import ClassifierConfig
    from intents.training import trained_classifier
    from intents.understander import DomainUnderstander

    loaded = load_domain(domain)
    config = ClassifierConfig(model=model)
    classifier = trained_classifier(loaded, cache_dir=cache_dir, config=config)
    language.prepare()  # at start, not inside the first doubtful message's turn
    return DomainUnderstander(loaded, classifier)


__all__ = [
    "Behaviour",
    "DomainError",
    "Emotion",
    "Entity",
    "IntentInfo",
    "IntentScore",
    "KnowledgeAnswer",
    "Mood",
    "Understander",
    "Understanding",
    "load_domain",
    "load_understander",
]
