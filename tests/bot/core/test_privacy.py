"""Personal data is masked as it arrives (PRODUCT.md §7)."""

from __future__ import annotations

import pytest

from bot.core.privacy import clean_text, mask_personal_data


@pytest.mark.parametrize(
    ("text", "expected", "kind"),
    [
        ("card 4242 4242 4242 4242 thanks", "card [CARD ••••4242] thanks", "card"),
        ("4000-0566-5566-5556", "[CARD ••••5556]", "card"),
        ("my cvv is 123", "my cvv is [CVV]", "cvv"),
        ("CVC: 9876", "CVC: [CVV]", "cvv"),
        ("write to ann.b+x@example.co.uk", "write to [EMAIL]", "email"),
        ("IBAN DE89 3704 0044 0532 0130 00 please", "IBAN [IBAN] please", "iban"),
        ("call +1 415 555 2671 now", "call [PHONE] now", "phone"),
    ],
)
def test_masks_each_kind(text: str, expected: str, kind: str) -> None:
    masked = mask_personal_data(text)
    assert masked.text == expected
    assert kind in masked.found


@pytest.mark.parametrize(
    "text",
    [
        "order 1234567890123",  # 13 digits failing Luhn: an order number, not a card
        "my order #48213",
        "DE89 3704 0044 0532 0130 01",  # wrong IBAN checksum
        "the code is 123",  # a number without a card word is not a CVV
    ],
)
def test_leaves_look_alikes_alone(text: str) -> None:
    assert mask_personal_data(text, ()).text == text


def test_cards_and_cvvs_are_masked_even_when_other_kinds_are_off() -> None:
    masked = mask_personal_data("4242424242424242 cvv 123 a@b.io", kinds=())
    assert masked.text == "[CARD ••••4242] cvv [CVV] a@b.io"
    assert masked.had_card


def test_clean_text_strips_controls_and_cuts_long_text() -> None:
    text, cut = clean_text("hi\x00\x1b there\u202e" + "x" * 5000)
    assert "\x00" not in text and "\u202e" not in text and cut
    assert len(text) <= 4002
