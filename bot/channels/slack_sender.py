"""The Slack sender: outbox rows of the staff side become Web API calls.

The outbox owns retries, so the Web API client runs without retry handlers and this
sender turns every failure into the error the dispatcher understands: a 429 becomes a
:class:`TransientDeliveryError` carrying Slack's ``Retry-After``, 5xx and network errors
are transient, and configuration errors a person can fix (``not_in_channel``,
``invalid_auth``) are retried too rather than losing a handoff. A Slack outage therefore
only delays handoffs.

A retried handoff card might already have been posted (Slack answered, the answer got
lost). Cards carry message metadata with their handoff id; before posting again the
sender looks for one in the channel's recent history, so the card appears once.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.channels import slack_blocks as kit
from bot.channels.slack_report import summary_blocks, summary_text
from bot.core.actions import (
    STAFF_CUSTOMER_MESSAGE,
    STAFF_DELETE,
    STAFF_DIGEST,
    STAFF_HANDOFF,
    STAFF_HANDOFF_UPDATE,
    STAFF_NOTICE,
    Delivery,
    Receipt,
)
from bot.errors import PermanentDeliveryError, TransientDeliveryError

log = logging.getLogger(__name__)
METADATA_TYPE = "carebot_handoff"
_PERMANENT = {
    "invalid_blocks",
    "invalid_arguments",
    "msg_too_long",
    "no_text",
    "message_not_found",
    "cant_update_message",
    "edit_window_closed",
    "is_archived",
}
_TOO_RICH = {"invalid_blocks", "msg_too_long"}


def translate(exc: Exception, method: str) -> Exception:
    """Map a Web API failure onto the dispatcher's error tree."""
    if isinstance(exc, SlackApiError):
        response = exc.response
        status = int(getattr(response, "status_code", 0) or 0)
        error = (
            str((response.data or {}).get("error", "")) if isinstance(response.data, dict) else ""
        )
        if status == 429 or error == "ratelimited":
            headers = getattr(response, "headers", {}) or {}
            retry = headers.get("Retry-After") or headers.get("retry-after")
            return TransientDeliveryError(
                f"{method}: rate limited", retry_after=float(retry) if retry else 1.0
            )
        if status >= 500 or status == 408:
            return TransientDeliveryError(f"{method}: Slack answered {status}")
        if error in _PERMANENT:
            return PermanentDeliveryError(f"{method}: {error}")
        return TransientDeliveryError(f"{method}: {error or status}")
    if isinstance(exc, aiohttp.ClientError | asyncio.TimeoutError | OSError):
        return TransientDeliveryError(f"{method}: {type(exc).__name__}: {exc}")
    return exc


class SlackSender:
    """Posts handoff cards, keeps them up to date, and writes into their threads."""

    def __init__(
        self,
        client: AsyncWebClient,
        channel: str,
        staff_group: str | None = None,
        *,
        managers_channel: str | None = None,
    ):
        self.client = client
        self.channel = channel
        self.staff_group = staff_group
        self.managers_channel = managers_channel

    async def deliver(self, delivery: Delivery) -> Receipt:
        """One staff-side row → one Web API call (a second only to dedupe a retried card)."""
        if delivery.kind == STAFF_HANDOFF:
            return await self._post_card(delivery)
        if delivery.kind == STAFF_HANDOFF_UPDATE:
            return await self._update_card(delivery)
        if delivery.kind == STAFF_CUSTOMER_MESSAGE:
            return await self._post_in_thread(delivery, kit.customer_line(delivery.payload))
        if delivery.kind == STAFF_NOTICE:
            return await self._post_in_thread(
                delivery, kit.notice_line(delivery.payload, self.staff_group)
            )
        if delivery.kind == STAFF_DELETE:
            return await self._delete(delivery)
        if delivery.kind == STAFF_DIGEST:
            return await self._post_digest(delivery)
        raise PermanentDeliveryError(f"the Slack desk cannot send {delivery.kind}")

    async def _delete(self, delivery: Delivery) -> Receipt:
        """Remove one of the bot's posts (customer erased); already gone counts as done."""
        payload = delivery.payload
        try:
            await self._call(
                "chat.delete", channel=payload.get("channel") or self.channel, ts=payload["ts"]
            )
        except PermanentDeliveryError as exc:
            if "message_not_found" not in str(exc):
                raise
            log.info("post %s was already deleted", payload["ts"])
        return Receipt()

    async def _post_digest(self, delivery: Delivery) -> Receipt:
        """The weekly summary into the managers' channel; nothing when none is configured."""
        if not self.managers_channel:
            log.info("no CAREBOT_SLACK_MANAGERS_CHANNEL set; the weekly digest is skipped")
            return Receipt()
        summary = delivery.payload["summary"]
        data = await self._call(
            "chat.postMessage",
            channel=self.managers_channel,
            text=summary_text(summary),
            blocks=summary_blocks(summary),
            unfurl_links=False,
            unfurl_media=False,
        )
        return Receipt(platform_id=str(data.get("ts")), channel_ref=str(data.get("channel")))

    async def _call(self, method: str, *, read: bool = False, **kwargs: Any) -> dict[str, Any]:
        try:
            if read:  # read methods take query parameters, not JSON bodies
                response = await self.client.api_call(method, http_verb="GET", params=kwargs)
            else:
                response = await self.client.api_call(method, json=kwargs)
        except Exception as exc:
            raise translate(exc, method) from exc
        return dict(response.data) if isinstance(response.data, dict) else {}

    async def _post_card(self, delivery: Delivery) -> Receipt:
        card = delivery.payload
        handoff_id = int(card["handoff_id"])
        if delivery.attempt > 1:
            found = await self._find_card(handoff_id)
            if found:
                return Receipt(platform_id=found, channel_ref=self.channel)
        message: dict[str, Any] = {
            "channel": self.channel,
            "text": kit.card_text(card),
            "blocks": kit.handoff_blocks(card),
            "unfurl_links": False,
            "unfurl_media": False,
            "metadata": {"event_type": METADATA_TYPE, "event_payload": {"handoff_id": handoff_id}},
        }
        try:
            data = await self._call("chat.postMessage", **message)
        except PermanentDeliveryError as exc:
            if not any(code in str(exc) for code in _TOO_RICH):
                raise
            log.warning("handoff %s card refused (%s); posting plain text", handoff_id, exc)
            message.pop("blocks")
            message["text"] = kit.clip(kit.card_text(card) + "\n" + kit.status_line(card))
            data = await self._call("chat.postMessage", **message)
        return Receipt(platform_id=str(data.get("ts")), channel_ref=str(data.get("channel")))

    async def _find_card(self, handoff_id: int) -> str | None:
        """The ts of an earlier post of this handoff's card, if one got through."""
        try:
            data = await self._call(
                "conversations.history",
                read=True,
                channel=self.channel,
                limit=100,
                include_all_metadata=True,
            )
        except TransientDeliveryError:
            raise
        except Exception:
            log.warning("could not check history for handoff %s", handoff_id, exc_info=True)
            return None
        for message in data.get("messages") or []:
            metadata = message.get("metadata") or {}
            payload = metadata.get("event_payload") or {}
            if metadata.get("event_type") == METADATA_TYPE and payload.get("handoff_id") in (
                handoff_id,
                str(handoff_id),
            ):
                return str(message.get("ts"))
        return None

    async def _update_card(self, delivery: Delivery) -> Receipt:
        if not delivery.staff_thread:
            raise TransientDeliveryError("the handoff card is not posted yet")
        card = delivery.payload
        data = await self._call(
            "chat.update",
            channel=delivery.staff_channel or self.channel,
            ts=delivery.staff_thread,
            text=kit.card_text(card),
            blocks=kit.handoff_blocks(card),
        )
        return Receipt(platform_id=str(data.get("ts")), channel_ref=str(data.get("channel")))

    async def _post_in_thread(self, delivery: Delivery, text: str) -> Receipt:
        if not delivery.staff_thread:
            raise TransientDeliveryError("the handoff card is not posted yet")
        data = await self._call(
            "chat.postMessage",
            channel=delivery.staff_channel or self.channel,
            thread_ts=delivery.staff_thread,
            text=text,
            blocks=[
                {"type": "section", "text": {"type": "mrkdwn", "text": text, "verbatim": True}}
            ],
            unfurl_links=False,
            unfurl_media=False,
        )
        return Receipt(platform_id=str(data.get("ts")), channel_ref=str(data.get("channel")))
