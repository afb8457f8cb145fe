"""The HyperPod example DAG with dag.test(), deferred, on the stand-in and the Kubernetes API emulator.

While ``dag.test()`` runs in its own process, a thread here plays what runs on the cluster: the
Kubeflow training operator (the PyTorchJob goes Running, then Succeeded or Failed) and each job's
container, which reads its recipe from the job's ConfigMap and writes its outputs where the recipe
says (the training's ``manifest.json``, the evaluation's results), as on HyperPod.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import yaml

from airflow_provider_nova.operators.naming import derived_job_name, hyperpod_job_name

FILE, DAG_ID = "nova_hyperpod_training.py", "nova_hyperpod_training"
NAMESPACE = "nova-jobs"
JOBS_PATH = f"/apis/kubeflow.org/v1/namespaces/{NAMESPACE}/pytorchjobs"
CONFIG_MAPS_PATH = f"/api/v1/namespaces/{NAMESPACE}/configmaps"
CONF = {
    "poll_interval": 0.2,
    "output_s3_path": "s3://my-bucket/hp/output/",
    "eval_output_s3_path": "s3://my-bucket/hp/eval/",
}
METRICS = {"results": {"mmlu": {"accuracy": 0.71, "accuracy_stderr": 0.01}}}

Step = Callable[[Any, str, dict[str, Any]], None]  # (kube, job name, its recipe): what the cluster does to a job


def put(uri: str, content: Any) -> None:
    """Write ``content`` as JSON to ``uri`` in the stand-in, as the job's container would."""
    bucket, key = uri[len("s3://") :].split("/", 1)
    boto3.client("s3", region_name="us-east-1").put_object(Bucket=bucket, Key=key, Body=json.dumps(content).encode())


def checkpoint_of(job: str) -> str:
    return f"s3://customer-escrow-123456789012-smhp-abcdef/{job}/checkpoint"


def training_succeeds(kube: Any, job: str, recipe: dict[str, Any]) -> None:
    kube.run_pytorchjob(NAMESPACE, job)
    put(f"{recipe['run']['output_s3_path']}{job}/manifest.json", {"checkpoint_s3_bucket": checkpoint_of(job)})
    kube.succeed_pytorchjob(NAMESPACE, job)


def evaluation_succeeds(kube: Any, job: str, recipe: dict[str, Any]) -> None:
    kube.run_pytorchjob(NAMESPACE, job)
    put(f"{recipe['run']['output_s3_path']}{job}/eval-result/run-1/eval_results/results_2026.json", METRICS)
    kube.succeed_pytorchjob(NAMESPACE, job)


def training_fails(kube: Any, job: str, recipe: dict[str, Any]) -> None:
    kube.run_pytorchjob(NAMESPACE, job)
    kube.fail_pytorchjob(NAMESPACE, job, "NCCL timeout on worker-0")


@contextmanager
def cluster_plays(kube: Any, *steps: Step) -> Iterator[dict[str, dict[str, Any]]]:
    """In a thread: for each step, wait for the next new PyTorchJob and apply the step to it.

    Yields the jobs seen, in order: name -> the recipe in its ConfigMap.
    """
    seen: dict[str, dict[str, Any]] = {}
    errors: list[BaseException] = []
    stop = threading.Event()

    def next_job() -> str | None:
        while not stop.wait(0.05):
            names = [job["metadata"]["name"] for job in kube.list("kubeflow.org/v1", "pytorchjobs", NAMESPACE)]
            fresh = [name for name in names if name not in seen]
            if fresh and kube.get("kubeflow.org/v1", "pytorchjobs", NAMESPACE, fresh[0]) is not None:
                return fresh[0]
        return None

    def play() -> None:
        for step in steps:
            job = next_job()
            if job is None:
                return
            try:
                config = kube.get("v1", "configmaps", NAMESPACE, f"training-config-{job}")
                seen[job] = yaml.safe_load(config["data"]["config.yaml"])
                step(kube, job, seen[job])
            except Exception as exc:  # reported to the test below; failing the job ends the DAG run now
                errors.append(exc)
                kube.fail_pytorchjob(NAMESPACE, job, f"the test's cluster thread failed: {exc!r}")
                return

    thread = threading.Thread(target=play, name="training-operator", daemon=True)
    thread.start()
    try:
        yield seen
    finally:
        stop.set()
        thread.join(timeout=30)
    assert errors == []


def created(kube: Any) -> list[str]:
    """The paths of the emulator's create calls (access reviews aside), in order."""
    return [path for method, path, _ in kube.requests if method == "POST" and "selfsubjectaccessreviews" not in path]


def test_the_dag_file_loads_no_kubernetes_client_no_boto3_and_no_core_at_parse_time() -> None:
    dag_file = Path(__file__).parents[2] / "example_dags" / FILE
    code = (
        f"import runpy, sys; runpy.run_path({str(dag_file)!r}); "
        "heavy = ('airflow_provider_nova.core', 'kubernetes', 'boto3', 'botocore'); "
        "print('HEAVY=' + ','.join(sorted(m for m in sys.modules if m.startswith(heavy))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out.splitlines()[-1] == "HEAVY="


def test_the_dag_trains_then_evaluates_the_checkpoint_on_hyperpod(hyperpod: Any, kube: Any, run_dag: Any) -> None:
    with cluster_plays(kube, training_succeeds, evaluation_succeeds) as jobs:
        result = run_dag(FILE, DAG_ID, CONF)
    assert result["state"] == "success", result["output"][-5000:]
    assert result["tasks"] == {"train": "success", "evaluate": "success"}

    train_job, eval_job = (
        hyperpod_job_name(derived_job_name(DAG_ID, result["run_id"], t)) for t in ("train", "evaluate")
    )
    assert list(jobs) == [train_job, eval_job]
    assert train_job.startswith("nova-hyperpod-traini-train-") and train_job == train_job.lower()
    assert created(kube) == [CONFIG_MAPS_PATH, JOBS_PATH] * 2  # one job per task

    train, evaluate = result["xcoms"]["train.return_value"], result["xcoms"]["evaluate.return_value"]
    assert train == {
        "job_name": train_job,
        "status": "COMPLETED",
        "checkpoint_s3_path": checkpoint_of(train_job),
        "output_s3_path": f"{CONF['output_s3_path']}{train_job}/",
        "region": "us-east-1",
    }
    assert evaluate["job_name"] == eval_job and evaluate["metrics"] == METRICS
    assert evaluate["eval_output_path"] == f"{CONF['eval_output_s3_path']}{eval_job}/eval-result/"

    training, evaluation = jobs[train_job], jobs[eval_job]
    assert (training["run"]["replicas"], training["run"]["data_s3_path"]) == (
        4,
        "s3://my-bucket/training-data/train.jsonl",
    )
    assert training["training_config"]["trainer"]["max_epochs"] == 2
    assert (evaluation["run"]["replicas"], evaluation["evaluation"]["task"]) == (1, "mmlu")
    assert evaluation["run"]["model_name_or_path"] == checkpoint_of(train_job)  # the train task's XCom


def test_a_failed_training_fails_the_task_with_the_message_and_creates_nothing_else(
    hyperpod: Any, kube: Any, run_dag: Any
) -> None:
    with cluster_plays(kube, training_fails) as jobs:
        result = run_dag(FILE, DAG_ID, CONF)
    assert result["state"] == "failed"
    assert result["tasks"] == {"train": "failed", "evaluate": "upstream_failed"}
    assert "JobFailedError" in result["output"]
    assert f"job {next(iter(jobs))} ended Failed: NCCL timeout on worker-0" in result["output"]
    assert created(kube) == [CONFIG_MAPS_PATH, JOBS_PATH]
    assert "train.return_value" not in result["xcoms"]
