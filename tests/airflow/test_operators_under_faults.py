"""The Airflow layer under injected faults: retries from the connection, waits that ride out errors, one job."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from airflow_provider_nova.core.aws import DEFAULT_RETRIES
from airflow_provider_nova.core.errors import ConfigurationError, JobFailedError
from airflow_provider_nova.hooks.nova import NovaHook
from airflow_provider_nova.operators import NovaTrainOperator
from airflow_provider_nova.sensors.job import NovaJobSensor

NO_RETRIES = {"retries": {"mode": "standard", "total_max_attempts": 1}}


def train_op(**kwargs: Any) -> NovaTrainOperator:
    args: dict[str, Any] = {
        "task_id": "train",
        "model": "NOVA_MICRO",
        "method": "SFT_LORA",
        "instance_type": "ml.p5.48xlarge",
        "instance_count": "2",
        "data_s3_path": "s3://my-bucket/training-data/train.jsonl",
        "output_s3_path": "s3://my-bucket/output/",
        "poll_interval": "0.05",
        "deferrable": False,
        **kwargs,
    }
    return NovaTrainOperator(**args)


def job_names(control: Any) -> list[str]:
    import boto3

    sm = boto3.client("sagemaker", endpoint_url=control.endpoint_url, region_name="us-east-1")
    return sorted(j["TrainingJobName"] for j in sm.list_training_jobs()["TrainingJobSummaries"])


def with_extra(monkeypatch: pytest.MonkeyPatch, conn_id: str, **extra: Any) -> str:
    """A copy of ``aws_default`` under ``conn_id`` with more extra."""
    conn = json.loads(os.environ["AIRFLOW_CONN_AWS_DEFAULT"])
    conn["extra"] = {**conn.get("extra", {}), **extra}
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))
    return conn_id


def test_retries_come_from_the_connections_config_kwargs(aws_conn: str, monkeypatch: pytest.MonkeyPatch) -> None:
    default = NovaHook(aws_conn_id=aws_conn).clients
    assert default.sagemaker.meta.config.retries == DEFAULT_RETRIES
    assert default.bedrock.meta.config.retries == DEFAULT_RETRIES
    adaptive = {"retries": {"mode": "adaptive", "max_attempts": 10}, "read_timeout": 30}
    told = NovaHook(aws_conn_id=with_extra(monkeypatch, "aws_adaptive", config_kwargs=adaptive)).clients
    config = told.sagemaker.meta.config
    assert config.retries == {"mode": "adaptive", "total_max_attempts": 11}  # max_attempts: retries after the first
    assert config.read_timeout == 30
    assert told.s3.meta.config.retries == {"mode": "adaptive", "total_max_attempts": 11}


def test_a_create_whose_answer_was_lost_is_one_job_and_the_task_completes(
    aws_conn: str, faults: Any, context: dict[str, Any], instant_backoff: list[float]
) -> None:
    faults.set_job_seconds(0.3)
    faults.lose_response("CreateTrainingJob")
    result = train_op().execute(context)
    assert result["status"] == "COMPLETED"
    calls = faults.calls()
    assert (calls["CreateTrainingJob"], calls["CreateTrainingJob.failed"]) == (1, 1)  # the retry: ResourceInUse
    assert job_names(faults) == [result["job_name"]]


def test_a_job_of_that_name_created_by_someone_else_meanwhile_is_refused_not_reattached(
    aws_conn: str, faults: Any, start_smtj_job: Any, context: dict[str, Any]
) -> None:
    """Another request's job takes the name after every look this task made (a race): the create is
    refused with ResourceInUse, the job is not this request's, and the task fails naming job_name."""
    start_smtj_job("taken-meanwhile")  # another request: other output path, so another job
    before = faults.calls()
    looks = 3  # the operator's lookup, the customizer's name check and the runtime's own, before the create
    faults.fail_next("DescribeTrainingJob", "ValidationException", count=looks)  # "not found": not there yet
    with pytest.raises(ConfigurationError, match="job_name") as info:
        train_op(job_name="taken-meanwhile", wait_for_completion=False).execute(context)
    assert "taken-meanwhile" in str(info.value)
    calls = {op: n - before.get(op, 0) for op, n in faults.calls().items()}
    assert calls["DescribeTrainingJob.failed"] == looks
    assert (calls.get("CreateTrainingJob", 0), calls["CreateTrainingJob.failed"]) == (0, 1)  # refused: ResourceInUse
    assert faults.calls()["CreateTrainingJob"] == 1  # the other request's, the only one accepted
    assert job_names(faults) == ["taken-meanwhile"]


def test_a_throttled_create_is_retried_and_starts_one_job(
    aws_conn: str, faults: Any, context: dict[str, Any], instant_backoff: list[float]
) -> None:
    faults.set_job_seconds(0.3)
    faults.throttle("CreateTrainingJob", count=DEFAULT_RETRIES["total_max_attempts"] - 1)
    result = train_op().execute(context)
    assert result["status"] == "COMPLETED"
    assert faults.calls()["CreateTrainingJob"] == 1
    assert job_names(faults) == [result["job_name"]]


def once_created(faults: Any, then: Any) -> Any:
    """A thread that runs ``then`` once the stand-in accepted a CreateTrainingJob (the task is waiting)."""
    import threading
    import time

    def run() -> None:
        while not faults.calls().get("CreateTrainingJob"):
            time.sleep(0.02)
        then()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_the_operators_own_wait_rides_out_500s_drops_and_slow_answers(
    aws_conn: str, faults: Any, context: dict[str, Any], instant_backoff: list[float]
) -> None:
    attempts = DEFAULT_RETRIES["total_max_attempts"]

    def trouble() -> None:
        faults.server_error("DescribeTrainingJob", count=attempts + 2)
        faults.drop("DescribeTrainingJob", count=attempts + 2)
        faults.slow("DescribeTrainingJob", delay=0.2, count=2)
        faults.complete_job(job_names(faults)[0])

    faults.set_job_seconds(3600)
    thread = once_created(faults, trouble)
    result = train_op(poll_interval="0.02").execute(context)
    thread.join(5)
    assert result["status"] == "COMPLETED"
    assert faults.calls()["CreateTrainingJob"] == 1


def test_a_job_that_fails_mid_wait_fails_the_task_with_its_reason_through_throttling(
    aws_conn: str, faults: Any, context: dict[str, Any], instant_backoff: list[float]
) -> None:
    def fail() -> None:
        faults.throttle("DescribeTrainingJob", count=DEFAULT_RETRIES["total_max_attempts"] + 1)
        faults.fail_job(job_names(faults)[0], "ClientError: the training data has no rows")

    faults.set_job_seconds(3600)
    failer = once_created(faults, fail)
    with pytest.raises(JobFailedError, match="the training data has no rows") as info:
        train_op(max_wait="30").execute(context)
    failer.join(5)
    assert info.value.reason == "ClientError: the training data has no rows"
    assert faults.calls()["CreateTrainingJob"] == 1


def test_the_sensor_pokes_again_after_a_transient_error(
    aws_conn: str, faults: Any, start_smtj_job: Any, context: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    job = start_smtj_job("sensed")
    sensor = NovaJobSensor(
        task_id="sense", job_name="sensed", aws_conn_id=aws_conn, botocore_config=NO_RETRIES, deferrable=False
    )
    faults.throttle("DescribeTrainingJob")
    assert sensor.poke(context) is False
    faults.drop("DescribeTrainingJob")
    assert sensor.poke(context) is False
    faults.complete_job(job["job_name"])
    assert sensor.poke(context).is_done  # type: ignore[union-attr]


def test_the_sensor_fails_with_the_jobs_reason(
    aws_conn: str, faults: Any, start_smtj_job: Any, context: dict[str, Any]
) -> None:
    start_smtj_job("sensed-failed")
    faults.fail_job("sensed-failed", "AlgorithmError: loss is NaN")
    sensor = NovaJobSensor(task_id="sense", job_name="sensed-failed", aws_conn_id=aws_conn, deferrable=False)
    with pytest.raises(JobFailedError, match="loss is NaN"):
        sensor.poke(context)
