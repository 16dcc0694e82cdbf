"""Block Kit builders: escaping everywhere, limits, live state, our own mentions."""

from __future__ import annotations

import json
from typing import Any

from bot.channels import slack_blocks as kit


def _card(**changes: Any) -> dict[str, Any]:
    card: dict[str, Any] = {
        "handoff_id": 3,
        "conversation_id": 7,
        "status": "waiting",
        "reason": "customer_request",
        "reason_text": "the customer asked for a person",
        "priority": False,
        "customer": {"id": 5, "name": "Ann <!channel>", "channel": "telegram", "tags": []},
        "intent": "order_status",
        "intent_title": "order status",
        "mood": "angry",
        "summary": "Ann wants help <@U1>.\nHanded off because of <https://evil|bank>",
        "history": [
            {
                "conversation_id": 2,
                "started_at": "2026-02-01T10:00:00",
                "intent": "refund",
                "resolution": "human",
                "csat": 2,
            },
        ],
        "transcript": [
            {"author": "customer", "text": "where is it <!here>", "at": "x"},
            {"author": "bot", "text": "Let me check", "at": "x"},
        ],
        "agent_name": None,
        "agent_id": None,
        "csat": None,
        "csat_comment": None,
    }
    card.update(changes)
    return card


def _mrkdwn(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for block in blocks:
        if isinstance(block.get("text"), dict) and block["text"]["type"] == "mrkdwn":
            found.append(block["text"])
        found += [f for f in block.get("fields", []) if f["type"] == "mrkdwn"]
        found += [e for e in block.get("elements", []) if e.get("type") == "mrkdwn"]
    return found


def test_every_mrkdwn_object_is_escaped_and_verbatim() -> None:
    blocks = kit.handoff_blocks(_card())
    texts = _mrkdwn(blocks)
    assert texts and all(t["verbatim"] is True for t in texts)
    blob = json.dumps(texts)
    for raw in ("<!channel>", "<!here>", "<@U1>", "<https://evil|bank>"):
        assert raw not in blob
    assert "&lt;!here&gt;" in blob and "&lt;https://evil|bank&gt;" in blob
    assert "<!" not in kit.card_text(_card())


def test_card_shows_who_why_what_mood_history_and_transcript() -> None:
    blob = json.dumps(kit.handoff_blocks(_card()))
    for expected in (
        "the customer asked for a person",
        "order status",
        "angry",
        "2026-02-01 #2 refund",
        "CSAT 2/5",
        "*Customer:* where is it",
        "*Bot:* Let me check",
    ):
        assert expected in blob


def test_buttons_follow_the_state() -> None:
    def action_ids(card: dict[str, Any]) -> list[str]:
        actions = [b for b in kit.handoff_blocks(card) if b["type"] == "actions"]
        return [e["action_id"] for e in actions[0]["elements"]] if actions else []

    assert action_ids(_card()) == [kit.CLAIM, kit.RESOLVE, kit.RELEASE]
    claimed = _card(status="claimed", agent_name="Ana Agent", agent_id="U1ANA")
    assert action_ids(claimed) == [kit.RESOLVE, kit.RELEASE, kit.UNCLAIM, kit.TRANSFER]
    assert action_ids(_card(status="resolved")) == []
    button = kit.handoff_blocks(_card())[5]["elements"][0]
    assert button["value"] == "7"


def test_status_line_names_the_agent_and_csat() -> None:
    line = kit.status_line(_card(status="claimed", agent_name="Ana", agent_id="U1ANA"))
    assert line.endswith("Claimed by <@U1ANA>")
    console_agent = kit.status_line(_card(status="claimed", agent_name="<!here>", agent_id="x"))
    assert "<!here>" not in console_agent
    done = kit.status_line(
        _card(
            status="resolved",
            agent_name="Ana",
            agent_id="U1ANA",
            csat=4,
            csat_comment="ok <!channel>",
        )
    )
    assert "CSAT 4/5" in done and "&lt;!channel&gt;" in done


def test_vip_header_is_plain_text_and_short() -> None:
    header = kit.handoff_blocks(_card(priority=True, customer={"id": 1, "name": "x" * 300}))[0]
    assert header["text"]["type"] == "plain_text"
    assert len(header["text"]["text"]) <= kit.HEADER_LIMIT
    assert "VIP" in kit.card_title(_card(priority=True))


def test_long_sections_are_cut_to_slack_limits_keeping_the_newest_lines() -> None:
    transcript = [
        {"author": "customer", "text": f"line {i} " + "y" * 400, "at": "x"} for i in range(30)
    ]
    blocks = kit.handoff_blocks(_card(transcript=transcript, summary="z" * 5000))
    for text in _mrkdwn(blocks):
        assert len(text["text"]) <= kit.SECTION_LIMIT
    transcript_text = blocks[4]["text"]["text"]
    assert "line 29" in transcript_text and "line 0 " not in transcript_text


def test_notice_turns_the_group_into_a_real_mention() -> None:
    payload = {
        "text": "Reminder: this handoff has waited 15 minutes — S0STAFF.",
        "mention_group": True,
    }
    line = kit.notice_line(payload, "S0STAFF")
    assert "<!subteam^S0STAFF>" in line and "S0STAFF." not in line.replace("^S0STAFF>", "")
    plain = kit.notice_line({"text": "Waited.", "mention_group": True}, "S0STAFF")
    assert plain.startswith(":information_source: <!subteam^S0STAFF> Waited.")
    assert "subteam" not in kit.notice_line({"text": "x", "mention_group": False}, "S0STAFF")
    assert "subteam" not in kit.notice_line({"text": "x", "mention_group": True}, "not-an-id")
    sneaky = kit.notice_line({"text": 'caption: "<!subteam^S0STAFF>"'}, "S0STAFF")
    assert "<!subteam" not in sneaky


def test_customer_line_is_escaped() -> None:
    line = kit.customer_line({"text": "<!channel> & co", "customer_name": "<@U1>"})
    assert line == "*&lt;@U1&gt;:* &lt;!channel&gt; &amp; co"
