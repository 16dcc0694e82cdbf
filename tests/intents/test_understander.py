"""The shipped shop domain end to end: routing, FAQ answers, out-of-scope, entities."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from intents import Behaviour, Mood, load_understander
from intents.knowledge import KNOWLEDGE_MIN_SCORE
from intents.understander import DomainUnderstander


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("where is my order?", "order_status"),
        ("my parcel never arrived", "delivery_problem"),
        ("I was charged twice for one order", "charged_twice"),
        ("please cancel my subscription", "cancel_subscription"),
        ("can I speak to a real person", "talk_to_human"),
        ("hello", "greeting"),
        ("thank you!", "thanks"),
        ("are you a bot?", "bot_identity"),
        ("delete all my personal data", "delete_data"),
        ("my card got declined at checkout", "payment_failed"),
        ("I can't log into my account", "login_problem"),
    ],
)
def test_routes_intents(shop: DomainUnderstander, text: str, intent: str) -> None:
    result = shop.understand(text)
    assert result.intent is not None
    assert result.intent.name == intent
    assert not result.out_of_scope
    assert result.ranking[0].name == intent


def test_behaviours_follow_the_product_rules(shop: DomainUnderstander) -> None:
    info = shop.intent_info
    assert info("talk_to_human").behaviour is Behaviour.HUMAN  # type: ignore[union-attr]
    for name in ("cancel_order", "cancel_subscription", "charged_twice", "delete_data"):
        assert info(name).behaviour is Behaviour.HANDOFF  # type: ignore[union-attr]
    assert info("order_status").requires == ("order_number",)  # type: ignore[union-attr]
    assert info("delivery_problem").apologise  # type: ignore[union-attr]
    assert info("nonexistent") is None


@pytest.mark.parametrize(
    "text", ["what's the weather like in Paris", "tell me a joke", "who won the football"]
)
def test_out_of_scope(shop: DomainUnderstander, text: str) -> None:
    result = shop.understand(text)
    assert result.out_of_scope
    assert result.intent is None
    assert result.ranking  # the best guesses are still there


def test_answers_faq_above_the_bar(shop: DomainUnderstander) -> None:
    result = shop.understand("do you ship to Norway?")
    assert result.knowledge is not None
    assert result.knowledge.entry_id in {"international_shipping", "shipping_times"}
    assert result.knowledge.score >= KNOWLEDGE_MIN_SCORE
    assert shop.knowledge_entry(result.knowledge.entry_id) == result.knowledge.answer
    assert shop.knowledge_entry("nope") is None


def test_entities_and_mood_are_attached(shop: DomainUnderstander) -> None:
    result = shop.understand("Still waiting for order 123456, third time I ask!!")
    assert ("order_number", "123456") in {(e.kind, e.value) for e in result.entities}
    assert result.emotion.mood is Mood.FRUSTRATED
    assert result.emotion.compound <= -0.5


def test_empty_message(shop: DomainUnderstander) -> None:
    result = shop.understand("   ")
    assert result.intent is None
    assert result.out_of_scope


def test_warm_cache_is_fast(shop: DomainUnderstander, shop_cache: Path) -> None:
    start = time.perf_counter()
    again = load_understander(cache_dir=shop_cache)
    assert time.perf_counter() - start < 1.0
    assert again.understand("hi").intent == shop.understand("hi").intent


def test_corrupt_cache_retrains(tmp_path: Path) -> None:
    first = load_understander(cache_dir=tmp_path)
    for file in tmp_path.iterdir():
        file.write_bytes(b"not a pickle")
    second = load_understander(cache_dir=tmp_path)
    assert second.understand("hello").intent == first.understand("hello").intent
