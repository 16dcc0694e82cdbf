"""Mask personal data as it arrives, before it is stored, logged or relayed (PRODUCT.md §7).

Card numbers (12–19 digits passing the Luhn check) and CVV-like codes near card words are
always masked, by PCI rules; e-mails, phone numbers and IBANs are masked by default and
can be switched off. Masks are typed (``[CARD ••••4242]``, ``[EMAIL]``) so staff still
know what the customer shared.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

import phonenumbers
from stdnum import iban, luhn

_CARD = re.compile(r"(?<![\d+])(?:\d[ -]?){11,18}\d(?!\d)")
_CVV = re.compile(
    r"\b(?P<word>cvv2?|cvc2?|csc|security code|card code|card verification(?: code)?)"
    r"(?P<gap>\W{0,4}(?:is|was|:)?\W{0,3})(?P<code>\d{3,4})\b",
    re.IGNORECASE,
)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,4})?\b", re.I)


@dataclass(frozen=True)
class MaskedText:
    """The text as it may be kept, and which kinds of personal data were found."""

    text: str
    found: frozenset[str]

    @property
    def had_card(self) -> bool:
        """A card number or CVV was posted (the message should be deleted where allowed)."""
        return bool({"card", "cvv"} & self.found)


def _mask_cards(text: str, found: set[str]) -> str:
    def replace(match: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", match.group())
        if 12 <= len(digits) <= 19 and luhn.is_valid(digits):
            found.add("card")
            return f"[CARD ••••{digits[-4:]}]"
        return match.group()

    return _CARD.sub(replace, text)


def _mask_cvv(text: str, found: set[str]) -> str:
    def replace(match: re.Match[str]) -> str:
        found.add("cvv")
        return f"{match['word']}{match['gap']}[CVV]"

    return _CVV.sub(replace, text)


def _mask_emails(text: str, found: set[str]) -> str:
    def replace(_match: re.Match[str]) -> str:
        found.add("email")
        return "[EMAIL]"

    return _EMAIL.sub(replace, text)


def _mask_ibans(text: str, found: set[str]) -> str:
    def replace(match: re.Match[str]) -> str:
        if iban.is_valid(match.group()):
            found.add("iban")
            return "[IBAN]"
        return match.group()

    return _IBAN.sub(replace, text)


def _mask_phones(text: str, found: set[str], region: str) -> str:
    spans = [
        (m.start, m.end)
        for m in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID)
    ]
    for start, end in reversed(spans):
        found.add("phone")
        text = text[:start] + "[PHONE]" + text[end:]
    return text


def mask_personal_data(
    text: str, kinds: Collection[str] = ("email", "phone", "iban"), *, region: str = "US"
) -> MaskedText:
    """Return ``text`` with cards and CVVs masked, and the other ``kinds`` too."""
    found: set[str] = set()
    # Cards before phones: a 16-digit card must not be read as a phone number.
    text = _mask_cards(text, found)
    text = _mask_cvv(text, found)
    if "email" in kinds:
        text = _mask_emails(text, found)
    if "iban" in kinds:
        text = _mask_ibans(text, found)
    if "phone" in kinds:
        text = _mask_phones(text, found, region)
    return MaskedText(text=text, found=frozenset(found))


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def clean_text(text: str, *, limit: int = 4000) -> tuple[str, bool]:
    """Strip control characters and cut very long text; returns (text, was_cut)."""
    text = _CONTROL.sub("", text).replace("\r\n", "\n").strip()
    if len(text) > limit:
        return text[:limit].rstrip() + " …", True
    return text, False
