"""A throwaway Airflow home whose ``aws_default`` connection points at the stand-in, and ``dag.test()`` in it;
a HyperPod cluster in the stand-in whose EKS API is a Kubernetes API emulator (not a cluster)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

DAGS = Path(__file__).parents[2] / "example_dags"

RUN = """
import json, sys
from airflow.models.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1])
assert not bag.import_errors, bag.import_errors
dag = bag.get_dag(sys.argv[2])
run = dag.test(run_conf=json.loads(sys.argv[3]))
tis = run.get_task_instances()
states = {ti.task_id: str(ti.state) for ti in tis}
from airflow.models.xcom import XComModel
from airflow.utils.session import create_session
with create_session() as session:
    rows = session.query(XComModel).filter(XComModel.dag_id == dag.dag_id, XComModel.run_id == run.run_id).all()
    xcoms = {f"{r.task_id}.{r.key}": XComModel.deserialize_value(r) for r in rows}
from airflow.models.asset import AssetEvent, AssetModel
with create_session() as session:
    events = [
        {"uri": e.asset.uri, "extra": e.extra, "source_task_id": e.source_task_id}
        for e in session.query(AssetEvent).filter(AssetEvent.source_run_id == run.run_id)
    ]
result = {"state": str(run.state), "run_id": run.run_id, "tasks": states, "xcoms": xcoms, "events": events}
print("RESULT " + json.dumps(result, default=str))
"""


@pytest.fixture
def airflow_env(tmp_path: Path, account: dict[str, str]) -> dict[str, str]:
    endpoint = account["endpoint_url"]
    from airflow_provider_nova.sandbox.rehearsal import airflow_connection

    conn = airflow_connection(endpoint, dict(os.environ))
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


def _run_dag(env: dict[str, str], file: str, dag_id: str, conf: dict[str, Any] | None = None) -> dict[str, Any]:
    """``dag.test()`` of one DAG file in a fresh process.

    Its run state and id, task states, XComs and Asset events, and ``output``: what the process printed.
    """
    out = subprocess.run(
        [sys.executable, "-c", RUN, str(DAGS / file), dag_id, json.dumps(conf or {})],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    line = next((x for x in out.stdout.splitlines() if x.startswith("RESULT ")), None)
    assert line is not None, out.stderr[-5000:] + out.stdout[-3000:]
    result: dict[str, Any] = json.loads(line[len("RESULT ") :])
    result["output"] = out.stdout + out.stderr
    return result


def _rehearsal_jobs(env: dict[str, str]) -> dict[str, str]:
    """The training jobs the stand-in holds: name -> status."""
    import boto3

    conn = json.loads(env["AIRFLOW_CONN_AWS_DEFAULT"])
    sm = boto3.client("sagemaker", endpoint_url=conn["extra"]["endpoint_url"], region_name="us-east-1")
    return {j["TrainingJobName"]: j["TrainingJobStatus"] for j in sm.list_training_jobs()["TrainingJobSummaries"]}


@pytest.fixture
def run_dag(airflow_env: dict[str, str]) -> Any:
    """``run_dag(file, dag_id, conf)`` in the throwaway Airflow home."""
    return lambda file, dag_id, conf=None: _run_dag(airflow_env, file, dag_id, conf)


@pytest.fixture
def rehearsal_jobs(airflow_env: dict[str, str]) -> Any:
    """``rehearsal_jobs()``: the stand-in's training jobs, name -> status."""
    return lambda: _rehearsal_jobs(airflow_env)


@pytest.fixture
def kube() -> Iterator[Any]:
    """A Kubernetes API emulator on loopback standing in for the EKS API of the HyperPod cluster."""
    from airflow_provider_nova.sandbox.kube import KubeEmulator

    with KubeEmulator(cluster_name="nova-eks").start() as emulator:
        yield emulator


@pytest.fixture
def hyperpod(account: dict[str, str], control: Any, kube: Any) -> dict[str, Any]:
    """HyperPod cluster ``nova-hp`` in the stand-in (4 x ml.p5.48xlarge, namespace ``nova-jobs``), EKS API ``kube``."""
    from airflow_provider_nova.sandbox.rehearsal import make_hyperpod_cluster

    return make_hyperpod_cluster(account["endpoint_url"], account["role_arn"], control, kube)
