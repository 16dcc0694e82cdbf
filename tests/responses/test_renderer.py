"""Wording: variants, language fallback, overrides and per-channel escaping."""

from __future__ import annotations

from pathlib import Path

from responses import ResponseRenderer, for_slack_mrkdwn, for_telegram_html
from responses.escaping import WORD_JOINER


def test_variants_rotate_so_replies_do_not_repeat() -> None:
    renderer = ResponseRenderer()
    first = renderer.render("customer/greeting", seed=0)
    second = renderer.render("customer/greeting", seed=1)
    assert first and second and first != second


def test_unknown_language_falls_back_to_english() -> None:
    renderer = ResponseRenderer()
    assert renderer.render("customer/help", language="pt-BR") == renderer.render("customer/help")


def test_business_overrides_win(tmp_path: Path) -> None:
    (tmp_path / "en" / "customer").mkdir(parents=True)
    (tmp_path / "en" / "customer" / "greeting.j2").write_text("Howdy {{ first_name }}!")
    renderer = ResponseRenderer(tmp_path)
    assert renderer.render("customer/greeting", first_name="Ann") == "Howdy Ann!"
    assert "human" in renderer.render("customer/help")  # others still come from us


def test_angry_customers_get_plain_wording() -> None:
    renderer = ResponseRenderer()
    calm = renderer.render(
        "customer/answer",
        answer="X.",
        apologise=True,
        apologised=False,
        topic="delivery problem",
        angry=False,
    )
    angry = renderer.render(
        "customer/answer",
        answer="X.",
        apologise=True,
        apologised=False,
        topic="delivery problem",
        angry=True,
    )
    assert "delivery problem" in calm and angry == "Sorry about this. X."


def test_apology_is_given_once() -> None:
    renderer = ResponseRenderer()
    text = renderer.render(
        "customer/answer", answer="X.", apologise=True, apologised=True, topic="t", angry=False
    )
    assert text == "X."


def test_slack_escaping_neutralises_mentions_and_links() -> None:
    cases = {
        "<!channel>": "&lt;!channel&gt;",
        "<!here|x>": "&lt;!here|x&gt;",
        "<@U1>": "&lt;@U1&gt;",
        "<https://evil|bank>": "&lt;https://evil|bank&gt;",
        "a & b < c": "a &amp; b &lt; c",
        "&lt;!here&gt;": "&amp;lt;!here&amp;gt;",
        "@channel hi": f"@{WORD_JOINER}channel hi",
        "emoji 😀 and שלום": "emoji 😀 and שלום",
    }
    for raw, escaped in cases.items():
        assert for_slack_mrkdwn(raw) == escaped


def test_slack_escaping_applies_to_template_values_not_template_text() -> None:
    renderer = ResponseRenderer()
    text = renderer.render("staff/csat_received", score=2, comment="<!channel> bad", escape="slack")
    assert "&lt;!channel&gt; bad" in text and "<!" not in text


def test_telegram_html_escaping() -> None:
    assert for_telegram_html("<b>x</b> & y") == "&lt;b&gt;x&lt;/b&gt; &amp; y"
