"""Render the words Carebot says, in the customer's language, without repeating itself.

A template may hold several variants separated by a line ``---``; the caller passes a
seed (the number of replies so far) so consecutive replies rotate through them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from jinja2 import Template, TemplateNotFound

from responses.environment import build_environment, current_escaper
from responses.escaping import ESCAPERS

_VARIANT_SPLIT = re.compile(r"^\s*---\s*$", re.MULTILINE)
_BLANKS = re.compile(r"\n{3,}")
FALLBACK_LANGUAGE = "en"


class ResponseRenderer:
    """``render("customer/greeting", language="de", first_name="Ann")`` → text."""

    def __init__(self, override_dir: Path | None = None) -> None:
        self.env = build_environment(override_dir)
        self._compiled: dict[str, Template] = {}  # knowledge-base answers, compiled once

    def _template(self, name: str, language: str | None) -> Template:
        """The first of the language's, its base language's and the fallback's template."""
        candidates = []
        if language:
            base = language.lower().replace("_", "-")
            candidates += [f"{base}/{name}.j2", f"{base.split('-')[0]}/{name}.j2"]
        candidates.append(f"{FALLBACK_LANGUAGE}/{name}.j2")
        for candidate in candidates:
            try:
                return self.env.get_template(candidate)
            except TemplateNotFound:
                continue
        raise TemplateNotFound(name)

    def render(
        self,
        name: str,
        *,
        language: str | None = None,
        seed: int = 0,
        escape: str = "plain",
        **context: Any,
    ) -> str:
        """Render template ``name``, picking variant ``seed % count``."""
        template = self._template(name, language)
        token = current_escaper.set(ESCAPERS[escape])
        try:
            text = template.render(**context)
        finally:
            current_escaper.reset(token)
        variants = [v.strip() for v in _VARIANT_SPLIT.split(text) if v.strip()]
        if not variants:
            return ""
        chosen = variants[seed % len(variants)]
        return _BLANKS.sub("\n\n", chosen)

    def render_string(self, source: str, **context: Any) -> str:
        """Render a template given as text (knowledge-base answers use placeholders)."""
        template = self._compiled.get(source)
        if template is None:
            template = self._compiled[source] = self.env.from_string(source)
        return template.render(**context).strip()
