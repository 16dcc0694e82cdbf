"""Data-subject requests from Slack: ``/carebot customer export|erase <id>``.

PRODUCT.md §7: staff trigger export and erasure after checking the requester's identity.
Personal data never lands in the shared channel: the export goes to the requester alone,
as a JSON file in their direct message with the bot, and every other answer is
ephemeral. Erasure needs a second, deliberate step (an ephemeral "Yes, erase" button
that only staff can press), then runs :func:`bot.core.privacy_requests.erase`, which
also queues the deletion of the bot's posts about the customer (``staff.delete``).

Each request is logged with the customer id and the Slack user who made it (no personal
data), so there is an audit trail of who exported or erased whom.
"""

from __future__ import annotations

import json
import logging
import re
from typing import TYPE_CHECKING, Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.core import desk, privacy_requests
from responses.escaping import for_slack_mrkdwn as esc

if TYPE_CHECKING:
    from bot.core.engine import ConversationEngine

log = logging.getLogger(__name__)
CONFIRM_ERASE, CANCEL_ERASE = "dsar_erase_confirm", "dsar_erase_cancel"
ACTIONS = (CONFIRM_ERASE, CANCEL_ERASE)
USAGE = (
    "Usage: `/carebot customer export <id>` or `/carebot customer erase <id>` "
    "(the customer number on the handoff card, or `channel:external_id`)."
)
_REQUEST = re.compile(r"^customer\s+(export|erase)\b\s*(.*)$", re.IGNORECASE | re.DOTALL)
_REF = re.compile(r"^(?:[0-9]{1,9}|[a-z][a-z0-9_-]{0,31}:[A-Za-z0-9_.@+-]{1,128})$")


def parse(text: str) -> tuple[str, str] | None:
    """``"customer export 12"`` → ``("export", "12")``; None if not a privacy request."""
    match = _REQUEST.match(text.strip())
    if not match:
        return None
    return match[1].lower(), match[2].strip()


def valid_ref(ref: str) -> bool:
    """An id (ASCII digits) or ``channel:external_id`` with no odd characters."""
    return bool(_REF.match(ref))


def _md(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text, "verbatim": True}


class PrivacyDesk:
    """Answers export/erase commands and the erase confirmation buttons."""

    def __init__(self, engine: ConversationEngine, client: AsyncWebClient) -> None:
        self.engine = engine
        self.client = client

    async def command(self, action: str, ref: str, user: str) -> dict[str, Any]:
        """The ephemeral answer to ``customer export|erase <ref>`` (after any DM)."""
        if not valid_ref(ref):
            return {"text": USAGE}
        brief = await desk.find_customer(self.engine, ref)
        if brief is None:
            return {"text": f"No customer {esc(ref)}."}
        if action == "export":
            return await self._export(brief, user)
        return self._ask_to_erase(brief)

    async def _export(self, brief: desk.CustomerBrief, user: str) -> dict[str, Any]:
        data = await privacy_requests.export(self.engine, str(brief.customer_id))
        if data is None:
            return {"text": f"No customer {brief.customer_id}."}
        content = json.dumps(data, indent=2, ensure_ascii=False, default=str)
        try:
            opened = await self.client.conversations_open(users=user)
            dm = str((opened.get("channel") or {}).get("id"))
            await self.client.files_upload_v2(
                channel=dm,
                content=content,
                filename=f"carebot-customer-{brief.customer_id}.json",
                title=f"Carebot export: customer {brief.customer_id}",
                initial_comment=(
                    f"Data export for customer {brief.customer_id} (GDPR Art. 15/20), "
                    "as you asked. Handle it as personal data; delete it once sent."
                ),
            )
        except Exception:
            log.warning("DSAR export for customer %s failed", brief.customer_id, exc_info=True)
            return {"text": "Slack did not accept the export file just now; please try again."}
        log.info("DSAR export of customer %s sent to Slack user %s", brief.customer_id, user)
        return {
            "text": (
                f"Sent you the export of customer {brief.customer_id} as a JSON file in our "
                "direct messages (nothing was posted here)."
            )
        }

    @staticmethod
    def _ask_to_erase(brief: desk.CustomerBrief) -> dict[str, Any]:
        if brief.erased:
            return {"text": f"Customer {brief.customer_id} is already erased."}
        value = str(brief.customer_id)
        question = (
            f":warning: Erase customer {brief.customer_id} ({esc(brief.name)}, "
            f"{esc(brief.channel)})? This removes their profile, transcripts and the bot's "
            "Slack posts about them; anonymised report numbers stay. It cannot be undone."
        )
        return {
            "text": esc(f"Erase customer {brief.customer_id}? Confirm with the button."),
            "blocks": [
                {"type": "section", "text": _md(question)},
                {
                    "type": "actions",
                    "block_id": f"dsar_erase:{value}",
                    "elements": [
                        {
                            "type": "button",
                            "text": {"type": "plain_text", "text": "Yes, erase"},
                            "style": "danger",
                            "action_id": CONFIRM_ERASE,
                            "value": value,
                        },
                        {
                            "type": "button",
                            "text": {"type": "plain_text", "text": "Cancel"},
                            "action_id": CANCEL_ERASE,
                            "value": value,
                        },
                    ],
                },
            ],
        }

    async def button(self, action: dict[str, Any], user: str) -> str:
        """The answer to a press of "Yes, erase" or "Cancel"."""
        value = str(action.get("value") or "")
        if not (value.isascii() and value.isdigit() and len(value) <= 9):
            return "That button no longer belongs to a customer."
        if action.get("action_id") != CONFIRM_ERASE:
            return f"Nothing was erased (customer {value})."
        result = await privacy_requests.erase(self.engine, value)
        if result is None:
            return f"No customer {value}."
        log.info("DSAR erasure of customer %s by Slack user %s", value, user)
        posts = result.get("staff_posts_to_delete", 0)
        return (
            f"Customer {value} is erased. {posts} bot post(s) in Slack are being deleted; "
            "anonymised report numbers stay."
        )
