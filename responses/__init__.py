"""Wording: Jinja2 templates, overridable by a business, with per-channel escaping."""

from responses.escaping import for_slack_mrkdwn, for_telegram_html
from responses.renderer import ResponseRenderer

__all__ = ["ResponseRenderer", "for_slack_mrkdwn", "for_telegram_html"]
