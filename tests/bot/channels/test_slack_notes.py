"""The internal-note convention: every marker is a note, near-misses are relayed."""

from __future__ import annotations

import pytest

from bot.channels.slack_notes import classify, is_internal


@pytest.mark.parametrize(
    ("text", "body"),
    [
        ("note: courier says Tuesday", "courier says Tuesday"),
        ("NOTE: shout", "shout"),
        ("Note : spaced colon", "spaced colon"),
        ("note：full-width colon", "full-width colon"),
        ("  note: leading spaces", "leading spaces"),
        ("*note:* bold marker", "bold marker"),
        ("_Note:_ italic marker", "italic marker"),
        ("`note:` code marker", "code marker"),
        ("> note: quoted", "quoted"),
        ("&gt; note: quoted as Slack sends it", "quoted as Slack sends it"),
        ("internal: for the team", "for the team"),
        ("Internal:no space", "no space"),
        ("nb: refund pending", "refund pending"),
        ("// do not promise a date", "do not promise a date"),
        ("//no space", "no space"),
        ("(internal) check the CRM", "check the CRM"),
        ("[internal] check the CRM", "check the CRM"),
        ("(note) VIP, be nice", "VIP, be nice"),
        ("[ Note ] spaced brackets", "spaced brackets"),
        (":memo: emoji marker", "emoji marker"),
        ("📝 emoji marker", "emoji marker"),
        ("note:", "note:"),  # an empty note is still a note (never relayed)
    ],
)
def test_notes_are_recognised(text: str, body: str) -> None:
    found = classify(text)
    assert found.internal is True
    assert found.text == body


@pytest.mark.parametrize(
    "text",
    [
        "Note that your parcel left today.",
        "Notes are attached to your order.",
        "Internally we checked it: all fine.",
        "Please see the https://example.com/note: page",
        "I made a note: you'll get a call",  # the marker must come first
        "/ single slash",
        "Hello! // not at the start",
        "(internally reviewed) your refund is approved",
        "notebook: yes",
        "",
    ],
)
def test_near_misses_are_relayed(text: str) -> None:
    assert is_internal(text) is False
    assert classify(text).text == text.strip()
