"""Signed Slack requests built the way Slack builds them (events, actions, commands).

``X-Slack-Signature = "v0=" + hex(HMAC_SHA256(secret, "v0:" + timestamp + ":" + body))``
over the exact bytes sent; Bolt rejects anything else, or a timestamp over 5 minutes old.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from typing import Any
from urllib.parse import urlencode

SECRET = "test-signing-secret"
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
_ids = itertools.count(1)


def sign(
    body: bytes, content_type: str, *, secret: str = SECRET, ts: float | None = None
) -> dict[str, str]:
    """The three headers Slack sends with ``body``."""
    stamp = str(int(time.time() if ts is None else ts))
    digest = hmac.new(secret.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256)
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": "v0=" + digest.hexdigest(),
    }


def event_body(event: dict[str, Any], *, event_id: str | None = None) -> bytes:
    """An ``event_callback`` envelope around ``event``."""
    envelope = {
        "token": "legacy",
        "team_id": "T0TEAM",
        "api_app_id": "A0APP",
        "type": "event_callback",
        "event_id": event_id or f"Ev{next(_ids):08d}",
        "event_time": int(time.time()),
        "authorizations": [{"team_id": "T0TEAM", "user_id": "U0BOT", "is_bot": True}],
        "event": event,
    }
    return json.dumps(envelope).encode()


def thread_reply(
    channel: str, thread_ts: str, user: str, text: str, **extra: Any
) -> dict[str, Any]:
    """A person's reply in a thread (no subtype, ``thread_ts`` ≠ ``ts``)."""
    ts = f"1700000500.{next(_ids):06d}"
    event = {
        "type": "message",
        "channel": channel,
        "user": user,
        "text": text,
        "ts": ts,
        "thread_ts": thread_ts,
        "parent_user_id": "U0BOT",
        "channel_type": "channel",
        "client_msg_id": f"cm-{ts}",
        "event_ts": ts,
    }
    event.update(extra)
    return event


def action_body(
    action_id: str, value: str | None, user: str, channel: str, message_ts: str, **extra: Any
) -> bytes:
    """A ``block_actions`` payload (form-encoded ``payload=<json>``)."""
    action: dict[str, Any] = {
        "action_id": action_id,
        "block_id": f"handoff_actions:{value}",
        "type": "button",
        "action_ts": f"{time.time():.6f}",
    }
    if value is not None:
        action["value"] = value
    action.update(extra)
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "team_id": "T0TEAM"},
        "api_app_id": "A0APP",
        "token": "legacy",
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel,
            "is_ephemeral": False,
        },
        "trigger_id": f"trig.{next(_ids)}",
        "team": {"id": "T0TEAM", "domain": "test"},
        "channel": {"id": channel, "name": "support"},
        "message": {"ts": message_ts, "bot_id": "B0BOT", "text": "card", "blocks": []},
        "state": {"values": {}},
        "response_url": "http://127.0.0.1:9/unused",
        "actions": [action],
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


def command_body(text: str, user: str, channel: str, response_url: str) -> bytes:
    """A ``/carebot`` slash command (form-encoded)."""
    return urlencode(
        {
            "token": "legacy",
            "team_id": "T0TEAM",
            "team_domain": "test",
            "channel_id": channel,
            "channel_name": "support",
            "user_id": user,
            "user_name": user.lower(),
            "command": "/carebot",
            "text": text,
            "api_app_id": "A0APP",
            "response_url": response_url,
            "trigger_id": f"trig.{next(_ids)}",
        }
    ).encode()
