"""Job status across the whole lifecycle on the stand-in, and dump/load round trips."""

from __future__ import annotations

import gzip
import io
import json
import re
import tarfile
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_nova.core import (
    AwsCallError,
    AwsClients,
    BaseJobResult,
    ConfigurationError,
    JobStatus,
    Model,
    NovaError,
    NovaModelCustomizer,
    SMTJBatchInferenceResult,
    SMTJEvaluationResult,
    SMTJRuntimeManager,
    TrainingMethod,
    TrainingResult,
)
from airflow_provider_nova.core.job_outputs import format_inference_line
from airflow_provider_nova.core.lifecycle import JobState
from airflow_provider_nova.core.results import read_checkpoint
from airflow_provider_nova.core.status import SAGEMAKER_JOB, map_sagemaker_status
from airflow_provider_nova.sandbox import rehearsal


@pytest.fixture
def started(account: dict[str, str], request: pytest.FixtureRequest) -> tuple[NovaModelCustomizer, TrainingResult]:
    clients = AwsClients(region_name="us-east-1")
    infra = SMTJRuntimeManager("ml.p5.48xlarge", 2, clients=clients)
    customizer = NovaModelCustomizer(
        Model.NOVA_MICRO, TrainingMethod.SFT_LORA, infra, "s3://my-bucket/training-data/", "s3://my-bucket/output/"
    )
    return customizer, customizer.train("lifecycle-job")


def test_mapping_table() -> None:
    assert SAGEMAKER_JOB == {
        "InProgress": JobStatus.IN_PROGRESS,
        "Stopping": JobStatus.IN_PROGRESS,
        "Completed": JobStatus.COMPLETED,
        "Failed": JobStatus.FAILED,
        "Stopped": JobStatus.FAILED,
    }
    with pytest.raises(NovaError, match="unknown SageMaker training job status 'Paused'"):
        map_sagemaker_status("Paused")


def test_in_progress_then_completed_with_checkpoint(
    started: tuple[NovaModelCustomizer, TrainingResult], control: object
) -> None:
    _, result = started
    assert result.get_job_status() == (JobStatus.IN_PROGRESS, "InProgress")
    assert result.model_artifacts.checkpoint_s3_path is None
    control.complete_job("lifecycle-job")  # type: ignore[attr-defined]
    assert result.get_job_status() == (JobStatus.COMPLETED, "Completed")
    checkpoint = result.model_artifacts.checkpoint_s3_path
    assert checkpoint is not None and checkpoint.startswith(
        "s3://customer-escrow-123456789012-smtj-us-east-1/lifecycle-job/"
    )
    assert result.model_artifacts.output_s3_path == "s3://my-bucket/output/lifecycle-job/output/output.tar.gz"


def test_stop_goes_through_stopping_to_stopped(started: tuple[NovaModelCustomizer, TrainingResult]) -> None:
    customizer, result = started
    infra = customizer.infra
    infra.cleanup("lifecycle-job")
    assert infra.describe(infra.ref("lifecycle-job")) == JobState(JobStatus.FAILED, "Stopped", None, "Stopped")
    described = infra.clients.sagemaker.describe_training_job(TrainingJobName="lifecycle-job")
    statuses = [t["Status"] for t in described["SecondaryStatusTransitions"]]
    assert statuses == ["Starting", "Stopping", "Stopped"]
    assert result.get_job_status() == (JobStatus.FAILED, "Stopped")
    infra.cleanup("lifecycle-job")  # stopping an ended job again is harmless


def test_failed_job_carries_the_reason(started: tuple[NovaModelCustomizer, TrainingResult], control: object) -> None:
    customizer, result = started
    control.fail_job("lifecycle-job", "AlgorithmError: CUDA out of memory")  # type: ignore[attr-defined]
    assert result.get_job_status() == (JobStatus.FAILED, "Failed")
    state = customizer.infra.describe(result.ref)
    assert (state.status, state.raw, state.reason) == (JobStatus.FAILED, "Failed", "AlgorithmError: CUDA out of memory")
    assert result.job_state() == state


def test_job_whose_data_vanished_fails_like_sagemaker(
    started: tuple[NovaModelCustomizer, TrainingResult], control: object
) -> None:
    customizer, result = started
    customizer.infra.clients.s3.delete_object(Bucket="my-bucket", Key="training-data/train.jsonl")
    control.complete_job("lifecycle-job")  # type: ignore[attr-defined]
    assert result.get_job_status() == (JobStatus.FAILED, "Failed")
    reason = customizer.infra.describe(customizer.infra.ref("lifecycle-job")).reason
    assert 'No S3 objects found under S3 URL "s3://my-bucket/training-data/"' in reason


def test_dump_load_round_trip_default_path(
    started: tuple[NovaModelCustomizer, TrainingResult],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    control: object,
) -> None:
    _, result = started
    control.complete_job("lifecycle-job")  # type: ignore[attr-defined]
    result.get_job_status()
    monkeypatch.chdir(tmp_path)
    result.dump()
    path = tmp_path / "lifecycle-job_SMTJ.json"
    data = json.loads(path.read_text())
    assert data["result_type"] == "training" and data["method"] == "sft_lora" and data["platform"] == "SMTJ"
    loaded = BaseJobResult.load(str(path))
    assert type(loaded) is TrainingResult
    assert loaded == result
    assert loaded.model_dump() == result.model_dump()
    assert loaded.get_job_status() == (JobStatus.COMPLETED, "Completed")  # works from the file alone
    assert TrainingResult.load(str(path)) == result


def test_dump_to_a_chosen_path_and_load_errors(
    started: tuple[NovaModelCustomizer, TrainingResult], tmp_path: Path
) -> None:
    _, result = started
    target = tmp_path / "customized" / "customized_name.jsob"
    result.dump(str(target))
    assert BaseJobResult.load(str(target)) == result
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"result_type": "unknown", "job_id": "x"}))
    with pytest.raises(ValueError, match="result_type"):
        BaseJobResult.load(str(bad))


def test_result_is_json_serialisable(started: tuple[NovaModelCustomizer, TrainingResult]) -> None:
    _, result = started
    payload = result.model_dump(mode="json")
    assert json.loads(json.dumps(payload)) == payload
    assert set(payload) == {
        "result_type",
        "job_id",
        "started_time",
        "platform",
        "region",
        "cluster_name",
        "namespace",
        "method",
        "model_artifacts",
    }
    assert payload["cluster_name"] is None and payload["namespace"] is None  # a SageMaker training job


# -- malformed result files, manifests and job outputs ---------------------------------------------
def _tar(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


GOOD_RESULT = {
    "result_type": "training",
    "job_id": "job-a",
    "started_time": "2025-01-01T00:00:00Z",
    "platform": "SMTJ",
    "region": "us-east-1",
    "method": "sft_lora",
    "model_artifacts": {"output_s3_path": "s3://my-bucket/output/job-a/output/output.tar.gz"},
}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{not json", "is not JSON"),
        (b"\xff\xfe garbage", "cannot read result file"),
        (b"[1, 2]", "must hold a JSON object, not list"),
        (b"null", "must hold a JSON object, not NoneType"),
        (json.dumps({**GOOD_RESULT, "result_type": "unknown"}).encode(), "does not match any of the expected tags"),
        (json.dumps({k: v for k, v in GOOD_RESULT.items() if k != "result_type"}).encode(), "result_type"),
        (json.dumps({k: v for k, v in GOOD_RESULT.items() if k != "job_id"}).encode(), "training.job_id: Field required"),
        (json.dumps({**GOOD_RESULT, "started_time": "yesterday"}).encode(), "training.started_time: Input should be"),
        (json.dumps({**GOOD_RESULT, "method": "sft"}).encode(), "training.method: Input should be"),
        (json.dumps({**GOOD_RESULT, "extra": 1}).encode(), "training.extra: Extra inputs are not permitted"),
        (b"[" * 100000 + b"]" * 100000, "is not JSON"),
    ],
)  # fmt: skip
def test_load_malformed_result_file_names_the_file(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "result.json"
    path.write_bytes(content)
    with pytest.raises(ConfigurationError, match=re.escape(str(path))) as info:
        BaseJobResult.load(str(path))
    assert message in str(info.value)


def test_load_good_file_wrong_class_missing_file_and_bad_path(tmp_path: Path) -> None:
    path = tmp_path / "result.json"
    path.write_text(json.dumps(GOOD_RESULT))
    loaded = BaseJobResult.load(str(path))
    assert type(loaded) is TrainingResult and loaded.job_id == "job-a"
    assert BaseJobResult.load(path) == loaded  # type: ignore[arg-type]  # a Path works too
    with pytest.raises(
        ConfigurationError, match=re.escape(f"'{path}' holds a TrainingResult, not a SMTJEvaluationResult")
    ):
        SMTJEvaluationResult.load(str(path))
    with pytest.raises(ConfigurationError, match=re.escape(f"result file '{tmp_path / 'absent.json'}' does not exist")):
        BaseJobResult.load(str(tmp_path / "absent.json"))
    with pytest.raises(ConfigurationError, match=re.escape(f"cannot read result file '{tmp_path}'")):
        BaseJobResult.load(str(tmp_path))
    for bad in (5, None, ""):
        with pytest.raises(ConfigurationError, match="file_path must be the path of a dumped result"):
            BaseJobResult.load(bad)  # type: ignore[arg-type]


@pytest.fixture
def s3(account: dict[str, str]) -> Any:
    return AwsClients(region_name="us-east-1").s3


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not a tar", "is not a readable .tar.gz archive"),
        (gzip.compress(b"not a tar inside"), "is not a readable .tar.gz archive"),
        (_tar({"output/model.bin": b"x"}), "has no manifest.json"),
        (_tar({"output/manifest.json": b"{bad json"}), "the manifest.json in {uri} is not JSON"),
        (_tar({"output/manifest.json": b"\xff\xfe"}), "the manifest.json in {uri} is not JSON"),
        (_tar({"output/manifest.json": b"[]"}), "the manifest.json in {uri} has no checkpoint_s3_bucket"),
        (_tar({"manifest.json": b'{"checkpoint_s3_bucket": 5}'}), "has no checkpoint_s3_bucket"),
        (_tar({"manifest.json": b'{"checkpoint_s3_bucket": "escrow/ckpt"}'}), "has a malformed checkpoint_s3_bucket"),
    ],
)
def test_read_checkpoint_names_the_object(s3: Any, body: bytes, message: str) -> None:
    uri = "s3://my-bucket/output/job-a/output/output.tar.gz"
    s3.put_object(Bucket="my-bucket", Key="output/job-a/output/output.tar.gz", Body=body)
    with pytest.raises(NovaError, match=re.escape(uri)) as info:
        read_checkpoint(AwsClients(region_name="us-east-1"), uri)
    assert message.format(uri=uri) in str(info.value)


def test_read_checkpoint_good_and_missing(s3: Any) -> None:
    clients = AwsClients(region_name="us-east-1")
    uri = "s3://my-bucket/output/job-b/output/output.tar.gz"
    s3.put_object(
        Bucket="my-bucket",
        Key="output/job-b/output/output.tar.gz",
        Body=_tar({"output/manifest.json": b'{"checkpoint_s3_bucket": "s3://escrow-bucket/job-b/ckpt"}'}),
    )
    assert read_checkpoint(clients, uri) == "s3://escrow-bucket/job-b/ckpt"
    missing = "s3://my-bucket/output/none/output/output.tar.gz"
    with pytest.raises(AwsCallError, match=re.escape(f"GetObject failed (NoSuchKey): {missing}")):
        read_checkpoint(clients, missing)


GEN_QA = "s3://my-bucket/eval/gen_qa.jsonl"


@pytest.fixture
def batch(account: dict[str, str], control: object) -> SMTJBatchInferenceResult:
    """A completed batch inference job on the stand-in."""
    rehearsal.put_jsonl(account["endpoint_url"], GEN_QA, [{"query": "q1", "response": "r1"}])
    clients = AwsClients(region_name="us-east-1")
    infra = SMTJRuntimeManager("ml.p5.48xlarge", 2, clients=clients)
    customizer = NovaModelCustomizer(Model.NOVA_MICRO, TrainingMethod.SFT_LORA, infra, GEN_QA, "s3://my-bucket/out/")
    result = customizer.batch_inference("batch-job", GEN_QA, "s3://my-bucket/out/")
    control.complete_job("batch-job")  # type: ignore[attr-defined]
    return result


def _replace_output(result: SMTJBatchInferenceResult, body: bytes | None) -> None:
    s3 = AwsClients(region_name="us-east-1").s3
    key = result.inference_output_path.split("/", 3)[3]
    if body is None:
        s3.delete_object(Bucket="my-bucket", Key=key)
    else:
        s3.put_object(Bucket="my-bucket", Key=key, Body=body)


@pytest.mark.parametrize(
    ("s3_path", "message"),
    [
        ("my-bucket/formatted.jsonl", "s3_path must be an s3:// URI"),
        ("", "s3_path must be an s3:// URI"),
        (5, "s3_path must be an s3:// URI, got 5"),
        ("s3://my-bucket/folder/", "s3_path must name an object"),
        ("s3://my-bucket", "s3_path must name an object"),
        ("s3://my-bucket\n/formatted.jsonl", "s3_path has an invalid bucket name"),
        ("s3://my-bucket/formatted.jsonl\n", "s3_path has control characters"),
    ],
)
def test_batch_get_with_a_bad_s3_path(batch: SMTJBatchInferenceResult, s3_path: Any, message: str) -> None:
    with pytest.raises(ConfigurationError, match=re.escape(message)):
        batch.get(s3_path=s3_path)


def test_batch_get_to_a_missing_bucket_names_it(batch: SMTJBatchInferenceResult) -> None:
    target = "s3://no-such-bucket-errs/formatted.jsonl"
    with pytest.raises(AwsCallError, match=re.escape(f"PutObject failed (NoSuchBucket): {target}")):
        batch.get(s3_path=target)


def test_batch_items_always_carry_five_keys(batch: SMTJBatchInferenceResult) -> None:
    rows = [
        {"prompt": "[{'role': 'user', 'content': 'q1'}]", "gold": "r1", "inference": "['a1']"},
        {"prompt": "[{'role': 'user', 'content': 'q2'}]", "gold": "r2", "inference": "['a2']", "metadata": None},
        {"prompt": "[{'role': 'user', 'content': 'q3'}]", "gold": "r3", "inference": "['a3']", "metadata": {"id": 3}},
    ]
    lines = "".join(json.dumps(r) + "\n" for r in rows).encode()
    _replace_output(batch, _tar({"run/eval_results/inference_output.jsonl": lines}))
    results = batch.get()["results"]
    assert [set(item) for item in results] == [
        {"system", "query", "gold_response", "inference_response", "metadata"}
    ] * 3
    assert [item["metadata"] for item in results] == [{}, {}, {"id": 3}]
    assert format_inference_line({}) == {
        "system": "",
        "query": "",
        "gold_response": "",
        "inference_response": "",
        "metadata": {},
    }


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not a tar", "{uri} is not a readable .tar.gz archive"),
        (_tar({"r/eval_results/inference_output.jsonl": b'{"prompt": "x"}\n\n{broken\n'}),
         "line 3 of inference_output.jsonl in {uri} is not JSON"),
        (_tar({"r/eval_results/inference_output.jsonl": b'["a list"]\n'}),
         "line 1 of inference_output.jsonl in {uri} is not a JSON object"),
        (_tar({"r/eval_results/inference_output.jsonl": b'{"gold": "caf\xe9"}\n'}),
         "inference_output.jsonl in {uri} is not UTF-8 text"),
    ],
)  # fmt: skip
def test_batch_get_with_malformed_output_names_the_file(
    batch: SMTJBatchInferenceResult, body: bytes, message: str
) -> None:
    _replace_output(batch, body)
    with pytest.raises(NovaError, match=re.escape(message.format(uri=batch.inference_output_path))):
        batch.get()


def test_batch_get_with_a_missing_output_fails_every_time(batch: SMTJBatchInferenceResult) -> None:
    _replace_output(batch, None)
    for _ in range(2):  # a failed download is not cached as "no results"
        with pytest.raises(AwsCallError, match=re.escape(f"GetObject failed (404): {batch.inference_output_path}")):
            batch.get()
