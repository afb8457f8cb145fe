"""The sample check of a job's input, against the stand-in's S3 over HTTP."""

from __future__ import annotations

import json
from typing import Any

import pytest

from airflow_provider_nova.core.aws import AwsClients
from airflow_provider_nova.core.enums import Model, TrainingMethod
from airflow_provider_nova.core.errors import ConfigurationError, DataPrepError
from airflow_provider_nova.core.input_check import check_input_sample, input_kind
from airflow_provider_nova.sandbox.rehearsal import SAMPLE_SFT_ROWS

BUCKET = "my-bucket"

NOVA_2_SFT_ROW = {
    "schemaVersion": "bedrock-conversation-2024",
    "toolConfig": {"tools": [{"toolSpec": {"name": "lookup_order", "inputSchema": {"json": {"type": "object"}}}}]},
    "messages": [
        {"role": "user", "content": [{"text": "Where is order 42?"}]},
        {
            "role": "assistant",
            "content": [{"reasoningContent": {"reasoningText": {"text": "Look the order up."}}}, {"text": "Shipped."}],
        },
    ],
}
RFT_ROW = {
    "id": "math-1",
    "messages": [{"role": "system", "content": "You are a math tutor."}, {"role": "user", "content": "2x + 5 = 13?"}],
    "reference_answer": {"solution": "x = 4"},
}
GEN_QA_ROW = {"system": "Answer briefly.", "query": "What ends a question?", "response": "?"}
RAW_ROW = {"question": "How do I reset my password?", "answer": "Open Settings."}


def put(aws: AwsClients, key: str, body: bytes) -> str:
    aws.s3.put_object(Bucket=BUCKET, Key=key, Body=body)
    return f"s3://{BUCKET}/{key}"


def jsonl(rows: list[Any]) -> bytes:
    return "".join(json.dumps(row) + "\n" for row in rows).encode()


def record_get_object(aws: AwsClients) -> list[dict[str, Any]]:
    """Record each GetObject as sent and answered on the wire: its Range header and Content-Length."""
    calls: list[dict[str, Any]] = []
    events = aws.s3.meta.events
    events.register("before-send.s3.GetObject", lambda request, **_: calls.append({"range": request.headers["Range"]}))
    events.register(
        "after-call.s3.GetObject",
        lambda http_response, **_: calls[-1].update(length=int(http_response.headers["Content-Length"])),
    )
    return calls


# --- valid samples pass --------------------------------------------------------------------------


def test_sft_rows_of_the_account_pass_for_nova_1(account: dict[str, str], aws: AwsClients) -> None:
    sample = check_input_sample(aws.s3, "s3://my-bucket/training-data/", kind="sft", model=Model.NOVA_MICRO)
    assert sample.objects == ("s3://my-bucket/training-data/train.jsonl",)
    assert sample.rows == len(SAMPLE_SFT_ROWS)
    assert sample.bytes_read == len(jsonl(SAMPLE_SFT_ROWS))


def test_nova_2_sft_rows_pass_for_nova_2_and_fail_for_nova_1(account: dict[str, str], aws: AwsClients) -> None:
    uri = put(aws, "nova2/train.jsonl", jsonl([SAMPLE_SFT_ROWS[0], NOVA_2_SFT_ROW]))
    assert check_input_sample(aws.s3, uri, kind="sft", model=Model.NOVA_LITE_2).rows == 2
    with pytest.raises(DataPrepError) as err:
        check_input_sample(aws.s3, uri, kind="sft", model=Model.NOVA_LITE, method=TrainingMethod.SFT_FULLRANK)
    message = str(err.value)
    assert message.startswith(f"data_s3_path {uri}: row 2: field 'toolConfig': ")
    assert "Nova 2 models only" in message


def test_rft_rows_pass(account: dict[str, str], aws: AwsClients) -> None:
    uri = put(aws, "rft/train.jsonl", jsonl([RFT_ROW, {**RFT_ROW, "reference_answer": "x = 4"}]))
    sample = check_input_sample(aws.s3, uri, kind="rft", model=Model.NOVA_LITE_2, method=TrainingMethod.RFT)
    assert sample.rows == 2


def test_rft_row_without_reference_answer_fails(account: dict[str, str], aws: AwsClients) -> None:
    row = {k: v for k, v in RFT_ROW.items() if k != "reference_answer"}
    uri = put(aws, "rft-no-ref/train.jsonl", jsonl([RFT_ROW, row]))
    with pytest.raises(DataPrepError, match=r"row 2: field 'reference_answer': expected the expected output"):
        check_input_sample(aws.s3, uri, kind="rft", model=Model.NOVA_LITE_2)


def test_gen_qa_rows_pass(account: dict[str, str], aws: AwsClients) -> None:
    uri = put(aws, "eval/gen_qa.jsonl", jsonl([GEN_QA_ROW, {"query": "1, 2, 4, ?", "response": "8"}]))
    sample = check_input_sample(aws.s3, "s3://my-bucket/eval/", kind="gen_qa", model=Model.NOVA_PRO, field="input_path")
    assert (sample.objects, sample.rows) == ((uri,), 2)


def test_gen_qa_row_with_an_empty_response_fails(account: dict[str, str], aws: AwsClients) -> None:
    uri = put(aws, "eval-empty/gen_qa.jsonl", jsonl([{"query": "What ends a question?", "response": " "}]))
    with pytest.raises(DataPrepError, match=r"row 1: field 'response': expected a non-empty string, got ' '"):
        check_input_sample(aws.s3, uri, kind="gen_qa", model=Model.NOVA_MICRO)


# --- rows in another shape name the row, the field and the transform ------------------------------


@pytest.mark.parametrize(
    ("kind", "model", "method", "marker", "call"),
    [
        ("sft", Model.NOVA_MICRO, None, "messages", "transform(method=TrainingMethod.SFT_LORA, model=Model.NOVA_MICRO)"),
        ("sft", Model.NOVA_LITE_2, TrainingMethod.SFT_FULLRANK, "messages", "TrainingMethod.SFT_FULLRANK, model=Model.NOVA_LITE_2"),
        ("rft", Model.NOVA_LITE_2, TrainingMethod.RFT_LORA, "messages", "(question=..., reference_answer=...)"),
        ("gen_qa", Model.NOVA_LITE, None, "query", "transform(method=TrainingMethod.EVALUATION, model=Model.NOVA_LITE)"),
    ],
)  # fmt: skip
def test_raw_rows_fail_naming_row_field_and_transform(
    account: dict[str, str],
    aws: AwsClients,
    kind: Any,
    model: Model,
    method: TrainingMethod | None,
    marker: str,
    call: str,
) -> None:
    good = {"sft": SAMPLE_SFT_ROWS[0], "rft": RFT_ROW, "gen_qa": GEN_QA_ROW}[kind]
    uri = put(aws, f"raw-{kind}/data.jsonl", jsonl([good]) + b"\n" + jsonl([RAW_ROW]))
    with pytest.raises(DataPrepError) as err:
        check_input_sample(aws.s3, uri, kind=kind, model=model, method=method)
    message = str(err.value)
    assert message.startswith(f"data_s3_path {uri}: row 3: field {marker!r} is missing")
    assert "raw rows (answer, question)" in message
    assert "JSONLDatasetLoader(" in message and f".load({uri!r})" in message
    assert call in message
    assert f".save_data('s3://.../{'gen_qa' if kind == 'gen_qa' else 'train'}.jsonl')" in message


def test_csv_export_fails_at_line_1_pointing_at_the_csv_loader(account: dict[str, str], aws: AwsClients) -> None:
    uri = put(aws, "csv/export.csv", b"question,answer\nHow do I reset my password?,Open Settings.\n")
    with pytest.raises(DataPrepError) as err:
        check_input_sample(aws.s3, "s3://my-bucket/csv/", kind="sft", model=Model.NOVA_MICRO)
    message = str(err.value)
    assert message.startswith(f"data_s3_path {uri}: line 1: expected one JSON object, got malformed JSON")
    assert "for a CSV export, convert it first: CSVDatasetLoader(question=..., answer=...)" in message
    assert "transform(method=TrainingMethod.SFT_LORA, model=Model.NOVA_MICRO)" in message


def test_json_array_points_at_the_json_loader(account: dict[str, str], aws: AwsClients) -> None:
    uri = put(aws, "array/data.json", json.dumps([RAW_ROW, RAW_ROW]).encode())
    with pytest.raises(DataPrepError, match=r"line 1: expected a JSON object, got list; .*JSONDatasetLoader\("):
        check_input_sample(aws.s3, uri, kind="gen_qa", model=Model.NOVA_MICRO)


def test_non_json_line_fails_naming_object_and_line(account: dict[str, str], aws: AwsClients) -> None:
    put(aws, "broken/a.jsonl", jsonl([GEN_QA_ROW]))
    uri = put(aws, "broken/b.jsonl", jsonl([GEN_QA_ROW]) + b"{'query': 'single quotes'}\n")
    with pytest.raises(DataPrepError) as err:
        check_input_sample(aws.s3, "s3://my-bucket/broken/", kind="gen_qa", model=Model.NOVA_MICRO)
    assert str(err.value).startswith(f"data_s3_path {uri}: line 2: expected one JSON object, got malformed JSON (")


def test_a_byte_order_mark_fails(account: dict[str, str], aws: AwsClients) -> None:
    uri = put(aws, "bom/gen_qa.jsonl", b"\xef\xbb\xbf" + jsonl([GEN_QA_ROW]))
    with pytest.raises(DataPrepError, match=r"line 1: starts with a UTF-8 byte order mark"):
        check_input_sample(aws.s3, uri, kind="gen_qa", model=Model.NOVA_MICRO)


# --- only a sample is read ------------------------------------------------------------------------


def test_a_5_mb_object_is_read_only_up_to_the_sample(account: dict[str, str], aws: AwsClients) -> None:
    row = json.dumps({"query": "q" * 53, "response": "r" * 17}).encode() + b"\n"  # 100 bytes: the cut falls mid-row
    assert len(row) == 100
    body = row * (5 * 10_000 + 1)
    uri = put(aws, "big/gen_qa.jsonl", body)
    calls = record_get_object(aws)

    sample = check_input_sample(aws.s3, uri, kind="gen_qa", model=Model.NOVA_MICRO)

    assert len(body) > 5_000_000
    assert calls == [{"range": b"bytes=0-1048575", "length": 1 << 20}]
    assert sample.bytes_read == 1 << 20
    assert sample.rows == (1 << 20) // 100  # the row cut at the end of the sample is not checked


def test_the_cut_line_is_ignored_but_a_last_line_without_newline_is_checked(
    account: dict[str, str], aws: AwsClients
) -> None:
    good = jsonl([GEN_QA_ROW])
    uri = put(aws, "cut/gen_qa.jsonl", good * 2 + b'{"query": "no response yet"}')
    # the sample ends inside the third row, whose start would be an error if it were checked
    cut = check_input_sample(aws.s3, uri, kind="gen_qa", model=Model.NOVA_MICRO, sample_bytes=len(good) * 2 + 10)
    assert (cut.rows, cut.bytes_read) == (2, len(good) * 2 + 10)
    # the whole object fits in the sample: its last line is complete although it has no newline
    with pytest.raises(DataPrepError, match=r"row 3: field 'response': expected a non-empty string, got nothing"):
        check_input_sample(aws.s3, uri, kind="gen_qa", model=Model.NOVA_MICRO)


def test_a_json_array_longer_than_the_sample_fails(account: dict[str, str], aws: AwsClients) -> None:
    uri = put(aws, "long-array/data.json", json.dumps([GEN_QA_ROW] * 50).encode())
    with pytest.raises(DataPrepError, match=r"line 1: expected one JSON object a line .*JSONDatasetLoader"):
        check_input_sample(aws.s3, uri, kind="gen_qa", model=Model.NOVA_MICRO, sample_bytes=100)


def test_only_the_first_objects_of_a_prefix_are_sampled(account: dict[str, str], aws: AwsClients) -> None:
    uris = [put(aws, f"parts/part-{i:05d}.jsonl", jsonl([GEN_QA_ROW])) for i in range(5)]
    put(aws, "parts/part-00009.jsonl", b"not json\n")  # beyond the sample: never read
    calls = record_get_object(aws)
    sample = check_input_sample(aws.s3, "s3://my-bucket/parts/", kind="gen_qa", model=Model.NOVA_MICRO, max_objects=2)
    assert (sample.objects, sample.rows, len(calls)) == (tuple(uris[:2]), 2, 2)


def test_markers_and_manifests_are_skipped(account: dict[str, str], aws: AwsClients) -> None:
    put(aws, "spark/", b"")
    put(aws, "spark/_SUCCESS", b"")
    put(aws, "spark/.part-00000.jsonl.crc", b"\x00\x01")
    put(aws, "spark/manifest.json", b'{"files": ["part-00000.jsonl"]}\n')
    put(aws, "spark/part-00000.jsonl.crc", b"\x00\x01")
    uri = put(aws, "spark/part-00000.jsonl", jsonl(SAMPLE_SFT_ROWS[:3]))
    sample = check_input_sample(aws.s3, "s3://my-bucket/spark/", kind="sft", model=Model.NOVA_MICRO)
    assert (sample.objects, sample.rows) == ((uri,), 3)


# --- no data, no bucket, no access ----------------------------------------------------------------


def test_an_empty_prefix_fails_naming_the_field(account: dict[str, str], aws: AwsClients) -> None:
    with pytest.raises(DataPrepError, match=r"^input_path s3://my-bucket/nothing-here/ has no objects: upload"):
        check_input_sample(
            aws.s3, "s3://my-bucket/nothing-here/", kind="gen_qa", model=Model.NOVA_MICRO, field="input_path"
        )


def test_an_empty_object_fails_naming_the_field(account: dict[str, str], aws: AwsClients) -> None:
    uri = put(aws, "empty/train.jsonl", b"")
    put(aws, "empty/_SUCCESS", b"")
    with pytest.raises(DataPrepError, match=r"^data_s3_path s3://my-bucket/empty/ has no data: .*empty"):
        check_input_sample(aws.s3, "s3://my-bucket/empty/", kind="sft", model=Model.NOVA_MICRO)
    with pytest.raises(DataPrepError, match=rf"^data_s3_path {uri} has no data"):
        check_input_sample(aws.s3, uri, kind="sft", model=Model.NOVA_MICRO)


def test_a_missing_bucket_is_a_configuration_error(account: dict[str, str], aws: AwsClients) -> None:
    with pytest.raises(ConfigurationError) as err:
        check_input_sample(aws.s3, "s3://no-such-bucket-here/data/", kind="sft", model=Model.NOVA_MICRO)
    assert type(err.value) is ConfigurationError
    assert str(err.value) == "data_s3_path s3://no-such-bucket-here/data/: bucket no-such-bucket-here does not exist"


def test_access_denied_is_a_configuration_error_naming_the_field(account: dict[str, str], aws: AwsClients) -> None:
    aws.s3.create_bucket(Bucket="locked-data")
    aws.s3.put_object(Bucket="locked-data", Key="train.jsonl", Body=jsonl(SAMPLE_SFT_ROWS))
    deny = {"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::locked-data/*"}
    aws.s3.put_bucket_policy(Bucket="locked-data", Policy=json.dumps({"Version": "2012-10-17", "Statement": [deny]}))
    with pytest.raises(ConfigurationError) as err:
        check_input_sample(aws.s3, "s3://locked-data/", kind="sft", model=Model.NOVA_MICRO)
    assert type(err.value) is ConfigurationError
    assert str(err.value).startswith("data_s3_path s3://locked-data/train.jsonl: access denied (GetObject): allow")
    assert "s3:GetObject on arn:aws:s3:::locked-data/train.jsonl" in str(err.value)


# --- kinds and methods ----------------------------------------------------------------------------


def test_input_kind_of_each_method() -> None:
    kinds = {method: input_kind(method) for method in TrainingMethod}
    assert kinds == {
        TrainingMethod.SFT_LORA: "sft",
        TrainingMethod.SFT_FULLRANK: "sft",
        TrainingMethod.RFT_LORA: "rft",
        TrainingMethod.RFT: "rft",
        TrainingMethod.EVALUATION: "gen_qa",
    }


def test_bad_kind_or_method_fails_before_any_call(account: dict[str, str], aws: AwsClients) -> None:
    with pytest.raises(ConfigurationError, match=r"unknown input kind 'converse'; known: sft, rft, gen_qa"):
        check_input_sample(aws.s3, "s3://no-such-bucket-here/", kind="converse", model=Model.NOVA_MICRO)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match=r"rft input is for RFT_LORA, RFT, not SFT_LORA"):
        check_input_sample(
            aws.s3, "s3://no-such-bucket-here/", kind="rft", model=Model.NOVA_LITE_2, method=TrainingMethod.SFT_LORA
        )
