"""Command-line entry points: ``carebot eval`` and ``carebot domain check``.

The lead wires these into ``carebot``; until then they run as
``python -m intents.cli eval ...`` and ``python -m intents.cli domain check [FOLDER]``.
Exit codes: 0 success, 1 ``domain check`` found errors, 2 bad usage or unusable input.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from intents.check import check_domain
from intents.classifier import ClassifierConfig
from intents.domain import DomainError, load_domain
from intents.embeddings import MODEL_CHOICES, EmbeddingsUnavailable
from intents.evaluation import (
    DataError,
    IntentReport,
    evaluate_intents,
    evaluate_moods,
    hold_out,
    read_csv,
    subsample,
)

T = TypeVar("T")


def _progress(items: Iterable[T], total: int, label: str) -> Iterator[T]:
    """A rich progress bar on stderr for long runs; silent for short ones or pipes."""
    if total < 500 or not sys.stderr.isatty():
        yield from items
        return
    from rich.progress import track

    yield from track(items, total=total, description=label, transient=True)


def _eval_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="carebot eval",
        description=(
            "Measure the intent classifier (accuracy, macro-F1, out-of-scope precision/"
            "recall/F1, training time, per-message latency) or, with --mood, the mood "
            "reader against plain VADER. CSV files need a 'text' column and a label "
            "column ('label', or 'category'/'intent'/'mood'/'sentiment')."
        ),
    )
    parser.add_argument("--train", type=Path, help="training CSV, or a domain folder")
    parser.add_argument("--test", type=Path, required=True, help="test CSV (text,label)")
    parser.add_argument("--mood", action="store_true", help="evaluate the mood reader")
    parser.add_argument("--text-column", default="text", help="text column (default: text)")
    parser.add_argument(
        "--label-column",
        help="label column (default: first of label, category, intent, mood, sentiment)",
    )
    parser.add_argument(
        "--where",
        action="append",
        default=[],
        metavar="COLUMN=VALUE",
        help="keep only test rows where COLUMN equals VALUE (repeatable)",
    )
    parser.add_argument("--oos-label", help="label of out-of-scope rows in the test set")
    parser.add_argument(
        "--holdout-intents",
        type=int,
        default=0,
        metavar="N",
        help="remove N random intents from training and expect them to "
        "be rejected as out-of-scope in the test set",
    )
    parser.add_argument(
        "--shots", type=int, metavar="K", help="train on K random examples per intent"
    )
    parser.add_argument(
        "--seeds",
        type=int,
        default=1,
        metavar="N",
        help="repeat with N seeds (for --shots/--holdout-intents) and "
        "report each run and the mean (default: 1)",
    )
    parser.add_argument(
        "--model",
        choices=MODEL_CHOICES,
        default="light",
        help="intent model: n-grams only ('light', the default), n-grams + sentence "
        "embeddings ('embeddings', needs the 'embeddings' extra), or embeddings when "
        "installed ('auto')",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    return parser


def eval_main(argv: list[str]) -> int:
    """``carebot eval``: print evaluation figures; 2 on bad usage or unusable files."""
    parser = _eval_parser()
    args = parser.parse_args(argv)
    where = []
    for item in args.where:
        column, sep, value = item.partition("=")
        if not sep:
            parser.error(f"--where needs COLUMN=VALUE, got {item!r}")
        where.append((column, value))
    try:
        if args.mood:
            test = read_csv(args.test, args.text_column, args.label_column, where)
            results = evaluate_moods(test, progress=_progress)
            _print_moods(results, as_json=args.json)
            return 0
        if args.train is None:
            parser.error("--train is required unless --mood is given")
        reports = _run_intents(args, where)
    except (DataError, DomainError, EmbeddingsUnavailable) as exc:
        print(f"carebot eval: error: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"carebot eval: error: {exc}", file=sys.stderr)
        return 2
    _print_intents(reports, as_json=args.json)
    return 0


def _run_intents(args: argparse.Namespace, where: list[tuple[str, str]]) -> list[IntentReport]:
    if args.train.is_dir():
        train = load_domain(args.train).training_data()
    else:
        train = read_csv(args.train, args.text_column, args.label_column)
    test = read_csv(args.test, args.text_column, args.label_column, where)
    if args.shots is not None and args.shots < 1:
        raise ValueError("--shots must be at least 1")
    if args.holdout_intents and args.oos_label:
        raise ValueError("use either --oos-label or --holdout-intents, not both")
    reports = []
    for seed in range(args.seeds):
        run_train, run_test, oos_label = train, test, args.oos_label
        if args.shots:
            run_train = subsample(*run_train, args.shots, seed)
        if args.holdout_intents:
            run_train, run_test, unknown = hold_out(run_train, run_test, args.holdout_intents, seed)
            oos_label = "__out_of_scope__"
        report = evaluate_intents(
            run_train,
            run_test,
            oos_label=oos_label,
            config=ClassifierConfig(model=args.model),
            progress=_progress,
            seed=seed if args.seeds > 1 or args.shots else None,
        )
        if args.holdout_intents:
            report.extra["held_out"] = unknown
        reports.append(report)
    return reports


_ROWS = [
    ("accuracy", "accuracy"),
    ("macro-F1", "macro_f1"),
    ("in-scope accuracy", "in_scope_accuracy"),
    ("OOS precision", "oos_precision"),
    ("OOS recall", "oos_recall"),
    ("OOS F1", "oos_f1"),
    ("OOS threshold", "threshold"),
    ("training time (s)", "train_seconds"),
    ("latency p50 (ms)", "latency_p50_ms"),
    ("latency p99 (ms)", "latency_p99_ms"),
]


def _print_intents(reports: list[IntentReport], *, as_json: bool) -> None:
    mean = {key: _mean([getattr(r, key) for r in reports]) for _, key in _ROWS}
    if as_json:
        print(json.dumps({"runs": [r.as_dict() for r in reports], "mean": mean}, indent=2))
        return
    first = reports[0]
    print(
        f"model {first.model}, train rows {first.train_rows} ({first.intents} intents), "
        f"test rows {first.test_rows}"
    )
    header = "".join(f"{'seed ' + str(r.seed):>10}" for r in reports) if len(reports) > 1 else ""
    print(f"{'':22}{header}{'mean' if len(reports) > 1 else 'value':>10}")
    for title, key in _ROWS:
        cells = "".join(_cell(getattr(r, key)) for r in reports) if len(reports) > 1 else ""
        print(f"{title:22}{cells}{_cell(mean[key])}")


def _mean(values: list[Any]) -> float | None:
    numbers = [v for v in values if v is not None]
    return sum(numbers) / len(numbers) if numbers else None


def _cell(value: float | None) -> str:
    return f"{'-':>10}" if value is None else f"{value:>10.4f}"


def _print_moods(results: dict[str, dict[str, float]], *, as_json: bool) -> None:
    if as_json:
        print(json.dumps(results, indent=2))
        return
    keys = list(next(iter(results.values())))
    print(f"{'':22}" + "".join(f"{name:>14}" for name in results))
    for key in keys:
        print(f"{key:22}" + "".join(f"{r[key]:>14.4f}" for r in results.values()))


def domain_check_main(argv: list[str]) -> int:
    """``carebot domain check [FOLDER]``: 0 clean, 1 errors found, 2 bad usage."""
    parser = argparse.ArgumentParser(
        prog="carebot domain check",
        description="Validate a domain folder (intents.yml, faq.yml, entities.yml): file "
        "format, duplicate and conflicting examples, intents too close to tell apart.",
    )
    parser.add_argument(
        "folder", nargs="?", type=Path, help="domain folder (default: the shipped shop domain)"
    )
    parser.add_argument("--strict", action="store_true", help="treat warnings as errors")
    args = parser.parse_args(argv)
    findings = check_domain(args.folder)
    for finding in findings:
        print(finding)
    errors = [f for f in findings if f.level == "error" or args.strict]
    warnings = len(findings) - len([f for f in findings if f.level == "error"])
    folder = args.folder or "shop domain"
    print(
        f"{folder}: {len([f for f in findings if f.level == 'error'])} error(s), "
        f"{warnings} warning(s)"
    )
    return 1 if errors else 0


def main(argv: list[str] | None = None) -> int:
    """``python -m intents.cli eval ...`` / ``python -m intents.cli domain check ...``."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["eval"]:
        return eval_main(argv[1:])
    if argv[:2] == ["domain", "check"]:
        return domain_check_main(argv[2:])
    print("usage: python -m intents.cli {eval ... | domain check [FOLDER]}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
