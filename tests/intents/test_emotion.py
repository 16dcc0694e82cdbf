"""Mood rules: what the plain lexicon misses in support messages."""

from __future__ import annotations

import pytest

from intents.emotion import EmotionReader
from intents.types import Mood


@pytest.fixture(scope="module")
def reader() -> EmotionReader:
    return EmotionReader()


@pytest.mark.parametrize(
    ("text", "signal"),
    [
        ("I'm still waiting for the third time", "still_waiting"),
        ("This is the third time I write to you", "repeated_contact"),
        ("you charged me twice", "charged_twice"),
        ("no one answers my emails", "no_response"),
        ("my package never arrived", "not_working"),
    ],
)
def test_implicit_frustration_is_negative(reader: EmotionReader, text: str, signal: str) -> None:
    emotion = reader.read(text)
    assert signal in emotion.signals
    assert emotion.mood is Mood.FRUSTRATED
    assert emotion.compound < -0.25


def test_repeated_waiting_crosses_the_anger_bar(reader: EmotionReader) -> None:
    assert reader.read("still waiting for the third time").compound <= -0.5
    assert reader.read("I've been waiting 3 weeks for my refund").compound <= -0.5


@pytest.mark.parametrize(
    ("text", "signal"),
    [
        ("WHERE IS MY ORDER I PAID WEEKS AGO", "shouting"),
        ("this is fucking ridiculous", "profanity"),
        ("you are useless idiots", "insult"),
        ("This is unacceptable", "complaint"),
        ("I'll talk to my lawyer", "complaint"),
        ("I'm filing a chargeback", "complaint"),
    ],
)
def test_escalating_messages(reader: EmotionReader, text: str, signal: str) -> None:
    emotion = reader.read(text)
    assert signal in emotion.signals
    assert emotion.escalate
    assert emotion.mood is Mood.ANGRY
    assert emotion.compound < 0


def test_sarcasm_flips_praise(reader: EmotionReader) -> None:
    emotion = reader.read("Great, another delay. Just perfect.")
    assert "sarcasm" in emotion.signals
    assert emotion.compound < -0.3
    assert emotion.mood.is_negative


def test_happy_shouting_is_not_escalated(reader: EmotionReader) -> None:
    emotion = reader.read("THANK YOU SO MUCH, AMAZING SERVICE")
    assert not emotion.escalate
    assert emotion.mood is Mood.POSITIVE


@pytest.mark.parametrize(
    ("text", "mood"),
    [
        ("I am not happy with this", Mood.FRUSTRATED),
        ("not bad at all, thanks", Mood.POSITIVE),
        ("it doesn't work", Mood.FRUSTRATED),
        ("the app works fine now, thanks", Mood.POSITIVE),
    ],
)
def test_negation(reader: EmotionReader, text: str, mood: Mood) -> None:
    assert reader.read(text).mood is mood


@pytest.mark.parametrize(
    ("text", "mood"),
    [
        ("I need this urgently, it's for a birthday tomorrow", Mood.ANXIOUS),
        ("I'm worried someone used my card", Mood.ANXIOUS),
        ("I don't understand what this charge is", Mood.CONFUSED),
        ("Thanks, you've been really helpful!", Mood.POSITIVE),
        ("what are your opening hours", Mood.NEUTRAL),
        ("I want to speak to a human", Mood.NEUTRAL),
    ],
)
def test_moods(reader: EmotionReader, text: str, mood: Mood) -> None:
    assert reader.read(text).mood is mood


@pytest.mark.parametrize(
    "text",
    [
        "Meine Bestellung ist immer noch nicht angekommen, das ist eine Frechheit",
        "Mi pedido no ha llegado todavía y nadie responde",
        "我的订单还没有到",
        "Где мой заказ?",
    ],
)
def test_non_english_falls_back_to_neutral(reader: EmotionReader, text: str) -> None:
    emotion = reader.read(text)
    assert emotion.mood is Mood.NEUTRAL
    assert emotion.compound == 0.0
    assert not emotion.escalate


def test_language_hint_wins(reader: EmotionReader) -> None:
    assert reader.read("terrible", language="de").mood is Mood.NEUTRAL
    assert reader.read("terrible", language="en").mood is not Mood.NEUTRAL


def test_empty_is_neutral(reader: EmotionReader) -> None:
    assert reader.read("").mood is Mood.NEUTRAL
