"""Benchmarks for understanding: Banking77 intents and airline-tweet moods.

Usage (from the repository root)::

    python bench/intents_eval.py [--data ../shared/data] [--only full,shots,oos,mood]
        [--model light|embeddings|auto]

Every figure is printed by ``carebot eval`` (here ``python -m intents.cli eval``); this
script only runs the documented commands in a row, so a reader can rerun any one alone.
The data sets are public and not part of the repository (see bench/README.md).
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def commands(data: Path, model: str = "light") -> dict[str, list[str]]:
    """The eval command of each benchmark (the intent ones with ``--model``)."""
    train, test = data / "banking77" / "train.csv", data / "banking77" / "test.csv"
    tweets = data / "airline_sentiment" / "tweets.csv"
    plain = [sys.executable, "-m", "intents.cli", "eval"]
    base = [*plain, "--model", model]
    return {
        "full": [*base, "--train", str(train), "--test", str(test)],
        "shots": [
            *base,
            "--train",
            str(train),
            "--test",
            str(test),
            "--shots",
            "10",
            "--seeds",
            "3",
        ],
        "oos": [
            *base,
            "--train",
            str(train),
            "--test",
            str(test),
            "--holdout-intents",
            "10",
            "--seeds",
            "3",
        ],
        "mood": [
            *plain,
            "--mood",
            "--test",
            str(tweets),
            "--label-column",
            "airline_sentiment",
            "--where",
            "airline_sentiment_confidence=1",
        ],
    }


def main() -> int:
    """Run the chosen benchmarks and print their tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data",
        type=Path,
        default=ROOT.parent / "shared" / "data",
        help="folder holding banking77/ and airline_sentiment/ (default: ../shared/data)",
    )
    parser.add_argument(
        "--only",
        default="full,shots,oos,mood",
        help="comma-separated subset of: full, shots, oos, mood",
    )
    parser.add_argument(
        "--model",
        default="light",
        choices=("light", "embeddings", "auto"),
        help="intent model (embeddings needs the 'embeddings' extra; default: light)",
    )
    args = parser.parse_args()
    if not (args.data / "banking77" / "train.csv").exists():
        parser.error(f"{args.data}: no banking77/train.csv (see bench/README.md)")
    status = 0
    for name in args.only.split(","):
        command = commands(args.data, args.model)[name.strip()]
        print(f"\n## {name}\n$ {shlex.join(command[1:])}", flush=True)
        status |= subprocess.run(command, cwd=ROOT, check=False).returncode
    return status


if __name__ == "__main__":
    raise SystemExit(main())
