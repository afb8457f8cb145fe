"""NovaTrainOperator against the stand-in: one job per task instance, found again on retry, stopped on kill."""

from __future__ import annotations

from typing import Any

import pytest
from airflow.sdk.exceptions import TaskDeferred

from airflow_provider_nova.operators import NovaTrainOperator

DATA = "s3://my-bucket/training-data/train.jsonl"


def train_op(**kwargs: Any) -> NovaTrainOperator:
    args: dict[str, Any] = {
        "task_id": "train",
        "model": "NOVA_MICRO",
        "method": "SFT_LORA",
        "instance_type": "ml.p5.48xlarge",
        "instance_count": "2",
        "data_s3_path": DATA,
        "output_s3_path": "s3://my-bucket/output/",
        "overrides": {"max_epochs": "2", "lr": "5e-6"},
        "poll_interval": "0.05",
        "deferrable": False,
    }
    args.update(kwargs)
    return NovaTrainOperator(**args)


def test_trains_and_returns_the_checkpoint(aws_conn: object, control: Any, context: dict[str, Any]) -> None:
    control.set_job_seconds(0.3)
    result = train_op().execute(context)
    assert result["status"] == "COMPLETED"
    assert result["checkpoint_s3_path"].startswith("s3://")
    assert result["output_s3_path"] == f"s3://my-bucket/output/{result['job_name']}/output/output.tar.gz"
    assert result["job_name"].startswith("retrain-train-")
    assert jobs(control) == {result["job_name"]: "Completed"}


def jobs(control: Any) -> dict[str, str]:
    """Every training job the stand-in holds, by name, with its status."""
    import boto3

    sm = boto3.client("sagemaker", endpoint_url=control.endpoint_url, region_name="us-east-1")
    return {j["TrainingJobName"]: j["TrainingJobStatus"] for j in sm.list_training_jobs()["TrainingJobSummaries"]}


def first_try_times_out(context: dict[str, Any], control: Any) -> str:
    from airflow_provider_nova.core import WaitTimeoutError

    control.set_job_seconds(3600)
    with pytest.raises(WaitTimeoutError):
        train_op(max_wait="0.2").execute(context)
    return str(context["task_state_store"].get("nova_job")["job_name"])


def test_a_retry_reattaches_to_the_running_job(aws_conn: object, control: Any, context: dict[str, Any]) -> None:
    import threading

    name = first_try_times_out(context, control)
    assert jobs(control) == {name: "InProgress"}
    threading.Timer(0.3, control.complete_job, args=(name,)).start()
    result = train_op().execute(context)
    assert result["job_name"] == name and result["status"] == "COMPLETED"
    assert jobs(control) == {name: "Completed"}


def test_a_retry_after_the_job_completed_returns_its_result(
    aws_conn: object, control: Any, context: dict[str, Any]
) -> None:
    name = first_try_times_out(context, control)
    control.complete_job(name)
    assert train_op().execute(context)["job_name"] == name
    assert list(jobs(control)) == [name]


def test_a_retry_after_the_job_failed_starts_a_new_one(aws_conn: object, control: Any, context: dict[str, Any]) -> None:
    name = first_try_times_out(context, control)
    control.fail_job(name, "AlgorithmError: out of memory")
    control.set_job_seconds(0.2)
    result = train_op().execute(context)
    assert result["job_name"] == f"{name}-2"
    assert jobs(control) == {name: "Failed", f"{name}-2": "Completed"}


def test_a_clear_after_success_trains_again(aws_conn: object, control: Any, context: dict[str, Any]) -> None:
    control.set_job_seconds(0.2)
    first = train_op().execute(context)["job_name"]
    second = train_op().execute(context)["job_name"]
    assert second == f"{first}-2"
    assert jobs(control) == {first: "Completed", second: "Completed"}


def test_a_failed_job_fails_the_task_with_the_service_reason(
    aws_conn: object, control: Any, context: dict[str, Any]
) -> None:
    import threading

    from airflow_provider_nova.core import JobFailedError

    threading.Thread(
        target=when_started, args=(control, "failing-job", "ClientError: the data is not in Converse format")
    ).start()
    with pytest.raises(JobFailedError, match="not in Converse format"):
        train_op(job_name="failing-job").execute(context)
    assert context["task_state_store"].get("nova_job") == {"job_name": "failing-job", "done": False}


def when_started(control: Any, name: str, reason: str) -> None:
    """Fail the job as soon as the stand-in holds it."""
    import time

    deadline = time.monotonic() + 30
    while name not in jobs(control) and time.monotonic() < deadline:
        time.sleep(0.02)
    control.fail_job(name, reason)


@pytest.mark.parametrize("policy", ["reattach", "new_name", "fail"])
def test_if_job_exists_governs_a_name_this_task_did_not_start(
    aws_conn: object, control: Any, context: dict[str, Any], policy: str
) -> None:
    control.set_job_seconds(0.2)
    theirs = train_op(job_name="shared-name").execute({"ti": context["ti"]})["job_name"]
    op = train_op(job_name="shared-name", if_job_exists=policy)
    if policy == "fail":
        with pytest.raises(ValueError, match="if_job_exists='fail'"):
            op.execute(context)
        assert list(jobs(control)) == [theirs]
        return
    mine = op.execute(context)["job_name"]
    assert mine == (theirs if policy == "reattach" else "shared-name-2")
    assert len(jobs(control)) == (1 if policy == "reattach" else 2)


def test_on_kill_stops_the_job(aws_conn: object, control: Any, context: dict[str, Any]) -> None:
    import threading
    import time

    from airflow_provider_nova.core import JobFailedError

    op = train_op()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            op.execute(context)
        except BaseException as exc:
            errors.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    deadline = time.monotonic() + 30
    while op._ref is None and time.monotonic() < deadline:
        time.sleep(0.02)
    op.on_kill()
    worker.join(30)
    assert list(jobs(control).values()) == ["Stopped"]
    assert len(errors) == 1 and isinstance(errors[0], JobFailedError) and "Stopped" in str(errors[0])


def test_on_kill_returns_before_airflow_s_sigkill_when_the_stop_gets_no_answer(
    aws_conn: object,
    control: Any,
    faults: Any,
    context: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Airflow SIGKILLs a task 5 s after SIGTERM: on_kill says which job may still run instead of hanging."""
    import time

    from airflow_provider_nova.operators import job

    control.set_job_seconds(3600)
    op = train_op(deferrable=True)
    with pytest.raises(TaskDeferred):
        op.execute(context)
    faults.slow("StopTrainingJob", delay=3, count=1)
    started = time.monotonic()
    monkeypatch.setattr(job, "STOP_WAIT_SECONDS", 0.5)
    op.on_kill()
    assert time.monotonic() - started < 2.5
    assert f"No answer to stopping training job {op._ref.job_name} yet" in capsys.readouterr().out
    time.sleep(3)  # the stop still lands once the service answers
    assert list(jobs(control).values()) == ["Stopped"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"instance_count": "0"}, "instance_count must be at least 1"),
        ({"model": "NOVA_GIANT"}, "model must be one of"),
        ({"method": "SFT_MAGIC"}, "method must be one of"),
        ({"overrides": {"max_epochs": "two"}}, "max_epochs"),
        ({"data_s3_path": "s3://my-bucket/missing/"}, "data_s3_path"),
        ({"if_job_exists": "overwrite"}, "if_job_exists must be one of"),
    ],
)
def test_bad_input_fails_before_any_job_starts(
    aws_conn: object, control: Any, context: dict[str, Any], change: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        train_op(**change).execute(context)
    assert jobs(control) == {}
