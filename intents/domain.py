"""Load a business's domain (intents, FAQ, entity patterns) from YAML files.

The domain is data a business edits, not code, so every mistake must be reported in the
business's terms: which file, which line, what is wrong. PyYAML's node marks carry the
line numbers; this module walks the composed node tree itself instead of ``safe_load``
so each value keeps the line it came from. The format is documented in
``intents/domains/README.md``.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from intents.types import Behaviour, IntentInfo

INTENTS_FILE = "intents.yml"
FAQ_FILE = "faq.yml"
ENTITIES_FILE = "entities.yml"
SHOP_DOMAIN = Path(__file__).parent / "domains" / "shop"

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_INTENT_KEYS = {"title", "behaviour", "answer", "requires", "apologise", "examples"}
_FAQ_KEYS = {"questions", "answer"}


class DomainError(ValueError):
    """A domain file is missing or wrong; the message names the file and the line."""

    def __init__(self, path: Path, line: int | None, message: str) -> None:
        self.path = path
        self.line = line
        self.message = message
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True)
class Located:
    """A string with the file line it was read from (1-based), for error messages."""

    text: str
    line: int


@dataclass(frozen=True)
class IntentSpec:
    """One intent: what the engine does with it and the examples that teach it."""

    info: IntentInfo
    examples: tuple[Located, ...]
    line: int


@dataclass(frozen=True)
class FaqEntry:
    """One knowledge-base entry: several phrasings of a question and one answer template."""

    entry_id: str
    questions: tuple[Located, ...]
    answer: str
    line: int


@dataclass(frozen=True)
class EntityPattern:
    """A regular expression that finds one kind of entity (order number, e-mail, ...)."""

    kind: str
    pattern: re.Pattern[str]


@dataclass(frozen=True)
class Domain:
    """Everything read from one domain folder."""

    folder: Path
    intents: dict[str, IntentSpec]
    faq: dict[str, FaqEntry]
    entities: tuple[EntityPattern, ...]

    def training_data(self) -> tuple[list[str], list[str]]:
        """The classifier's training set: (texts, intent names)."""
        texts: list[str] = []
        labels: list[str] = []
        for name, spec in self.intents.items():
            for example in spec.examples:
                texts.append(example.text)
                labels.append(name)
        return texts, labels

    def fingerprint(self) -> str:
        """A hash of the training data, so a cached model is reused only for the same data."""
        texts, labels = self.training_data()
        payload = json.dumps([texts, labels], ensure_ascii=False).encode()
        return hashlib.sha256(payload).hexdigest()


def load_domain(folder: Path | None = None) -> Domain:
    """Read and validate a domain folder (``None`` = the shipped shop domain).

    Raises:
        DomainError: a file is missing, is not valid YAML, or breaks the format; the
            message names the file and line.
    """
    folder = SHOP_DOMAIN if folder is None else Path(folder)
    if not folder.is_dir():
        raise DomainError(folder, None, "not a domain folder (expected a directory)")
    faq = _load_faq(folder / FAQ_FILE) if (folder / FAQ_FILE).exists() else {}
    intents = _load_intents(folder / INTENTS_FILE, faq)
    entities_path = folder / ENTITIES_FILE
    entities = _load_entities(entities_path) if entities_path.exists() else ()
    for spec in intents.values():
        for kind in spec.info.requires:
            if kind not in {e.kind for e in entities}:
                raise DomainError(
                    folder / INTENTS_FILE,
                    spec.line,
                    f"intent {spec.info.name!r} requires entity {kind!r}, "
                    f"which {ENTITIES_FILE} does not define",
                )
    return Domain(folder=folder, intents=intents, faq=faq, entities=entities)


# --- YAML node helpers -------------------------------------------------------------


def _compose(path: Path) -> yaml.Node:
    if not path.exists():
        raise DomainError(path, None, "file not found")
    try:
        node = yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise DomainError(path, line, f"invalid YAML: {exc.problem or exc}") from exc
    except UnicodeDecodeError as exc:
        raise DomainError(path, None, "not UTF-8 text") from exc
    if node is None:
        raise DomainError(path, 1, "the file is empty")
    return node


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _mapping(path: Path, node: yaml.Node, what: str) -> list[tuple[yaml.Node, yaml.Node]]:
    if not isinstance(node, yaml.MappingNode):
        raise DomainError(path, _line(node), f"{what} must be a mapping (key: value)")
    seen: dict[str, int] = {}
    for key, _ in node.value:
        name = _scalar(path, key, "a key")
        if name in seen:
            raise DomainError(
                path, _line(key), f"duplicate key {name!r} in {what} (first on line {seen[name]})"
            )
        seen[name] = _line(key)
    return list(node.value)


def _scalar(path: Path, node: yaml.Node, what: str) -> str:
    if not isinstance(node, yaml.ScalarNode):
        raise DomainError(path, _line(node), f"{what} must be a single value")
    return str(node.value)


def _text(path: Path, node: yaml.Node, what: str) -> str:
    text = _scalar(path, node, what).strip()
    if not text:
        raise DomainError(path, _line(node), f"{what} is empty")
    return text


def _texts(path: Path, node: yaml.Node, what: str) -> tuple[Located, ...]:
    if not isinstance(node, yaml.SequenceNode):
        raise DomainError(path, _line(node), f"{what} must be a list (lines starting with '- ')")
    return tuple(
        Located(_text(path, item, f"an item of {what}"), _line(item)) for item in node.value
    )


def _bool(path: Path, node: yaml.Node, what: str) -> bool:
    # After composition a scalar carries its resolved tag, so "yes"/"true" are bools here.
    if not isinstance(node, yaml.ScalarNode) or node.tag != "tag:yaml.org,2002:bool":
        raise DomainError(path, _line(node), f"{what} must be true or false")
    return str(node.value).lower() in ("true", "yes", "on", "y")


def _top(path: Path, section: str) -> list[tuple[yaml.Node, yaml.Node]]:
    root = _compose(path)
    for key, value in _mapping(path, root, "the file"):
        if _scalar(path, key, "a key") == section:
            return _mapping(path, value, f"'{section}'")
    raise DomainError(path, _line(root), f"missing top-level section '{section}:'")


def _name(path: Path, key: yaml.Node, what: str) -> str:
    name = _scalar(path, key, what)
    if not _NAME.match(name):
        raise DomainError(
            path, _line(key), f"{what} {name!r} must be lowercase letters, digits and '_'"
        )
    return name


# --- the three files ---------------------------------------------------------------


def _load_faq(path: Path) -> dict[str, FaqEntry]:
    entries: dict[str, FaqEntry] = {}
    for key, body in _top(path, "faq"):
        entry_id = _name(path, key, "FAQ id")
        fields = dict((_scalar(path, k, "a key"), v) for k, v in _mapping(path, body, entry_id))
        _no_unknown(path, body, fields, _FAQ_KEYS, f"FAQ entry {entry_id!r}")
        for required in ("questions", "answer"):
            if required not in fields:
                raise DomainError(path, _line(key), f"FAQ entry {entry_id!r} needs '{required}:'")
        entries[entry_id] = FaqEntry(
            entry_id=entry_id,
            questions=_texts(path, fields["questions"], f"{entry_id}.questions"),
            answer=_text(path, fields["answer"], f"{entry_id}.answer"),
            line=_line(key),
        )
    return entries


def _load_intents(path: Path, faq: dict[str, FaqEntry]) -> dict[str, IntentSpec]:
    intents: dict[str, IntentSpec] = {}
    behaviours = ", ".join(b.value for b in Behaviour)
    for key, body in _top(path, "intents"):
        name = _name(path, key, "intent name")
        fields = dict((_scalar(path, k, "a key"), v) for k, v in _mapping(path, body, name))
        _no_unknown(path, body, fields, _INTENT_KEYS, f"intent {name!r}")
        if "examples" not in fields:
            raise DomainError(path, _line(key), f"intent {name!r} needs 'examples:'")
        raw = _scalar(path, fields["behaviour"], "behaviour") if "behaviour" in fields else "answer"
        try:
            behaviour = Behaviour(raw)
        except ValueError:
            line = _line(fields["behaviour"])
            raise DomainError(path, line, f"unknown behaviour {raw!r} (use {behaviours})") from None
        answer_id = _scalar(path, fields["answer"], "answer") if "answer" in fields else None
        if answer_id is not None and answer_id not in faq:
            raise DomainError(
                path, _line(fields["answer"]), f"answer {answer_id!r} is not an id in {FAQ_FILE}"
            )
        requires = (
            tuple(x.text for x in _texts(path, fields["requires"], f"{name}.requires"))
            if "requires" in fields
            else ()
        )
        apologise = (
            _bool(path, fields["apologise"], "apologise") if "apologise" in fields else False
        )
        title = (
            _text(path, fields["title"], "title") if "title" in fields else name.replace("_", " ")
        )
        examples = _texts(path, fields["examples"], f"{name}.examples")
        if not examples:
            raise DomainError(path, _line(fields["examples"]), f"intent {name!r} has no examples")
        info = IntentInfo(name, behaviour, title, answer_id, requires, apologise)
        intents[name] = IntentSpec(info=info, examples=examples, line=_line(key))
    if len(intents) < 2:
        raise DomainError(path, None, "a domain needs at least two intents")
    return intents


def _load_entities(path: Path) -> tuple[EntityPattern, ...]:
    patterns: list[EntityPattern] = []
    for key, body in _top(path, "entities"):
        kind = _name(path, key, "entity kind")
        for item in _texts(path, body, f"{kind} patterns"):
            try:
                compiled = re.compile(item.text, re.IGNORECASE)
            except re.error as exc:
                raise DomainError(path, item.line, f"bad regular expression: {exc}") from exc
            patterns.append(EntityPattern(kind, compiled))
    return tuple(patterns)


def _no_unknown(
    path: Path, node: yaml.Node, fields: dict[str, yaml.Node], allowed: set[str], what: str
) -> None:
    for key in fields:
        if key not in allowed:
            raise DomainError(
                path,
                _line(fields[key]),
                f"unknown key {key!r} in {what} (allowed: {', '.join(sorted(allowed))})",
            )
