"""``carebot domain check``: find the mistakes in a domain before customers do.

Loading already rejects broken files (:class:`~intents.domain.DomainError`). This goes
further and looks at the *data*: the same example under two intents (the classifier
cannot learn both), repeated examples, near-identical examples in different intents,
and pairs of intents the classifier confuses in cross-validation, which usually means
they should be merged or given clearer examples.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from intents.classifier import ClassifierConfig, _LinearModel, _stratified_folds
from intents.domain import FAQ_FILE, INTENTS_FILE, Domain, DomainError, load_domain

MIN_EXAMPLES = 10
"""Fewer examples than this per intent make a warning: the classifier will guess."""
NEAR_DUPLICATE = 0.9
"""Cosine similarity above which two examples of different intents conflict."""
CONFUSION_SHARE = 0.2
"""Share of two intents' examples mistaken for each other that makes them "too close"."""


@dataclass(frozen=True)
class Finding:
    """One problem, located in a file."""

    level: str  # "error" or "warning"
    path: Path
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else str(self.path)
        return f"{where}: {self.level}: {self.message}"


def check_domain(folder: Path | None) -> list[Finding]:
    """All findings for a domain folder, errors first (an unloadable folder gives one)."""
    try:
        domain = load_domain(folder)
    except DomainError as exc:
        return [Finding("error", exc.path, exc.line, exc.message)]
    findings = [
        *_duplicates(domain),
        *_faq_duplicates(domain),
        *_too_few(domain),
        *_near_duplicates(domain),
        *_confused_pairs(domain),
    ]
    return sorted(findings, key=lambda f: (f.level != "error", str(f.path), f.line or 0))


def _normal(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def _duplicates(domain: Domain) -> list[Finding]:
    path = domain.folder / INTENTS_FILE
    seen: dict[str, tuple[str, int]] = {}
    findings: list[Finding] = []
    for name, spec in domain.intents.items():
        for example in spec.examples:
            key = _normal(example.text)
            if key not in seen:
                seen[key] = (name, example.line)
                continue
            other, line = seen[key]
            if other == name:
                message = f"duplicate example {example.text!r} in {name!r} (also line {line})"
                findings.append(Finding("warning", path, example.line, message))
            else:
                message = (
                    f"conflicting example {example.text!r}: in {name!r} and in {other!r} "
                    f"(line {line}); keep it in one intent only"
                )
                findings.append(Finding("error", path, example.line, message))
    return findings


def _faq_duplicates(domain: Domain) -> list[Finding]:
    path = domain.folder / FAQ_FILE
    seen: dict[str, tuple[str, int]] = {}
    findings: list[Finding] = []
    for entry in domain.faq.values():
        for question in entry.questions:
            key = _normal(question.text)
            if key in seen and seen[key][0] != entry.entry_id:
                other, line = seen[key]
                message = (
                    f"question {question.text!r} is in FAQ entries {entry.entry_id!r} and "
                    f"{other!r} (line {line}); retrieval cannot choose"
                )
                findings.append(Finding("error", path, question.line, message))
            seen.setdefault(key, (entry.entry_id, question.line))
    return findings


def _too_few(domain: Domain) -> list[Finding]:
    path = domain.folder / INTENTS_FILE
    return [
        Finding(
            "warning",
            path,
            spec.line,
            f"intent {name!r} has only {len(spec.examples)} examples "
            f"(at least {MIN_EXAMPLES} recommended)",
        )
        for name, spec in domain.intents.items()
        if len(spec.examples) < MIN_EXAMPLES
    ]


def _near_duplicates(domain: Domain) -> list[Finding]:
    texts, labels = domain.training_data()
    lines = [ex.line for spec in domain.intents.values() for ex in spec.examples]
    matrix = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4)).fit_transform(texts)
    similarity = (matrix @ matrix.T).toarray()
    findings: list[Finding] = []
    path = domain.folder / INTENTS_FILE
    for i, j in zip(*np.nonzero(np.triu(similarity, k=1) >= NEAR_DUPLICATE), strict=True):
        if labels[i] != labels[j] and _normal(texts[i]) != _normal(texts[j]):
            message = (
                f"example {texts[j]!r} ({labels[j]!r}) is almost the same as {texts[i]!r} "
                f"({labels[i]!r}, line {lines[i]})"
            )
            findings.append(Finding("warning", path, lines[j], message))
    return findings


def _confused_pairs(domain: Domain) -> list[Finding]:
    """Intents whose examples cross-validation keeps predicting as each other."""
    texts, labels = domain.training_data()
    label_arr = np.asarray(labels, dtype=object)
    counts = np.unique(label_arr, return_counts=True)[1]
    folds = int(min(5, counts.min()))
    if folds < 2:
        return []
    fold_of = _stratified_folds(label_arr, folds, np.random.default_rng(0))
    confused: dict[tuple[str, str], int] = defaultdict(int)
    text_arr = np.asarray(texts, dtype=object)
    for fold in range(folds):
        train, test = fold_of != fold, fold_of == fold
        model = _LinearModel(ClassifierConfig()).fit(list(text_arr[train]), list(label_arr[train]))
        predicted = np.asarray(model.labels, dtype=object)[
            model.scores(list(text_arr[test])).argmax(axis=1)
        ]
        for truth, guess in zip(label_arr[test], predicted, strict=True):
            if truth != guess:
                first, second = sorted((str(truth), str(guess)))
                confused[(first, second)] += 1
    total = dict(zip(*np.unique(label_arr, return_counts=True), strict=True))
    findings: list[Finding] = []
    for (a, b), count in sorted(confused.items()):
        share = count / (total[a] + total[b])
        if share >= CONFUSION_SHARE:
            message = (
                f"intents {a!r} and {b!r} are hard to tell apart ({count} of their examples "
                f"were mistaken for each other in cross-validation); merge them or make "
                f"their examples more distinct"
            )
            line = domain.intents[b].line
            findings.append(Finding("warning", domain.folder / INTENTS_FILE, line, message))
    return findings
