"""Domain files: the shipped domain is complete, and mistakes name the file and line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from intents.domain import SHOP_DOMAIN, Domain, DomainError, load_domain
from intents.types import Behaviour


def test_shop_domain_size(shop_domain: Domain) -> None:
    assert len(shop_domain.intents) >= 25
    assert len(shop_domain.faq) >= 30
    for spec in shop_domain.intents.values():
        assert len(spec.examples) >= 25, spec.info.name
    behaviours = {spec.info.behaviour for spec in shop_domain.intents.values()}
    assert behaviours == set(Behaviour)


def test_fingerprint_changes_with_the_data(shop_domain: Domain, tmp_path: Path) -> None:
    folder = _copy_shop(tmp_path)
    intents = folder / "intents.yml"
    intents.write_text(intents.read_text().replace("- where is my order\n", "- where's it\n", 1))
    assert load_domain(folder).fingerprint() != shop_domain.fingerprint()
    assert load_domain(SHOP_DOMAIN).fingerprint() == shop_domain.fingerprint()


def _copy_shop(tmp_path: Path) -> Path:
    folder = tmp_path / "shop"
    shutil.copytree(SHOP_DOMAIN, folder)
    return folder


def _write(folder: Path, intents: str, faq: str | None = None) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / "intents.yml").write_text(intents)
    if faq is not None:
        (folder / "faq.yml").write_text(faq)
    return folder


GOOD_FAQ = "faq:\n  hours:\n    questions: [when are you open]\n    answer: Always.\n"


@pytest.mark.parametrize(
    ("intents", "line", "words"),
    [
        ("intents:\n  a:\n    examples: [hi\n", 4, "invalid YAML"),
        (
            "intents:\n  a:\n    behaviour: dance\n    examples: [x]\n  b:\n    examples: [y]\n",
            3,
            "unknown behaviour 'dance'",
        ),
        ("intents:\n  a:\n    examples: [x]\n  a:\n    examples: [y]\n", 4, "duplicate key 'a'"),
        (
            "intents:\n  a:\n    examples: [x]\n  b:\n    answer: nope\n    examples: [y]\n",
            5,
            "answer 'nope'",
        ),
        ("intents:\n  a:\n    examples: [x]\n  b:\n    exmples: [y]\n", 5, "unknown key 'exmples'"),
        ("intents:\n  a:\n    examples: [x, '']\n  b:\n    examples: [y]\n", 3, "is empty"),
        ("intents:\n  a:\n    examples: [x]\n  Bad-Name:\n    examples: [y]\n", 4, "lowercase"),
        (
            "intents:\n  a:\n    examples: [x]\n  b:\n    apologise: maybe\n    examples: [y]\n",
            5,
            "true or false",
        ),
        (
            "intents:\n  a:\n    examples: [x]\n  b:\n    requires: [order_number]\n"
            "    examples: [y]\n",
            4,
            "requires entity 'order_number'",
        ),
        ("intnets:\n  a: {}\n", 1, "missing top-level section 'intents:'"),
    ],
)
def test_errors_name_file_and_line(tmp_path: Path, intents: str, line: int, words: str) -> None:
    folder = _write(tmp_path / "d", intents, GOOD_FAQ)
    with pytest.raises(DomainError) as caught:
        load_domain(folder)
    assert caught.value.path == folder / "intents.yml"
    assert caught.value.line == line
    assert words in str(caught.value)
    assert str(caught.value).startswith(f"{folder / 'intents.yml'}:{line}: ")


def test_faq_error_names_faq_file(tmp_path: Path) -> None:
    faq = "faq:\n  hours:\n    questions: [when are you open]\n"
    folder = _write(tmp_path / "d", "intents:\n  a:\n    examples: [x]\n", faq)
    with pytest.raises(DomainError, match=r"faq\.yml:2: FAQ entry 'hours' needs 'answer:'"):
        load_domain(folder)


def test_bad_regex_in_entities(tmp_path: Path) -> None:
    folder = _write(tmp_path / "d", "intents:\n  a:\n    examples: [x]\n  b:\n    examples: [y]\n")
    (folder / "entities.yml").write_text("entities:\n  order_number:\n    - '(\\d+'\n")
    with pytest.raises(DomainError, match=r"entities\.yml:3: bad regular expression"):
        load_domain(folder)


def test_missing_folder_and_file(tmp_path: Path) -> None:
    with pytest.raises(DomainError, match="not a domain folder"):
        load_domain(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DomainError, match=r"intents\.yml: file not found"):
        load_domain(tmp_path / "empty")
