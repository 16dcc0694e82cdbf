"""Entities found by the domain's regular expressions (order numbers, e-mail addresses).

Regular expressions, because the values a support bot needs are formatted identifiers:
a business knows what its order numbers look like and can write the pattern itself.
"""

from __future__ import annotations

from collections.abc import Sequence

from intents.domain import EntityPattern
from intents.types import Entity


class EntityExtractor:
    """Finds every entity of the domain in a message, in order of appearance."""

    def __init__(self, patterns: Sequence[EntityPattern]) -> None:
        self._patterns = tuple(patterns)

    @property
    def kinds(self) -> frozenset[str]:
        """The entity kinds the domain defines."""
        return frozenset(p.kind for p in self._patterns)

    def extract(self, text: str) -> tuple[Entity, ...]:
        """All matches, without duplicates; a span claimed by an earlier kind is not reused.

        The value is the first capture group when the pattern has one (so a pattern can
        match "order #12345" but keep "12345"), otherwise the whole match.
        """
        found: list[tuple[int, Entity]] = []
        taken: list[tuple[int, int]] = []
        for pattern in self._patterns:
            for match in pattern.pattern.finditer(text):
                group = 1 if pattern.pattern.groups and match.group(1) is not None else 0
                start, end = match.span(group)
                if any(start < t_end and t_start < end for t_start, t_end in taken):
                    continue
                entity = Entity(pattern.kind, match.group(group))
                if all(entity != other for _, other in found):
                    found.append((start, entity))
                    taken.append((start, end))
        return tuple(entity for _, entity in sorted(found, key=lambda item: item[0]))
