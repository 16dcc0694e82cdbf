"""Escaping for each channel, so customer text can never ping people or inject markup.

Slack: everything special is inside ``<…>`` (``<!channel>``, ``<@U1>``, ``<url|label>``), so
escaping ``&``, ``<`` and ``>`` makes any text inert; a word joiner after ``@`` keeps the
plain-text ``@channel``/``@here``/``@everyone`` from being read as a mention even where a
client would. Telegram: messages are sent as plain text by default; HTML escaping is
for templates that use the HTML parse mode.
"""

from __future__ import annotations

import html
import re

_SLACK_BROADCAST = re.compile(r"@(?=(?:channel|here|everyone)\b)", re.IGNORECASE)
WORD_JOINER = "\u2060"


def for_slack_mrkdwn(text: str) -> str:
    """Escape text for a Slack mrkdwn field: no mentions, no links, no broadcasts."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _SLACK_BROADCAST.sub("@" + WORD_JOINER, text)


def for_telegram_html(text: str) -> str:
    """Escape text for Telegram's HTML parse mode (``<``, ``>`` and ``&`` outside tags)."""
    return html.escape(text, quote=False)


def plain(text: str) -> str:
    """No escaping: for channels that send plain text (no parse mode)."""
    return text


ESCAPERS = {"plain": plain, "slack": for_slack_mrkdwn, "telegram_html": for_telegram_html}
