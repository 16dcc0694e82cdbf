"""Shared hypothesis settings, nasty-text strategies and the "nothing pings" checks.

Customer text is built from fragments that have hurt chat integrations before (Slack
mentions and links, HTML, Markdown, bidi and zero-width characters, control characters,
personal data) mixed with arbitrary Unicode, so each example is likely to hit an edge.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st

# Modest example counts and no deadline: the whole fuzz suite stays well under a minute.
# No shrinking phase: shrinking a failure through a whole Carebot can take many minutes;
# the failing example is still reported as found.
FUZZ = settings(
    max_examples=20,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# Examples that run a whole handoff each: fewer of them.
FUZZ_HEAVY = settings(FUZZ, max_examples=10)

CARD = "4242 4242 4242 4242"
EMAIL = "ann.fuzz@example.com"
NASTY = [
    "<!channel>",
    "<!here>",
    "<!here|x>",
    "<!everyone>",
    "<!subteam^S0STAFF>",
    "<!date^1392734382^{date}|Feb>",
    "<@U1ANA>",
    "<@U2BEN|ben>",
    "<#C0DESK>",
    "<https://evil.example|your bank>",
    "<http://x.example>",
    "<mailto:a@b.c|mail>",
    "&",
    "a & b < c > d",
    "&lt;!here&gt;",
    "&amp;",
    "@channel",
    "@here",
    "@Everyone",
    "@CHANNEL!",
    "\u202eevil\u202c",
    "\u2066x\u2069",
    "\u200b@\u200bchannel",
    "\u200d",
    "\ufeff",
    "\x00",
    "\x1b[31mred",
    "\r\n",
    "\t",
    "שלום",
    "مرحبا بك",
    "👍🏽",
    "*bold*",
    "_it_",
    "`code`",
    "```block```",
    "~strike~",
    "<b>bold</b>",
    "<a href='https://x'>y</a>",
    "human",
    "yes",
    "how can I pay",
    CARD,
    EMAIL,
    "+1 202 555 0147",
    "cvv 123",
]
fragment = st.one_of(st.sampled_from(NASTY), st.text(max_size=24))
customer_text = st.lists(fragment, max_size=6).map(" ".join)
customer_name = st.one_of(st.sampled_from(NASTY), st.text(max_size=40))

VALID_BUTTONS = ["confirm:yes", "confirm:no", "human", "keep_bot", "cancel"]
button_data = st.one_of(
    st.sampled_from(VALID_BUTTONS),
    st.builds(lambda n, s: f"csat:{n}:{s}", st.integers(-5, 10**20), st.integers(-1, 9)),
    st.sampled_from(["csat:1:5 ", " human", "HUMAN", "csat:1:5\n", "confirm:maybe", "", "csat::"]),
    st.text(max_size=64),
)

# What may never reach Slack from a customer: any <…> control sequence, any raw broadcast.
_CONTROL_SEQUENCE = re.compile(r"<[!@#]|<https?:|<mailto:", re.IGNORECASE)
_BROADCAST = re.compile(r"@(?:channel|here|everyone)\b", re.IGNORECASE)


def slack_texts(body: Any, *, top: bool = True) -> Iterator[str]:
    """Every string Slack parses as mrkdwn: top-level ``text`` and mrkdwn text objects.

    ``plain_text`` objects (headers, button labels) are not parsed for mentions or links,
    so they are left out.
    """
    if isinstance(body, dict):
        kind = body.get("type")
        text = body.get("text")
        if isinstance(text, str) and (top or kind == "mrkdwn"):
            yield text
        for key, value in body.items():
            if key != "text" or not isinstance(value, str):
                yield from slack_texts(value, top=False)
    elif isinstance(body, list):
        for item in body:
            yield from slack_texts(item, top=False)


def pings_or_links(text: str) -> list[str]:
    """The forbidden sequences in ``text`` (empty when it is inert)."""
    return _CONTROL_SEQUENCE.findall(text) + _BROADCAST.findall(text)
