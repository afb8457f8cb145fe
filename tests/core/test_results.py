"""Job status across the whole lifecycle on the stand-in, and dump/load round trips."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airflow_provider_nova.core import (
    AwsClients,
    BaseJobResult,
    JobStatus,
    Model,
    NovaError,
    NovaModelCustomizer,
    SMTJRuntimeManager,
    TrainingMethod,
    TrainingResult,
)
from airflow_provider_nova.core.lifecycle import JobState
from airflow_provider_nova.core.status import SAGEMAKER_JOB, map_sagemaker_status


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
        "endpoint_url",
        "method",
        "model_artifacts",
    }
