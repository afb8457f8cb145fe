"""The job operators, NovaJobSensor and NovaJobTrigger on SageMaker HyperPod, without a scheduler.

The AWS side (the cluster checks, the EKS endpoint) is the stand-in; the cluster's Kubernetes API is
the loopback emulator (an emulator, not a cluster), whose PyTorchJobs the tests drive as the
Kubeflow training operator would, writing what the job's container would write to S3.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
import yaml
from airflow.sdk.exceptions import TaskDeferred

from airflow_provider_nova.core import ConfigurationError, JobFailedError
from airflow_provider_nova.operators import NovaEvaluateOperator, NovaTrainOperator
from airflow_provider_nova.operators.naming import hyperpod_job_name, job_name_for
from airflow_provider_nova.sensors import NovaJobSensor
from airflow_provider_nova.triggers import NovaJobTrigger

CLUSTER, NAMESPACE = "nova-hp", "nova-jobs"
HP = {"cluster_name": CLUSTER, "namespace": NAMESPACE}
DATA = "s3://my-bucket/training-data/train.jsonl"
OUT = "s3://my-bucket/hp-out/"
JOBS_PATH = f"/apis/kubeflow.org/v1/namespaces/{NAMESPACE}/pytorchjobs"
CHECKPOINT = "s3://customer-escrow-123456789012-smhp-abcdef/micro-sft/checkpoint"


@pytest.fixture
def kube() -> Iterator[Any]:
    """The Kubernetes API emulator standing in for the HyperPod cluster's EKS API."""
    from airflow_provider_nova.sandbox.kube import KubeEmulator

    with KubeEmulator(cluster_name="nova-eks").start() as emulator:
        yield emulator


@pytest.fixture
def hyperpod(aws_conn: str, account: dict[str, str], control: Any, kube: Any) -> dict[str, Any]:
    """HyperPod cluster ``nova-hp`` (4 x ml.p5.48xlarge, namespace ``nova-jobs``), ``aws_default`` pointing at it."""
    from airflow_provider_nova.sandbox.rehearsal import make_hyperpod_cluster

    return make_hyperpod_cluster(account["endpoint_url"], account["role_arn"], control, kube)


def train_op(**kwargs: Any) -> NovaTrainOperator:
    args: dict[str, Any] = {
        "task_id": "train",
        "model": "NOVA_MICRO",
        "method": "SFT_LORA",
        "instance_type": "ml.p5.48xlarge",
        "instance_count": "4",
        "data_s3_path": DATA,
        "output_s3_path": OUT,
        "poll_interval": "0.05",
        "deferrable": False,
        **HP,
    }
    args.update(kwargs)
    return NovaTrainOperator(**args)


def created(kube: Any) -> list[str]:
    """The paths of the emulator's create calls (access reviews aside), in order."""
    return [path for method, path, _ in kube.requests if method == "POST" and "selfsubjectaccessreviews" not in path]


def pytorchjob(kube: Any, name: str) -> dict[str, Any] | None:
    return kube.get("kubeflow.org/v1", "pytorchjobs", NAMESPACE, name)  # type: ignore[no-any-return]


def put(account: dict[str, str], uri: str, content: Any) -> None:
    """Write what the job's container would write (JSON) to ``uri``."""
    bucket, key = uri[len("s3://") :].split("/", 1)
    s3 = boto3.client("s3", endpoint_url=account["endpoint_url"], region_name="us-east-1")
    s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(content).encode())


def succeed_training(kube: Any, account: dict[str, str], name: str) -> None:
    """Play the job: its manifest in ``<output>/<job>/``, Running, then Succeeded."""
    put(account, f"{OUT}{name}/manifest.json", {"checkpoint_s3_bucket": CHECKPOINT})
    kube.run_pytorchjob(NAMESPACE, name)
    kube.succeed_pytorchjob(NAMESPACE, name)


def wait_until(check: Callable[[], Any], timeout: float = 30) -> Any:
    """Poll ``check`` until it returns something truthy (the operator under test runs in another thread)."""
    deadline = time.monotonic() + timeout
    while not (found := check()):
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.02)
    return found


def run_trigger(trigger: NovaJobTrigger, drive: Callable[[], None]) -> dict[str, Any]:
    """Run ``trigger`` to its event as the triggerer would, calling ``drive`` (blocking) once it is polling."""

    async def scenario() -> dict[str, Any]:
        waiting = asyncio.create_task(anext(aiter(trigger.run())))
        await asyncio.sleep(0.2)  # a few polls see the job still going
        assert not waiting.done()
        await asyncio.to_thread(drive)
        return dict((await waiting).payload)

    return asyncio.run(scenario())


# -- (a) started, not waited on -------------------------------------------------------------------
def test_started_without_waiting_returns_the_job_and_its_objects_exist(
    hyperpod: dict[str, Any], kube: Any, context: dict[str, Any]
) -> None:
    result = train_op(wait_for_completion=False).execute(context)
    name = hyperpod_job_name(job_name_for(context))
    assert name.startswith("retrain-train-") and name == name.lower() and len(name) <= 46
    assert result == {"job_name": name, "status": "IN_PROGRESS", "region": "us-east-1", "output_s3_path": OUT}
    job = pytorchjob(kube, name)
    assert job is not None and job["spec"]["pytorchReplicaSpecs"]["Worker"]["replicas"] == 3
    assert kube.get("v1", "configmaps", NAMESPACE, f"training-config-{name}") is not None
    assert created(kube) == [f"/api/v1/namespaces/{NAMESPACE}/configmaps", JOBS_PATH]
    assert context["task_state_store"].get("nova_job") == {"job_name": name, "done": False}
    assert context["ti"].pushed == {}  # no SageMaker console links: a HyperPod job is no training job


# -- (b) a retry finds the job again --------------------------------------------------------------
def test_a_retry_reattaches_to_the_running_pytorchjob_and_then_returns_its_result(
    hyperpod: dict[str, Any], kube: Any, account: dict[str, str], context: dict[str, Any]
) -> None:
    name = train_op(wait_for_completion=False).execute(context)["job_name"]
    kube.run_pytorchjob(NAMESPACE, name)
    with pytest.raises(TaskDeferred) as retry:  # the worker died; the retry defers on the same job
        train_op(deferrable=True).execute(context)
    assert retry.value.trigger.job == {"platform": "SMHP", "job_name": name, "region": "us-east-1", **HP}
    assert retry.value.kwargs == {"output_s3_path": OUT}  # read back from the job's ConfigMap

    succeed_training(kube, account, name)
    result = train_op().execute(context)  # a later try finds it completed
    assert result == {
        "job_name": name,
        "status": "COMPLETED",
        "checkpoint_s3_path": CHECKPOINT,
        "output_s3_path": f"{OUT}{name}/",
        "region": "us-east-1",
    }
    assert created(kube).count(JOBS_PATH) == 1


def test_a_retry_after_the_job_failed_starts_a_new_one_under_the_next_name(
    hyperpod: dict[str, Any], kube: Any, context: dict[str, Any]
) -> None:
    name = train_op(wait_for_completion=False).execute(context)["job_name"]
    kube.fail_pytorchjob(NAMESPACE, name, "NCCL timeout on worker-0")
    retried = train_op(wait_for_completion=False).execute(context)
    assert retried["job_name"] == f"{name}-2"
    assert [p for p in created(kube) if p == JOBS_PATH] == [JOBS_PATH] * 2


def test_a_retry_after_a_try_died_between_the_configmap_and_the_pytorchjob_creates_the_job(
    hyperpod: dict[str, Any], kube: Any, aws: Any, context: dict[str, Any]
) -> None:
    from airflow_provider_nova.core import Platform
    from airflow_provider_nova.core.runtimes import jobs_for

    name = train_op(wait_for_completion=False).execute(context)["job_name"]
    jobs_for(Platform.SMHP, aws).api(CLUSTER).delete(NAMESPACE, "PyTorchJob", name)  # as if never created
    assert kube.get("v1", "configmaps", NAMESPACE, f"training-config-{name}") is not None
    retried = train_op(wait_for_completion=False).execute(context)
    assert retried["job_name"] == name and pytorchjob(kube, name) is not None
    assert len(kube.list("v1", "configmaps", NAMESPACE)) == 1  # the earlier try's ConfigMap was replaced


def test_a_pytorchjob_create_whose_answer_was_lost_is_the_job_and_its_configmap_stays(
    hyperpod: dict[str, Any], kube: Any, context: dict[str, Any]
) -> None:
    kube.lose_response("POST", "pytorchjobs")  # created, then the connection closes before the answer
    result = train_op(wait_for_completion=False).execute(context)
    name = result["job_name"]
    assert result["status"] == "IN_PROGRESS" and pytorchjob(kube, name) is not None
    assert created(kube).count(JOBS_PATH) == 1  # the one create, accepted; not sent again
    assert kube.get("v1", "configmaps", NAMESPACE, f"training-config-{name}") is not None  # the job's recipe


def test_a_pytorchjob_of_that_name_created_by_someone_else_meanwhile_is_refused_not_reattached(
    hyperpod: dict[str, Any], kube: Any, aws: Any, context: dict[str, Any]
) -> None:
    """Another PyTorchJob takes the name after every look this task made (a race): the create is
    answered 409, the job is not this request's, and the task fails naming job_name."""
    from airflow_provider_nova.core import Platform
    from airflow_provider_nova.core.runtimes import jobs_for

    name = "taken-meanwhile"
    other = {"apiVersion": "kubeflow.org/v1", "kind": "PyTorchJob", "metadata": {"name": name}, "spec": {}}
    jobs_for(Platform.SMHP, aws).api(CLUSTER).create(NAMESPACE, other)
    looks = 3  # the operator's lookup, the customizer's name check and the runtime's own, before the create
    kube.fail_next("GET", "pytorchjobs", 404, count=looks)  # not there yet
    with pytest.raises(ConfigurationError, match="job_name") as info:
        train_op(job_name=name, wait_for_completion=False).execute(context)
    assert name in str(info.value)
    answered = [(method, status) for method, path, status in kube.requests if path.startswith(JOBS_PATH)]
    assert answered.count(("GET", 404)) == looks and answered.count(("POST", 409)) == 1
    assert pytorchjob(kube, name) == kube.get("kubeflow.org/v1", "pytorchjobs", NAMESPACE, name)
    assert "annotations" not in (pytorchjob(kube, name) or {})["metadata"]  # the other job, untouched


# -- (c) killed ---------------------------------------------------------------------------------
def test_on_kill_deletes_the_jobs_objects_and_the_wait_fails(
    hyperpod: dict[str, Any], kube: Any, context: dict[str, Any]
) -> None:
    op = train_op()
    failures: list[BaseException] = []

    def run() -> None:
        try:
            op.execute(context)
        except BaseException as exc:  # what the worker would see after the kill
            failures.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    name = wait_until(lambda: (context["task_state_store"].get("nova_job") or {}).get("job_name"))
    wait_until(lambda: pytorchjob(kube, name))
    kube.run_pytorchjob(NAMESPACE, name)
    assert len(kube.list("v1", "pods", NAMESPACE)) == 4
    op.on_kill()
    worker.join(timeout=30)
    assert pytorchjob(kube, name) is None
    assert kube.list("v1", "configmaps", NAMESPACE) == []
    assert kube.list("v1", "pods", NAMESPACE) == []
    assert len(failures) == 1 and isinstance(failures[0], JobFailedError)
    assert "ended NotFound" in str(failures[0])


def test_killing_a_deferred_task_deletes_the_jobs_objects(
    hyperpod: dict[str, Any], kube: Any, context: dict[str, Any]
) -> None:
    with pytest.raises(TaskDeferred) as deferred:
        train_op(deferrable=True).execute(context)
    name = deferred.value.trigger.job["job_name"]
    kube.run_pytorchjob(NAMESPACE, name)
    asyncio.run(deferred.value.trigger.on_kill())  # the user marked the deferred task failed
    assert pytorchjob(kube, name) is None
    assert kube.list("v1", "configmaps", NAMESPACE) == [] and kube.list("v1", "pods", NAMESPACE) == []


# -- (d) deferred ---------------------------------------------------------------------------------
def test_deferred_the_trigger_follows_the_pytorchjob_and_the_task_resumes_with_the_checkpoint(
    hyperpod: dict[str, Any], kube: Any, account: dict[str, str], context: dict[str, Any]
) -> None:
    with pytest.raises(TaskDeferred) as deferred:
        train_op(deferrable=True).execute(context)
    trigger = deferred.value.trigger
    name = trigger.job["job_name"]
    assert isinstance(trigger, NovaJobTrigger) and deferred.value.method_name == "execute_complete"
    assert trigger.job == {"platform": "SMHP", "job_name": name, "region": "us-east-1", **HP}
    assert trigger.timeout is None  # a HyperPod job has no MaxRuntimeInSeconds to wait past
    assert deferred.value.kwargs == {"output_s3_path": OUT}

    event = run_trigger(trigger, lambda: succeed_training(kube, account, name))
    assert event["status"] == "success" and event["state"]["raw"] == "Succeeded"
    # the task resumes in a fresh operator; with and without the deferral's kwargs (read from the ConfigMap)
    for kwargs in (deferred.value.kwargs, {}):
        result = train_op(deferrable=True).execute_complete(context, event, **kwargs)
        assert (result["job_name"], result["status"], result["checkpoint_s3_path"]) == (name, "COMPLETED", CHECKPOINT)
        assert result["output_s3_path"] == f"{OUT}{name}/"
    assert context["task_state_store"].get("nova_job") == {"job_name": name, "done": True}
    assert created(kube).count(JOBS_PATH) == 1


def test_a_deferred_evaluation_resumes_with_the_metrics_and_a_failure_with_the_message(
    hyperpod: dict[str, Any], kube: Any, account: dict[str, str], context: dict[str, Any]
) -> None:
    def evaluate() -> NovaEvaluateOperator:
        return NovaEvaluateOperator(
            task_id="evaluate",
            model="NOVA_MICRO",
            eval_task="MMLU",
            model_path=CHECKPOINT,
            instance_type="ml.p5.48xlarge",
            instance_count=1,
            output_s3_path=OUT,
            poll_interval=0.05,
            deferrable=True,
            **HP,
        )

    with pytest.raises(TaskDeferred) as deferred:
        evaluate().execute(context)
    name = deferred.value.trigger.job["job_name"]
    assert list(pytorchjob(kube, name)["spec"]["pytorchReplicaSpecs"]) == ["Master"]  # type: ignore[index]
    metrics = {"results": {"mmlu": {"accuracy": 0.71, "accuracy_stderr": 0.01}}}

    def drive() -> None:
        put(account, f"{OUT}{name}/eval-result/run-1/eval_results/results_2026.json", metrics)
        kube.run_pytorchjob(NAMESPACE, name)
        kube.succeed_pytorchjob(NAMESPACE, name)

    config = kube.get("v1", "configmaps", NAMESPACE, f"training-config-{name}")
    recipe = yaml.safe_load(config["data"]["config.yaml"])
    assert recipe["run"]["output_s3_path"] == OUT  # the container writes its results where the recipe says
    assert recipe["run"]["model_name_or_path"] == CHECKPOINT

    event = run_trigger(deferred.value.trigger, drive)
    for kwargs in (deferred.value.kwargs, {}):  # without the deferral's kwargs, the output is read from the job
        result = evaluate().execute_complete(context, event, **kwargs)
        assert result["metrics"] == metrics and result["eval_output_path"] == f"{OUT}{name}/eval-result/"

    context["task_state_store"].values.clear()  # another task instance's evaluation, which fails
    context["ti"].task_id = "evaluate_again"
    with pytest.raises(TaskDeferred) as again:
        evaluate().execute(context)
    other = again.value.trigger.job["job_name"]
    event = run_trigger(again.value.trigger, lambda: kube.fail_pytorchjob(NAMESPACE, other, "CUDA out of memory"))
    assert event["status"] == "failed"
    with pytest.raises(JobFailedError, match=f"job {other} ended Failed: CUDA out of memory"):
        evaluate().execute_complete(context, event, **again.value.kwargs)


# -- (e) the sensor ---------------------------------------------------------------------------------
def sensor(name: str, **kwargs: Any) -> NovaJobSensor:
    return NovaJobSensor(task_id="wait", job_name=name, platform="SMHP", poke_interval=0.05, **HP, **kwargs)


def test_the_sensor_pokes_a_hyperpod_job_until_it_succeeds_or_fails(
    hyperpod: dict[str, Any], kube: Any, account: dict[str, str], context: dict[str, Any]
) -> None:
    name = train_op(wait_for_completion=False).execute(context)["job_name"]
    watch = sensor(name)
    assert watch.poke({}) is False  # created, no condition yet
    kube.run_pytorchjob(NAMESPACE, name)
    assert watch.poke({}) is False
    succeed_training(kube, account, name)
    done = watch.poke({})
    assert done.is_done and done.xcom_value == {  # type: ignore[union-attr]
        "status": "COMPLETED",
        "raw": "Succeeded",
        "reason": None,
        "secondary": None,
    }

    context["task_state_store"].values.clear()
    context["ti"].task_id = "train_again"
    failing = train_op(wait_for_completion=False).execute(context)["job_name"]
    kube.run_pytorchjob(NAMESPACE, failing)
    kube.fail_pytorchjob(NAMESPACE, failing, "NCCL timeout on worker-0")
    with pytest.raises(JobFailedError, match="ended Failed: NCCL timeout on worker-0") as info:
        sensor(failing).poke({})
    assert info.value.reason == "NCCL timeout on worker-0"


def test_the_deferred_sensor_waits_on_the_trigger_and_never_stops_the_job(
    hyperpod: dict[str, Any], kube: Any, account: dict[str, str], context: dict[str, Any]
) -> None:
    name = train_op(wait_for_completion=False).execute(context)["job_name"]
    watch = sensor(name, deferrable=True, timeout=600)
    with pytest.raises(TaskDeferred) as deferred:
        watch.execute({})
    kwargs = deferred.value.trigger.serialize()[1]
    assert kwargs["job"] == {"platform": "SMHP", "job_name": name, "region": "us-east-1", **HP}
    assert (kwargs["stop_on_kill"], kwargs["timeout"]) == (False, 600)
    event = run_trigger(deferred.value.trigger, lambda: succeed_training(kube, account, name))
    assert watch.execute_complete({}, event)["raw"] == "Succeeded"
    asyncio.run(deferred.value.trigger.on_kill())  # a sensor only watches
    assert pytorchjob(kube, name) is not None


# -- (f) refused before anything is created -----------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"namespace": None}, "cluster_name and namespace go together"),
        ({"cluster_name": ""}, "cluster_name and namespace go together"),
        ({"execution_role": "arn:aws:iam::123456789012:role/Other"}, "execution_role and max_job_runtime apply to"),
        ({"max_job_runtime": "3600"}, "execution_role and max_job_runtime apply to"),
    ],
)
def test_parameters_hyperpod_cannot_take_are_refused_before_anything_is_created(
    hyperpod: dict[str, Any], kube: Any, context: dict[str, Any], kwargs: dict[str, Any], message: str
) -> None:
    before = len(kube.requests)
    with pytest.raises(ConfigurationError, match=message):
        train_op(**kwargs).execute(context)
    assert len(kube.requests) == before  # the cluster was not even asked
    assert context["task_state_store"].values == {}


def test_the_sensor_refuses_a_hyperpod_job_without_its_cluster_and_namespace(hyperpod: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError, match="cluster_name and namespace"):
        NovaJobSensor(task_id="wait", job_name="j", platform="SMHP", cluster_name=CLUSTER, deferrable=True).execute({})
