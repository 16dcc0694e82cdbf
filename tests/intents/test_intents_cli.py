"""`carebot eval` and `carebot domain check` on small files."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from intents.cli import domain_check_main, eval_main, main
from intents.domain import SHOP_DOMAIN

TRAIN = {
    "greet": ["hi", "hello", "hey there", "good morning", "hello friend", "hiya"],
    "refund": [
        "where is my refund",
        "refund my money",
        "I want a refund",
        "refund status",
        "money back please",
        "when do I get my refund",
    ],
    "track": [
        "track my parcel",
        "where is my package",
        "tracking number",
        "parcel status",
        "has my package shipped",
        "where is the delivery",
    ],
}


def _csv(
    path: Path, rows: list[tuple[str, str]], header: tuple[str, str] = ("text", "label")
) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    train = _csv(tmp_path / "train.csv", [(t, k) for k, v in TRAIN.items() for t in v])
    test = _csv(
        tmp_path / "test.csv",
        [
            ("hello there", "greet"),
            ("my refund please", "refund"),
            ("where's my parcel", "track"),
            ("what's the weather", "oos"),
        ],
    )
    return train, test


def test_eval_json(files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    train, test = files
    assert (
        eval_main(["--train", str(train), "--test", str(test), "--oos-label", "oos", "--json"]) == 0
    )
    report = json.loads(capsys.readouterr().out)["runs"][0]
    assert report["test_rows"] == 4
    assert report["intents"] == 3
    for key in (
        "accuracy",
        "macro_f1",
        "in_scope_accuracy",
        "oos_recall",
        "oos_precision",
        "latency_p99_ms",
        "train_seconds",
    ):
        assert report[key] is not None


def test_eval_table_with_shots_and_seeds(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    train, test = files
    assert (
        eval_main(["--train", str(train), "--test", str(test), "--shots", "3", "--seeds", "2"]) == 0
    )
    out = capsys.readouterr().out
    assert "macro-F1" in out and "seed 1" in out and "mean" in out


def test_eval_domain_folder_as_training(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    test = _csv(
        files[1].parent / "shop.csv", [("where is my order", "order_status"), ("hello", "greeting")]
    )
    assert main(["eval", "--train", str(SHOP_DOMAIN), "--test", str(test), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["mean"]["accuracy"] == 1.0


def test_eval_mood(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    test = _csv(
        tmp_path / "m.csv",
        [
            ("I love it, thank you", "positive"),
            ("still waiting, third time I ask", "negative"),
            ("what time do you open", "neutral"),
        ],
        ("text", "mood"),
    )
    assert eval_main(["--mood", "--test", str(test), "--json"]) == 0
    results = json.loads(capsys.readouterr().out)
    assert results["carebot"]["accuracy"] == 1.0
    assert "plain_vader" in results


def test_eval_bad_column(files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    train, test = files
    code = eval_main(["--train", str(train), "--test", str(test), "--label-column", "nope"])
    assert code == 2
    err = capsys.readouterr().err
    assert "no column 'nope'" in err and str(train) in err and err.count("\n") == 1


def test_eval_missing_file(files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert eval_main(["--train", "/nonexistent.csv", "--test", str(files[1])]) == 2
    assert "/nonexistent.csv" in capsys.readouterr().err


def test_eval_usage_errors() -> None:
    with pytest.raises(SystemExit) as caught:
        eval_main(["--test", "x.csv"])  # no --train
    assert caught.value.code == 2
    assert main(["frobnicate"]) == 2


def test_domain_check_shipped_domain_has_no_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert domain_check_main([]) == 0
    assert "0 error(s)" in capsys.readouterr().out


def test_domain_check_reports_conflicts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "shop"
    shutil.copytree(SHOP_DOMAIN, folder)
    intents = folder / "intents.yml"
    text = intents.read_text().replace("      - hiya\n", "      - hiya\n      - thanks\n", 1)
    intents.write_text(text)
    assert domain_check_main([str(folder)]) == 1
    out = capsys.readouterr().out
    assert "conflicting example 'thanks'" in out
    assert f"{intents}:" in out


def test_domain_check_broken_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "intents.yml").write_text("intents:\n  a: [\n")
    assert main(["domain", "check", str(tmp_path)]) == 1
    assert f"{tmp_path / 'intents.yml'}:" in capsys.readouterr().out
