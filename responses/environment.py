"""The one Jinja2 environment: our templates, a business's overrides, per-channel escaping.

Escaping is applied to every ``{{ value }}`` (never to the template's own text) through
``finalize``; which escaper applies is chosen per render call, so one environment serves
plain text, Slack mrkdwn and Telegram HTML.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PackageLoader, StrictUndefined

from responses.escaping import ESCAPERS, plain

current_escaper: ContextVar[Callable[[str], str]] = ContextVar("current_escaper", default=plain)


def _finalize(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str):
        return current_escaper.get()(value)
    return value


def build_environment(override_dir: Path | None = None) -> Environment:
    """Our templates, with ``override_dir`` (a business's own folder) searched first."""
    loaders: list[Any] = []
    if override_dir is not None:
        loaders.append(FileSystemLoader(str(override_dir)))
    loaders.append(PackageLoader("responses", "templates"))
    env = Environment(
        loader=ChoiceLoader(loaders),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        autoescape=False,
        finalize=_finalize,
        # Templates are read once per process: no file check on every reply. A business
        # that edits its CAREBOT_TEMPLATES folder restarts Carebot to use the new wording.
        auto_reload=False,
    )
    for name, escaper in ESCAPERS.items():
        env.filters[f"escape_{name}"] = escaper
    return env
