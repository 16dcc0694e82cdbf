"""Internal notes in a handoff thread: the convention, made hard to get wrong.

Everything a staff member writes in a handoff thread reaches the customer, except a
note. A note is a thread message that *starts* with one of these markers, in any case,
after leading whitespace, quote marks (``>``) and formatting (``*bold*``, ``_italic_``,
``~strike~``, `` `code` ``):

    note: ...        internal: ...        // ...
    (note) ...       [note] ...           (internal) ...       [internal] ...
    :memo: ... (the 📝 emoji)

``/carebot note <conversation> <text>`` is the shortcut from anywhere in Slack.

The rule errs on the side of *not* relaying: "note :" and "NOTE：" (full-width colon) count
too, while an ordinary sentence that merely begins with the word ("Note that your parcel
left today") is relayed, because a reply to a customer often reads that way. After every
note the author sees an ephemeral "Internal note saved (not sent to the customer)", and
relayed replies are not confirmed that way, so the difference is visible at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

RELAYED_SUBTYPES = (None, "thread_broadcast", "file_share")


def is_thread_reply(event: dict[str, Any]) -> bool:
    """A person's reply in a thread (Slack sends no ``message_replied`` subtype for it)."""
    thread, ts = event.get("thread_ts"), event.get("ts")
    return (
        bool(thread)
        and thread != ts
        and event.get("subtype") in RELAYED_SUBTYPES
        and not event.get("bot_id")
        and bool(event.get("user"))
    )


_LEAD = re.compile(r"^(?:\s|&gt;|>|[*_~`]|\u200b|\u2060)*")
_MARKER = re.compile(
    r"""^(?:
        (?:note|internal|nb)\s*[:：]        # note:   internal:   nb:
      | //+                                # // comment
      | [(\[]\s*(?:note|internal)\s*[)\]]  # (note) [internal]
      | :memo:|📝                          # the memo emoji
    )""",
    re.IGNORECASE | re.VERBOSE,
)
_TRAIL = re.compile(r"^(?:\s|[*_~`])*")


@dataclass(frozen=True)
class ThreadText:
    """A staff thread message, classified."""

    internal: bool
    text: str


def classify(text: str) -> ThreadText:
    """Split a thread message into (internal?, text without the marker)."""
    lead = _LEAD.match(text)
    rest = text[lead.end() :] if lead else text
    marker = _MARKER.match(rest)
    if marker is None:
        return ThreadText(internal=False, text=text.strip())
    body = rest[marker.end() :]
    trail = _TRAIL.match(body)
    body = body[trail.end() :] if trail else body
    return ThreadText(internal=True, text=body.strip() or text.strip())


def is_internal(text: str) -> bool:
    """True if ``text`` is an internal note that must never reach the customer."""
    return classify(text).internal
