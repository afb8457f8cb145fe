"""The spec's Dataset Loaders examples, with imports pointed at the core, on local files and the stand-in."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

ROWS = [{"user_query": f"How do I reset password {i}?", "bot_response": f"Open Settings ({i})."} for i in range(20)]


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, account: dict[str, str]) -> Path:
    """A working directory with data/ files, and s3://my-bucket holding the same rows."""
    import boto3

    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    qa = [{"question": r["user_query"], "answer": r["bot_response"]} for r in ROWS]
    (tmp_path / "data" / "training.json").write_text(json.dumps(qa))
    with open(tmp_path / "data" / "conversations.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["user_query", "bot_response"])
        writer.writeheader()
        writer.writerows(ROWS)
    body = "".join(json.dumps(r) + "\n" for r in qa).encode()
    s3 = boto3.client("s3")
    s3.put_object(Bucket="my-bucket", Key="data/training.jsonl", Body=body)
    s3.put_object(Bucket="my-bucket", Key="raw-data.jsonl", Body=body)
    return tmp_path


def test_loader_examples(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from airflow_provider_nova.core import CSVDatasetLoader, JSONDatasetLoader, JSONLDatasetLoader

    loader = JSONLDatasetLoader()
    loader.load("s3://my-bucket/data/training.jsonl")
    loader = JSONDatasetLoader()
    loader.load("data/training.json")
    loader = CSVDatasetLoader(question="user_query", answer="bot_response")
    loader.load("data/conversations.csv")
    loader.show(5)  # Show first 5 rows
    out = capsys.readouterr().out
    assert "20" in out and "How do I reset password 0?" in out and "How do I reset password 5?" not in out


def test_common_method_examples(workdir: Path) -> None:
    from airflow_provider_nova.core import CSVDatasetLoader, Model, TrainingMethod

    loader = CSVDatasetLoader(question="user_query", answer="bot_response").load("data/conversations.csv")
    loader.transform(method=TrainingMethod.SFT_LORA, model=Model.NOVA_MICRO)
    train_loader, val_loader, test_loader = loader.split_data(train_ratio=0.7, val_ratio=0.2, test_ratio=0.1)
    # Save locally
    assert train_loader.save_data("output/training_data.jsonl") == "output/training_data.jsonl"
    # Save to S3
    assert val_loader.save_data("s3://my-bucket/data/training_data.jsonl") == "s3://my-bucket/data/training_data.jsonl"
    lines = Path("output/training_data.jsonl").read_text().splitlines()
    assert len(lines) == 14
    first = json.loads(lines[0])
    assert first["schemaVersion"] == "bedrock-conversation-2024"
    assert [m["role"] for m in first["messages"]] == ["user", "assistant"]


def test_complete_example_dataset_part(workdir: Path) -> None:
    from airflow_provider_nova.core import JSONLDatasetLoader, Model, TrainingMethod

    # 1. Prepare dataset
    loader = JSONLDatasetLoader()
    loader.load("s3://my-bucket/raw-data.jsonl")
    loader.transform(method=TrainingMethod.SFT_LORA, model=Model.NOVA_MICRO)
    # Split into train/val/test
    train, val, test = loader.split_data(train_ratio=0.8, val_ratio=0.1, test_ratio=0.1)
    train.save_data("s3://my-bucket/train.jsonl")
    val.save_data("s3://my-bucket/val.jsonl")
    import boto3

    body = boto3.client("s3").get_object(Bucket="my-bucket", Key="train.jsonl")["Body"].read().decode()
    assert len(body.splitlines()) == 16
