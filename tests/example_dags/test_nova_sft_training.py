"""The example DAG parses lightly and runs with dag.test() against the stand-in, as a real Airflow would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

DAGS = Path(__file__).parents[2] / "example_dags"

RUN = """
import json, sys
from airflow.models.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1])
assert not bag.import_errors, bag.import_errors
dag = bag.get_dag("nova_sft_training")
run = dag.test(run_conf=json.loads(sys.argv[2]))
states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
print("RESULT " + json.dumps({"state": str(run.state), "tasks": states}))
"""


@pytest.fixture
def airflow_env(tmp_path: Path, account: dict[str, str]) -> dict[str, str]:
    endpoint = account["endpoint_url"]
    creds = {k: os.environ[k] for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")}
    conn = {
        "conn_type": "aws",
        "login": creds["AWS_ACCESS_KEY_ID"],
        "password": creds["AWS_SECRET_ACCESS_KEY"],
        "extra": {
            "aws_session_token": creds["AWS_SESSION_TOKEN"],
            "region_name": "us-east-1",
            "endpoint_url": endpoint,
        },
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AIRFLOW_HOME=str(tmp_path),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__DAGS_FOLDER=str(DAGS),
        AIRFLOW_CONN_AWS_DEFAULT=json.dumps(conn),
        AWS_EC2_METADATA_DISABLED="true",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
    )
    airflow = str(Path(sys.executable).with_name("airflow"))
    subprocess.run([airflow, "db", "migrate"], env=env, check=True, capture_output=True, timeout=300)
    return env


def test_dag_file_imports_no_core_and_no_boto3_at_parse_time() -> None:
    code = (
        f"import runpy, sys; runpy.run_path({str(DAGS / 'nova_sft_training.py')!r}); "
        "heavy = ('airflow_provider_nova.core', 'airflow_provider_nova.sandbox', 'boto3', 'botocore', 'moto'); "
        "print('HEAVY=' + ','.join(sorted(m for m in sys.modules if m.startswith(heavy))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out.splitlines()[-1] == "HEAVY="


def test_dag_trains_on_the_stand_in(airflow_env: dict[str, str], control: object) -> None:
    control.set_job_seconds(1)  # type: ignore[attr-defined]
    try:
        conf = {"poll_seconds": 1, "overrides": {"max_epochs": 3, "lr": 1e-5}}
        out = subprocess.run(
            [sys.executable, "-c", RUN, str(DAGS), json.dumps(conf)],
            env=airflow_env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
    finally:
        control.set_job_seconds(3600)  # type: ignore[attr-defined]
    line = next((x for x in out.stdout.splitlines() if x.startswith("RESULT ")), None)
    assert line is not None, out.stderr[-3000:]
    result = json.loads(line[len("RESULT ") :])
    assert result == {"state": "success", "tasks": {"train": "success", "wait_for_checkpoint": "success"}}
    jobs = rehearsal_jobs(airflow_env)
    assert len(jobs) == 1 and jobs[0]["TrainingJobStatus"] == "Completed"


def rehearsal_jobs(env: dict[str, str]) -> list[dict[str, object]]:
    import boto3

    conn = json.loads(env["AIRFLOW_CONN_AWS_DEFAULT"])
    sm = boto3.client("sagemaker", endpoint_url=conn["extra"]["endpoint_url"], region_name="us-east-1")
    return list(sm.list_training_jobs()["TrainingJobSummaries"])
