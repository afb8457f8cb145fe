"""Evaluation and batch inference operators, and the deferred path of every job operator, on the stand-in."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from airflow.sdk.exceptions import TaskDeferred

from airflow_provider_nova.operators import NovaBatchInferenceOperator, NovaEvaluateOperator, NovaTrainOperator

COMMON: dict[str, Any] = {"model": "NOVA_MICRO", "instance_type": "ml.p5.48xlarge", "poll_interval": "0.05"}


def run_trigger(deferred: TaskDeferred) -> dict[str, Any]:
    """The deferral's trigger, run to its one event, as the triggerer would."""

    async def first() -> dict[str, Any]:
        async for event in deferred.trigger.run():
            return dict(event.payload)
        raise AssertionError("the trigger ended without an event")

    return asyncio.run(first())


def creates(control: Any) -> int:
    return int(control.calls().get("CreateTrainingJob", 0))


def test_evaluation_returns_the_metrics(aws_conn: str, control: Any, context: dict[str, Any]) -> None:
    control.set_job_seconds(0.3)
    op = NovaEvaluateOperator(
        task_id="evaluate", eval_task="mmlu", output_s3_path="s3://my-bucket/eval/", deferrable=False, **COMMON
    )
    result = op.execute(context)
    assert result["status"] == "COMPLETED"
    assert result["eval_output_path"] == f"s3://my-bucket/eval/{result['job_name']}/output/output.tar.gz"
    assert 0 < result["metrics"]["results"]["all"]["accuracy"] < 1
    assert op.lineage_paths(result) == (["", ""], [result["eval_output_path"]])


def test_an_evaluation_with_a_baseline_writes_its_html_report_beside_the_output(
    aws_conn: str, aws: Any, control: Any, context: dict[str, Any]
) -> None:
    control.set_job_seconds(0.3)
    deployed = {"job_name": "eval-deployed", "status": "COMPLETED", "metrics": {"results": {"all": {"accuracy": 0.5}}}}
    op = NovaEvaluateOperator(
        task_id="evaluate", eval_task="mmlu", output_s3_path="s3://my-bucket/eval/", baseline=deployed, **COMMON
    )
    result = op.execute(context)
    folder = f"eval/{result['job_name']}/output"
    assert result["report_s3_path"] == f"s3://my-bucket/{folder}/report.html"
    assert result["baseline"] == {"job_name": "eval-deployed", "metrics": deployed["metrics"]}
    assert (result["eval_task"], result["model_path"]) == ("MMLU", None)
    stored = aws.s3.get_object(Bucket="my-bucket", Key=f"{folder}/report.html")
    assert stored["ContentType"] == "text/html"
    page = stored["Body"].read().decode()
    accuracy = result["metrics"]["results"]["all"]["accuracy"]
    assert f'data-series="evaluated" data-metric="accuracy" data-value="{accuracy:.4f}"' in page
    assert 'data-series="baseline" data-metric="accuracy" data-value="0.5000"' in page
    assert "eval-deployed" in page


def test_a_baseline_of_the_wrong_shape_fails_before_any_job_starts(
    aws_conn: str, control: Any, context: dict[str, Any]
) -> None:
    from airflow_provider_nova.core import ConfigurationError

    op = NovaEvaluateOperator(task_id="evaluate", eval_task="mmlu", baseline={"metrics": "good"}, **COMMON)
    with pytest.raises(ConfigurationError, match=r"^baseline must be"):
        op.execute(context)
    assert creates(control) == 0


def test_a_report_that_cannot_be_written_is_logged_and_left_out(
    aws_conn: str, capsys: pytest.CaptureFixture[str]
) -> None:
    op = NovaEvaluateOperator(task_id="evaluate", eval_task="mmlu", **COMMON)
    result = {
        "job_name": "e-1",
        "metrics": {"accuracy": 0.5},
        "eval_output_path": "s3://no-such-bucket/e-1/output/output.tar.gz",
    }
    assert op.write_report(result) is None  # the stand-in answers NoSuchBucket
    logged = capsys.readouterr().out  # the task logger writes to standard output here
    assert "Could not write the evaluation report to s3://no-such-bucket/e-1/output/report.html" in logged


def test_batch_inference_writes_beside_the_output(
    aws_conn: str, aws: Any, control: Any, context: dict[str, Any]
) -> None:
    from airflow_provider_nova.sandbox import rehearsal

    rows = "".join(json.dumps(row) + "\n" for row in rehearsal.SAMPLE_GEN_QA_ROWS)
    aws.s3.put_object(Bucket="my-bucket", Key="prompts/in.jsonl", Body=rows.encode())
    control.set_job_seconds(0.3)
    op = NovaBatchInferenceOperator(
        task_id="batch",
        input_path="s3://my-bucket/prompts/in.jsonl",
        output_s3_path="s3://my-bucket/batch/",
        max_wait="60",
        deferrable="false",
        **COMMON,
    )
    result = op.execute(context)
    assert result["status"] == "COMPLETED"
    assert result["inference_output_path"].startswith(f"s3://my-bucket/batch/{result['job_name']}/")


def train_op(**kwargs: Any) -> NovaTrainOperator:
    return NovaTrainOperator(
        task_id="train",
        method="SFT_LORA",
        instance_count="2",
        data_s3_path="s3://my-bucket/training-data/train.jsonl",
        output_s3_path="s3://my-bucket/output/",
        deferrable=True,
        **COMMON,
        **kwargs,
    )


def test_a_deferred_training_resumes_with_its_result_and_links_shown_while_it_ran(
    aws_conn: str, control: Any, context: dict[str, Any]
) -> None:
    control.set_job_seconds(0.5)
    with pytest.raises(TaskDeferred) as deferred:
        train_op().execute(context)
    name = deferred.value.trigger.job["job_name"]
    links = context["ti"].pushed
    assert links["nova_sagemaker_training_job"]["job_name"] == name  # persisted before deferring
    assert links["nova_training_job_logs"]["region_name"] == "us-east-1"
    assert deferred.value.method_name == "execute_complete"
    assert deferred.value.trigger.timeout == 86400 + 3600  # the job's MaxRuntimeInSeconds and an hour
    event = run_trigger(deferred.value)
    result = train_op().execute_complete(context, event)  # a fresh operator: the resume happens elsewhere
    assert result["job_name"] == name and result["checkpoint_s3_path"].startswith("s3://")
    assert context["task_state_store"].get("nova_job") == {"job_name": name, "done": True}


def test_a_retry_of_a_deferred_training_defers_again_on_the_same_job(
    aws_conn: str, control: Any, context: dict[str, Any]
) -> None:
    control.set_job_seconds(3600)
    with pytest.raises(TaskDeferred) as first:
        train_op().execute(context)
    with pytest.raises(TaskDeferred) as retry:  # the triggerer died, the task was retried
        train_op().execute(context)
    assert retry.value.trigger.job == first.value.trigger.job
    assert creates(control) == 1


def test_a_failed_job_fails_the_resumed_task_with_the_service_reason(
    aws_conn: str, control: Any, context: dict[str, Any]
) -> None:
    from airflow_provider_nova.core import JobFailedError

    control.set_job_seconds(3600)
    with pytest.raises(TaskDeferred) as deferred:
        train_op().execute(context)
    control.fail_job(deferred.value.trigger.job["job_name"], "CapacityError: no ml.p5.48xlarge capacity")
    with pytest.raises(JobFailedError, match=r"no ml\.p5\.48xlarge capacity"):
        train_op().execute_complete(context, run_trigger(deferred.value))


def test_the_deferred_wait_stops_the_job_when_the_task_is_killed(
    aws_conn: str, aws: Any, control: Any, context: dict[str, Any]
) -> None:
    control.set_job_seconds(3600)
    with pytest.raises(TaskDeferred) as deferred:
        train_op().execute(context)
    asyncio.run(deferred.value.trigger.on_kill())
    name = deferred.value.trigger.job["job_name"]
    status = aws.sagemaker.describe_training_job(TrainingJobName=name)["TrainingJobStatus"]
    assert status in ("Stopping", "Stopped")
