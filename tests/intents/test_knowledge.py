"""Knowledge-base retrieval and its recommended bar."""

from __future__ import annotations

import pytest

from intents.domain import Domain, FaqEntry, Located
from intents.knowledge import KNOWLEDGE_MIN_SCORE, KnowledgeBase


@pytest.fixture(scope="module")
def kb(shop_domain: Domain) -> KnowledgeBase:
    return KnowledgeBase(list(shop_domain.faq.values()))


@pytest.mark.parametrize(
    ("text", "entry"),
    [
        ("How long does shipping take?", "shipping_times"),
        ("do you deliver to other countries", "international_shipping"),
        ("what's your returns policy", "return_window"),
        ("I forgot my pasword", "reset_password"),  # typo on purpose
        ("where can I download my invoice", "invoice"),
        ("when are you open", "support_hours"),
    ],
)
def test_paraphrases_pass_the_bar(kb: KnowledgeBase, text: str, entry: str) -> None:
    best = kb.best(text)
    assert best is not None
    assert best.entry_id == entry
    assert KNOWLEDGE_MIN_SCORE <= best.score <= 1.0


@pytest.mark.parametrize(
    "text", ["what is the meaning of life", "play some music", "who is the president"]
)
def test_unrelated_questions_stay_below_the_bar(kb: KnowledgeBase, text: str) -> None:
    best = kb.best(text)
    assert best is None or best.score < KNOWLEDGE_MIN_SCORE


def test_score_of_a_given_entry(kb: KnowledgeBase) -> None:
    assert kb.score("how do I return an item", "returns_how") > 0.9
    assert kb.score("how do I return an item", "missing") == 0.0
    assert kb.answer("missing") is None


def test_empty_inputs() -> None:
    kb = KnowledgeBase([FaqEntry("a", (Located("the", 1),), "A", 1)])
    assert kb.best("   ") is None
    assert KnowledgeBase([]).best("anything") is None
