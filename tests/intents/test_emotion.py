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
        ("Why hasn't my refund arrived?", "complaint_question"),
        ("what's going on with my order", "complaint_question"),
        ("Is anyone there? Can no one help me?", "complaint_question"),
        ("I was told it would be delivered on Monday", "broken_promise"),
        ("you promised a callback but nobody called", "broken_promise"),
        ("the agent was rude and hung up on me", "rudeness"),
        ("you clearly don't care about your customers", "rudeness"),
        ("I'll take my business elsewhere", "churn_threat"),
        ("time to find a new provider", "churn_threat"),
        ("what a waste of my time", "wasted"),
        ("zero communication about my parcel", "no_information"),
        ("it would have been nice to get an email", "counterfactual"),
        ("you can do much better than this", "let_down"),
        ("I'm having trouble with the checkout", "problem"),
        ("been on hold for 40 minutes", "long_wait"),
        ("I haven't heard back since Friday", "no_response"),
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
        ("thanks for nothing", Mood.FRUSTRATED),
        ("not helpful at all", Mood.FRUSTRATED),
        ("that doesn't help me", Mood.FRUSTRATED),
        ("not bad at all, no problems so far, thanks!", Mood.POSITIVE),
        ("no problem, thanks!", Mood.NEUTRAL),
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
        # weak cues do not overrule praise
        ("The driver was amazing, thank you! Delivered despite the delay.", Mood.POSITIVE),
        ("Your team is amazing, I still love this shop", Mood.POSITIVE),
        ("Great service again, thank you so much!", Mood.POSITIVE),
        # requests and bare answers
        ("Could you help me change my address please?", Mood.NEUTRAL),
        ("How do I download my invoice? Thanks!", Mood.NEUTRAL),
        ("Hi, can I still return it?", Mood.NEUTRAL),
        ("I'd like to order again", Mood.NEUTRAL),
        ("Never mind, I found it", Mood.NEUTRAL),
        ("no", Mood.NEUTRAL),
        ("No thanks", Mood.NEUTRAL),
        ("yes please", Mood.NEUTRAL),
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
        # the word check doubts these; the language identifier confirms
        "Mon colis n'est toujours pas arrivé",
        "Il mio ordine non è ancora arrivato, è una vergogna",
        "Waar is mijn bestelling gebleven",
        "Onde está o meu pedido",
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


@pytest.mark.parametrize(
    "text",
    [
        "Thanks for losing my parcel. Again.",
        "thank you for cancelling my order without telling me",
        "Good to know. Perhaps someone could have told me earlier.",
        "Real nice of you to charge me for that",
        "Great, another delay.",
    ],
)
def test_sarcastic_praise_reads_negative(reader: EmotionReader, text: str) -> None:
    emotion = reader.read(text)
    assert "sarcasm" in emotion.signals
    assert emotion.mood.is_negative
    assert emotion.compound < -0.3


def test_churn_threat_crosses_the_anger_bar_without_escalating_alone(
    reader: EmotionReader,
) -> None:
    emotion = reader.read("I will never order from you again")
    assert "churn_threat" in emotion.signals
    assert emotion.compound <= -0.5
    assert emotion.mood is Mood.FRUSTRATED
    assert not emotion.escalate  # two such messages in a row offer a person


@pytest.mark.parametrize(
    "text",
    [
        "Just DM'd. Same issue persisting.",
        "having trouble getting rebooked",
        "2 hours?! And just got disconnected.",
    ],
)
def test_terse_english_is_still_read(reader: EmotionReader, text: str) -> None:
    """Few known words ("DM'd", "persisting"): the language identifier keeps it English."""
    emotion = reader.read(text)
    assert "non_english" not in emotion.signals
    assert emotion.mood.is_negative
