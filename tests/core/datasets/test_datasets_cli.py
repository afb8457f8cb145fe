"""The datasets command line, run as a user would, in a subprocess."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from airflow_provider_nova.core.datasets.__main__ import main


def write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_split_into_three_files(tmp_path: Path) -> None:
    rows = [{"user_query": f"q{i}", "bot_response": f"a{i}"} for i in range(10)]
    write_csv(tmp_path / "raw.csv", rows)
    out = subprocess.run(
        [sys.executable, "-m", "airflow_provider_nova.core.datasets", str(tmp_path / "raw.csv"), str(tmp_path / "prepared"),
         "--method", "SFT_LORA", "--model", "NOVA_MICRO", "--column", "question=user_query",
         "--column", "answer=bot_response", "--split", "0.8", "0.1", "0.1"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert out == [str(tmp_path / "prepared" / f"{name}.jsonl") for name in ("train", "val", "test")]
    counts = [len(Path(p).read_text().splitlines()) for p in out]
    assert counts == [8, 1, 1]
    record = json.loads(Path(out[0]).read_text().splitlines()[0])
    assert record["schemaVersion"] == "bedrock-conversation-2024"


def test_bad_row_exits_2_naming_the_row(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_csv(tmp_path / "raw.csv", [{"question": "q1", "answer": "a1"}, {"question": "q2", "answer": ""}])
    assert (
        main([str(tmp_path / "raw.csv"), str(tmp_path / "out.jsonl"), "--method", "SFT_LORA", "--model", "NOVA_MICRO"])
        == 2
    )
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "row 2" in err and "'answer'" in err
    assert not (tmp_path / "out.jsonl").exists()


def test_bad_arguments_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main([str(tmp_path / "raw.txt"), str(tmp_path / "o.jsonl"), "--method", "SFT_LORA", "--model", "NOVA_MICRO"])
        == 2
    )
    assert "input must end in .jsonl, .json or .csv" in capsys.readouterr().err
    assert main(["in.jsonl", "o.jsonl", "--method", "SFT_LORA", "--model", "NOVA_MICRO", "--column", "question"]) == 2
    assert "--column takes STANDARD=YOURS, got 'question'" in capsys.readouterr().err
