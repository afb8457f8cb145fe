"""The weekly retraining DAG end to end on the stand-in: with dag.test(), and in a real Airflow, deferred."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

DAGS = Path(__file__).parents[2] / "example_dags"
DAG_ID = "nova_weekly_retraining"
TASKS = ("prepare", "train", "evaluate_new", "evaluate_deployed", "decide", "batch_inference")
FAST = {"poll_interval": 0.2, "margin": -1.0, "instance_count": 2}  # margin -1: always deploy


@pytest.fixture
def inputs(account: dict[str, str], control: Any) -> dict[str, str]:
    from airflow_provider_nova.sandbox.rehearsal import seed_inputs

    seed_inputs(account["endpoint_url"])
    control.set_job_seconds(1)
    control.set_bedrock_seconds(1)
    return account


def test_the_dag_retrains_evaluates_deploys_and_infers(
    inputs: object, run_dag: Any, rehearsal_jobs: Any, control: Any
) -> None:
    result = run_dag("nova_weekly_retraining.py", DAG_ID, FAST)
    assert result["state"] == "success", result["tasks"]
    assert {t: result["tasks"][t] for t in (*TASKS, "deploy")} == {t: "success" for t in (*TASKS, "deploy")}
    assert result["tasks"]["keep_deployed"] == "skipped"
    xcoms = result["xcoms"]
    train, new, old = (
        xcoms["train.return_value"],
        xcoms["evaluate_new.return_value"],
        xcoms["evaluate_deployed.return_value"],
    )
    assert xcoms["prepare.return_value"]["rows"]["train"] == 12
    assert train["status"] == "COMPLETED" and train["checkpoint_s3_path"].startswith("s3://")
    assert set(new["metrics"]["results"]["all"]) >= {"accuracy"} and new["job_name"] != old["job_name"]
    assert xcoms["decide.deployed_checkpoint"] == train["checkpoint_s3_path"]
    assert xcoms["deploy.return_value"]["status"] in ("Active", "InService", "ACTIVE")
    assert xcoms["batch_inference.return_value"]["status"] == "COMPLETED"
    jobs = rehearsal_jobs()
    assert sorted(jobs.values()) == ["Completed"] * 4, jobs
    assert control.calls()["CreateTrainingJob"] == 4
    uris = sorted(event["uri"] for event in result["events"])
    assert uris == [
        "bedrock://support-bot/",  # Airflow normalises a URI with no path
        "s3://my-bucket/nova/checkpoints/support-bot",
        "s3://my-bucket/nova/prepared/support-bot",
    ]
    prepared = next(e for e in result["events"] if e["source_task_id"] == "prepare")
    assert prepared["extra"]["rows"]["train"] == 12


def test_the_dag_keeps_the_deployed_model_when_the_new_one_is_not_better_by_the_margin(
    inputs: object, run_dag: Any
) -> None:
    result = run_dag("nova_weekly_retraining.py", DAG_ID, {**FAST, "margin": 1.0})
    assert result["state"] == "success"
    assert result["tasks"]["deploy"] == "skipped" and result["tasks"]["keep_deployed"] == "success"
    assert result["tasks"]["batch_inference"] == "success"


def stack_env(endpoint_url: str, *, cron: bool = False) -> dict[str, str]:
    """The ``aws_default`` connection to the stand-in; only runs that are triggered or Asset-scheduled."""
    from airflow_provider_nova.sandbox.rehearsal import airflow_connection

    conn = airflow_connection(endpoint_url, dict(os.environ))
    env = {"AIRFLOW_CONN_AWS_DEFAULT": json.dumps(conn), "AWS_EC2_METADATA_DISABLED": "true"}
    if not cron:  # no cron runs beside the triggered one (this also stops Asset-scheduled runs)
        env["AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE"] = "False"
    return env


def one_dag_folder(tmp_path: Path, name: str) -> Path:
    folder = tmp_path / "dags"
    folder.mkdir()
    shutil.copy(DAGS / name, folder / name)
    return folder


def test_the_dag_runs_deferred_in_a_real_airflow(inputs: dict[str, str], tmp_path: Path, control: Any) -> None:
    from airflow_provider_nova.sandbox.airflow_stack import AirflowStack

    dags = one_dag_folder(tmp_path, "nova_weekly_retraining.py")
    with AirflowStack(tmp_path / "airflow", dags, stack_env(inputs["endpoint_url"])) as stack:
        stack.wait_for_dag(DAG_ID)
        run_id = stack.trigger(DAG_ID, FAST)
        state = stack.wait_for_run(DAG_ID, run_id, timeout=600)
        tasks = stack.task_states(DAG_ID, run_id)
        logs = tmp_path / "airflow" / "logs" / f"dag_id={DAG_ID}"
        deferred = {p.parent.name.removeprefix("task_id=") for p in logs.glob("run_id=*/task_id=*/*.trigger.*.log")}
    assert state == "success", tasks
    assert {t: tasks[t] for t in (*TASKS, "deploy")} == {t: "success" for t in (*TASKS, "deploy")}
    assert control.calls()["CreateTrainingJob"] == 4  # train, two evaluations, batch inference: one each
    # every wait ran in the triggerer (its log beside the task's), none on a worker
    assert deferred == {"train", "evaluate_new", "evaluate_deployed", "deploy", "batch_inference"}


def test_new_data_retrains_through_the_asset_in_a_real_airflow(
    inputs: dict[str, str], tmp_path: Path, control: Any
) -> None:
    from airflow_provider_nova.sandbox.airflow_stack import AirflowStack

    dags = one_dag_folder(tmp_path, "nova_data_aware_retraining.py")
    with AirflowStack(tmp_path / "airflow", dags, stack_env(inputs["endpoint_url"], cron=True)) as stack:
        stack.wait_for_dag("nova_retrain_on_new_data")
        prepared = stack.trigger("nova_prepare_support_data")
        assert stack.wait_for_run("nova_prepare_support_data", prepared, timeout=300) == "success"
        retrain = stack.wait_for_any_run("nova_retrain_on_new_data", timeout=120)
        state = stack.wait_for_run("nova_retrain_on_new_data", retrain, timeout=300)
    assert retrain.startswith("asset_triggered__") and state == "success"
    assert control.calls()["CreateTrainingJob"] == 1
