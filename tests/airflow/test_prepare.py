"""NovaPrepareDatasetOperator against the stand-in's S3 over loopback HTTP."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from airflow.sdk import Asset
from airflow.sdk.execution_time.context import OutletEventAccessors

from airflow_provider_nova.core import AwsClients, ConfigurationError, DataPrepError
from airflow_provider_nova.operators.prepare import NovaPrepareDatasetOperator

BUCKET = "my-bucket"
RAW_CSV = f"s3://{BUCKET}/raw/chats.csv"
PREPARED = f"s3://{BUCKET}/prepared/"


@pytest.fixture
def clients(account: dict[str, str]) -> AwsClients:
    return AwsClients(region_name="us-east-1", endpoint_url=account["endpoint_url"])


def put_csv(clients: AwsClients, key: str, rows: list[dict[str, str]]) -> None:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    clients.s3.put_object(Bucket=BUCKET, Key=key, Body=out.getvalue().encode())


def chats(n: int) -> list[dict[str, str]]:
    return [{"user_query": f"How do I reset my password? ({i})", "bot_response": "Open Settings."} for i in range(n)]


def objects(clients: AwsClients, prefix: str = "prepared/") -> dict[str, list[dict[str, Any]]]:
    """Every object under ``prefix`` in the bucket, as its JSON Lines rows."""
    listed = clients.s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
    out = {}
    for item in listed:
        body = clients.s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read().decode()
        out[item["Key"]] = [json.loads(line) for line in body.splitlines() if line.strip()]
    return out


def s3_calls(op: NovaPrepareDatasetOperator) -> list[str]:
    """Every S3 operation the operator's clients send from now on."""
    calls: list[str] = []
    op.hook.clients.s3.meta.events.register("before-parameter-build.s3", lambda model, **_: calls.append(model.name))
    return calls


def operator(aws_conn: str, **kwargs: Any) -> NovaPrepareDatasetOperator:
    kwargs = {
        "source_path": RAW_CSV,
        "output_s3_path": PREPARED,
        "method": "SFT_LORA",
        "model": "NOVA_MICRO",
        "column_mappings": {"question": "user_query", "answer": "bot_response"},
        **kwargs,
    }
    return NovaPrepareDatasetOperator(task_id="prepare", aws_conn_id=aws_conn, **kwargs)


def test_csv_rows_are_converted_split_and_saved_with_numbers_as_jinja_strings(
    aws_conn: str, clients: AwsClients
) -> None:
    put_csv(clients, "raw/chats.csv", chats(10))
    asset = Asset("s3://my-bucket/prepared/")
    op = operator(aws_conn, train_ratio="0.8", val_ratio="0.1", test_ratio="0.1", seed="7", outlets=[asset])
    context = {"outlet_events": OutletEventAccessors()}

    xcom = op.execute(context)  # type: ignore[arg-type]

    assert xcom == {
        "train_s3_path": "s3://my-bucket/prepared/train.jsonl",
        "validation_s3_path": "s3://my-bucket/prepared/val.jsonl",
        "test_s3_path": "s3://my-bucket/prepared/test.jsonl",
        "rows": {"train": 8, "validation": 1, "test": 1},
    }
    saved = objects(clients)
    assert {key: len(rows) for key, rows in saved.items()} == {
        "prepared/train.jsonl": 8,
        "prepared/val.jsonl": 1,
        "prepared/test.jsonl": 1,
    }
    questions = sorted(row["messages"][0]["content"][0]["text"] for rows in saved.values() for row in rows)
    assert questions == sorted(chat["user_query"] for chat in chats(10))
    first = saved["prepared/train.jsonl"][0]
    assert first["schemaVersion"] == "bedrock-conversation-2024"
    assert first["messages"][1] == {"role": "assistant", "content": [{"text": "Open Settings."}]}
    assert context["outlet_events"][asset].extra == xcom


def test_the_same_seed_gives_the_same_split(aws_conn: str, clients: AwsClients) -> None:
    put_csv(clients, "raw/chats.csv", chats(30))
    kwargs = {"train_ratio": 0.5, "val_ratio": 0.5, "test_ratio": 0, "seed": 3}

    operator(aws_conn, **kwargs).execute({})  # type: ignore[arg-type]
    first = objects(clients)
    operator(aws_conn, **kwargs).execute({})  # type: ignore[arg-type]

    assert objects(clients) == first and sorted(first) == ["prepared/train.jsonl", "prepared/val.jsonl"]


def test_formatted_jsonl_is_checked_and_saved_whole_by_default(aws_conn: str, clients: AwsClients) -> None:
    source = "s3://my-bucket/training-data/train.jsonl"  # 20 Bedrock conversation rows in every fresh account
    op = operator(aws_conn, source_path=source, output_s3_path="s3://my-bucket/ready", column_mappings=None)

    xcom = op.execute({})  # type: ignore[arg-type]

    assert xcom == {"train_s3_path": "s3://my-bucket/ready/train.jsonl", "rows": {"train": 20}}
    assert objects(clients, "ready/") == {
        "ready/train.jsonl": objects(clients, "training-data/")["training-data/train.jsonl"]
    }


def test_format_and_column_mappings_as_text(aws_conn: str, clients: AwsClients) -> None:
    put_csv(clients, "raw/export", chats(4))
    op = operator(
        aws_conn,
        source_path="s3://my-bucket/raw/export",
        data_format="CSV",
        column_mappings='{"question": "user_query", "answer": "bot_response"}',
        output_format="json",
    )

    xcom = op.execute({})  # type: ignore[arg-type]

    assert xcom == {"train_s3_path": "s3://my-bucket/prepared/train.json", "rows": {"train": 4}}
    body = clients.s3.get_object(Bucket=BUCKET, Key="prepared/train.json")["Body"].read()
    assert len(json.loads(body)) == 4


def test_a_bad_row_fails_naming_the_row_and_nothing_is_written(aws_conn: str, clients: AwsClients) -> None:
    rows = chats(5)
    rows[2]["bot_response"] = "   "
    put_csv(clients, "raw/chats.csv", rows)

    message = r"row 3: field 'answer' \(column 'bot_response'\): expected a non-empty string"
    with pytest.raises(DataPrepError, match=message) as caught:
        operator(aws_conn, train_ratio="0.6", val_ratio="0.4", test_ratio="0").execute({})  # type: ignore[arg-type]

    assert str(caught.value).startswith("row 3:")
    assert objects(clients) == {}


def test_an_empty_split_is_refused_before_anything_is_written(aws_conn: str, clients: AwsClients) -> None:
    put_csv(clients, "raw/chats.csv", chats(5))

    with pytest.raises(ConfigurationError, match=r"the val split would be empty: 0\.05 of 5 rows"):
        operator(aws_conn, train_ratio=0.9, val_ratio=0.05, test_ratio=0.05).execute({})  # type: ignore[arg-type]

    assert objects(clients) == {}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"model": "NOVA_GIANT"}, "model must be one of NOVA_MICRO"),
        ({"method": "DPO"}, "method must be one of SFT_LORA"),
        ({"method": "RFT_LORA"}, "RFT"),
        ({"train_ratio": "0.8"}, "must sum to 1.0"),
        ({"train_ratio": "most"}, "train_ratio must be a number, got 'most'"),
        ({"seed": "x"}, "seed must be an integer, got 'x'"),
        ({"column_mappings": {"prompt": "user_query"}}, "unknown standard column"),
        ({"column_mappings": "{not json"}, "column_mappings must be a mapping or its JSON text"),
        ({"source_path": "s3://my-bucket/raw/chats.parquet"}, "source_path must end in .jsonl, .json or .csv"),
        ({"data_format": "parquet"}, "the data format must be jsonl, json or csv, got 'parquet'"),
        ({"output_s3_path": "s3://my-bucket/prepared/all.jsonl"}, "output_s3_path is a folder for the split files"),
        ({"output_format": "csv"}, "the split files' format must be jsonl or json"),
    ],
)
def test_bad_arguments_are_refused_before_anything_is_read(
    aws_conn: str, clients: AwsClients, kwargs: dict[str, Any], message: str
) -> None:
    put_csv(clients, "raw/chats.csv", chats(5))
    op = operator(aws_conn, **kwargs)
    calls = s3_calls(op)

    with pytest.raises(ConfigurationError, match=message):
        op.execute({})  # type: ignore[arg-type]

    assert calls == [] and objects(clients) == {}
