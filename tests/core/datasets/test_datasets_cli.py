"""The datasets command line, run as a user would, in a subprocess."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

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


def prepare(tmp_path: Path, *extra: str, rows: int = 10, output: str | None = None) -> tuple[int, str]:
    """Run the command in-process on a CSV of ``rows`` rows; return its exit code and stderr."""
    write_csv(tmp_path / "raw.csv", [{"user_query": f"q{i}", "bot_response": f"a{i}"} for i in range(rows)])
    return run_main(str(tmp_path / "raw.csv"), output or str(tmp_path / "prepared"), "--column", "question=user_query",
                    "--column", "answer=bot_response", *extra)  # fmt: skip


def run_main(source: str, output: str, *extra: str) -> tuple[int, str]:
    """Run the command in-process for SFT_LORA on NOVA_MICRO; return its exit code and stderr."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            code = main([source, output, "--method", "SFT_LORA", "--model", "NOVA_MICRO", *extra])
        except SystemExit as exc:  # argparse
            code = exc.code  # type: ignore[assignment]
    return code, err.getvalue()


def test_a_zero_ratio_writes_no_file_for_that_split(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert prepare(tmp_path, "--split", "0.9", "0.1", "0") == (0, "")
    assert capsys.readouterr().out.split() == [str(tmp_path / "prepared" / n) for n in ("train.jsonl", "val.jsonl")]
    assert sorted(os.listdir(tmp_path / "prepared")) == ["train.jsonl", "val.jsonl"]
    assert prepare(tmp_path, "--split", "0", "0", "1", "--format", "json", output=str(tmp_path / "t")) == (0, "")
    assert (
        os.listdir(tmp_path / "t") == ["test.json"]
        and len(json.loads((tmp_path / "t" / "test.json").read_text())) == 10
    )


BAD_CALLS = [
    (["--split", "0.9", "0.1", "0.1"], {}, "train_ratio + val_ratio + test_ratio must sum to 1.0, got 1.1"),
    (["--split", "1.1", "-0.1", "0"], {}, "train_ratio must be a number between 0 and 1, got 1.1"),
    (["--split", "nan", "0.5", "0.5"], {}, "train_ratio must be a number between 0 and 1, got nan"),
    (
        ["--split", "0.95", "0.05", "0"],
        {},
        "the val split would be empty: 0.05 of 10 rows is less than one row; "
        "give it a larger ratio, or 0 to write no val file",
    ),
    (
        ["--column", "clients=x"],
        {},
        "unknown standard column(s) clients; standard columns: question, answer, "
        "system, reasoning, reference_answer, id, tools, image, video, bucket_owner",
    ),
    (["--column", "question=other"], {}, "--column maps question twice: to 'user_query' and 'other'"),
    (["--format", "json"], {"output": "out.jsonl"}, "--format applies to --split files"),
    ([], {"output": "out.csv"}, "output must end in .jsonl or .json, got"),
    ([], {"output": "a_dir.jsonl"}, "a_dir.jsonl: it is a directory"),
    ([], {"output": "a_file/out.jsonl"}, "a_file is not a directory"),
    (["--split", "0.8", "0.1", "0.1"], {"output": "a_file"}, "a_file is not a directory"),
    (["--split", "0.8", "0.1", "0.1"], {"output": "prepared.jsonl"}, "with --split, output is a folder"),
    ([], {"output": "s3://Bad_Bucket/out.jsonl"}, "output has an invalid bucket name 'Bad_Bucket'"),
    ([], {"output": "s3://bucket\n/out.jsonl"}, "output has control characters: 's3://bucket\\n/out.jsonl'"),
    ([], {"output": "s3://data.jsonl"}, "output must name a file, not a bucket or folder"),
    (["--split", "0.8", "0.1", "0.1"], {"output": "s3://"}, "output has an invalid bucket name ''"),
    ([], {"output": "gs://bucket/out.jsonl"}, "output must be a local path or an s3:// URI"),
    (["--split", "0.8", "0.2"], {}, "argument --split: expected 3 arguments (see --help)"),
]


@pytest.mark.parametrize(("extra", "where", "message"), BAD_CALLS)
def test_a_bad_call_prints_one_line_and_writes_nothing(
    tmp_path: Path, extra: list[str], where: dict[str, str], message: str
) -> None:
    (tmp_path / "a_dir.jsonl").mkdir()
    (tmp_path / "a_file").write_text("")
    output = where.get("output", "prepared")
    code, err = prepare(tmp_path, *extra, output=output if "://" in output else str(tmp_path / output))
    assert code == 2 and err.startswith("error: ") and err.count("\n") == 1 and message in err, err
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["a_dir.jsonl", "a_file", "raw.csv"]


@pytest.mark.parametrize(("extra", "where", "message"), [call for call in BAD_CALLS if "rows" not in call[2]])
def test_arguments_are_checked_before_the_input_is_read(
    tmp_path: Path, extra: list[str], where: dict[str, str], message: str
) -> None:
    (tmp_path / "a_dir.jsonl").mkdir()
    (tmp_path / "a_file").write_text("")
    output = where.get("output", "prepared")
    target = output if "://" in output else str(tmp_path / output)
    code, err = run_main(str(tmp_path / "absent.csv"), target, "--column", "question=user_query", *extra)
    assert code == 2 and message in err and "absent.csv" not in err


def test_a_zero_ratio_on_s3_writes_two_objects(
    sandbox: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from airflow_provider_nova.core.aws import AwsClients

    s3 = AwsClients(region_name="us-east-1", endpoint_url=sandbox.endpoint_url).s3
    s3.create_bucket(Bucket="ds-cli")
    assert prepare(tmp_path, "--split", "0.9", "0", "0.1", output="s3://ds-cli/prepared/") == (0, "")
    assert capsys.readouterr().out.split() == ["s3://ds-cli/prepared/train.jsonl", "s3://ds-cli/prepared/test.jsonl"]
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="ds-cli")["Contents"])
    assert keys == ["prepared/test.jsonl", "prepared/train.jsonl"]
    assert prepare(tmp_path, "--column", "clients=x", output="s3://ds-cli/out.jsonl")[0] == 2
    assert len(s3.list_objects_v2(Bucket="ds-cli")["Contents"]) == 2
