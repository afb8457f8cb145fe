"""A test drives PyTorchJobs in the Kubernetes API emulator the way the Kubeflow training operator would."""

from __future__ import annotations

import json

import kubernetes
import pytest
from kubernetes.client import V1DeleteOptions

GROUP, VERSION, PLURAL = "kubeflow.org", "v1", "pytorchjobs"
NAMESPACE = "nova"  # created by the ``client`` fixture
JOB_LABEL = "training.kubeflow.org/job-name"


@pytest.fixture
def job(custom, job_manifest) -> dict:
    """PyTorchJob ``sft-job`` with a master and two workers, as just created."""
    return custom.create_namespaced_custom_object(GROUP, VERSION, NAMESPACE, PLURAL, job_manifest("sft-job", workers=2))


def conditions(custom, name: str = "sft-job") -> dict[str, tuple[str, str, str]]:
    status = custom.get_namespaced_custom_object_status(GROUP, VERSION, NAMESPACE, PLURAL, name)["status"]
    return {c["type"]: (c["status"], c["reason"], c["message"]) for c in status["conditions"]}


def pods(core, selector: str = f"{JOB_LABEL}=sft-job") -> dict[str, str]:
    return {
        pod.metadata.name: pod.status.phase
        for pod in core.list_namespaced_pod(NAMESPACE, label_selector=selector).items
    }


def test_running_creates_labelled_owned_pods_and_sets_created_then_running(kube, core, custom, job):
    kube.run_pytorchjob(NAMESPACE, "sft-job")

    assert pods(core) == {"sft-job-master-0": "Running", "sft-job-worker-0": "Running", "sft-job-worker-1": "Running"}
    master = core.read_namespaced_pod("sft-job-master-0", NAMESPACE)
    assert master.metadata.labels == {
        "training.kubeflow.org/job-name": "sft-job",
        "training.kubeflow.org/operator-name": "pytorchjob-controller",
        "training.kubeflow.org/replica-type": "master",
        "training.kubeflow.org/replica-index": "0",
        "training.kubeflow.org/job-role": "master",
    }
    owner = master.metadata.owner_references[0]
    assert (owner.kind, owner.name, owner.uid, owner.controller) == (
        "PyTorchJob",
        "sft-job",
        job["metadata"]["uid"],
        True,
    )
    assert (
        "training.kubeflow.org/job-role" not in core.read_namespaced_pod("sft-job-worker-1", NAMESPACE).metadata.labels
    )
    assert master.spec.containers[0].name == "pytorch" and master.spec.restart_policy == "OnFailure"
    assert conditions(custom) == {
        "Created": ("True", "PyTorchJobCreated", "PyTorchJob sft-job is created."),
        "Running": ("True", "PyTorchJobRunning", f"PyTorchJob {NAMESPACE}/sft-job is running."),
    }
    status = custom.get_namespaced_custom_object(GROUP, VERSION, NAMESPACE, PLURAL, "sft-job")["status"]
    assert status["startTime"] and "completionTime" not in status
    assert status["replicaStatuses"]["Master"]["active"] == 1 and status["replicaStatuses"]["Worker"]["active"] == 2
    assert status["replicaStatuses"]["Worker"]["selector"].endswith("training.kubeflow.org/replica-type=worker")


def test_a_job_without_workers_has_only_its_master(kube, core, custom, job_manifest):
    custom.create_namespaced_custom_object(GROUP, VERSION, NAMESPACE, PLURAL, job_manifest("solo", workers=0))

    kube.run_pytorchjob(NAMESPACE, "solo")

    assert pods(core, f"{JOB_LABEL}=solo") == {"solo-master-0": "Running"}


def test_restarting_replaces_running_and_running_replaces_restarting(kube, core, custom, job):
    kube.run_pytorchjob(NAMESPACE, "sft-job")

    kube.restart_pytorchjob(
        NAMESPACE, "sft-job", "PyTorchJob sft-job is restarting because 1 Master replica(s) failed."
    )

    assert set(conditions(custom)) == {"Created", "Restarting"}
    assert conditions(custom)["Restarting"][1] == "PyTorchJobRestarting"
    master = core.read_namespaced_pod("sft-job-master-0", NAMESPACE)
    assert master.status.container_statuses[0].restart_count == 1
    kube.run_pytorchjob(NAMESPACE, "sft-job")
    assert set(conditions(custom)) == {"Created", "Running"}


def test_success_turns_running_false_and_completes_the_pods(kube, core, custom, job):
    kube.run_pytorchjob(NAMESPACE, "sft-job")

    kube.succeed_pytorchjob(NAMESPACE, "sft-job")

    found = conditions(custom)
    assert found["Succeeded"] == (
        "True",
        "PyTorchJobSucceeded",
        f"PyTorchJob {NAMESPACE}/sft-job successfully completed.",
    )
    assert found["Running"][0] == "False"
    assert set(pods(core).values()) == {"Succeeded"}
    terminated = core.read_namespaced_pod("sft-job-master-0", NAMESPACE).status.container_statuses[0].state.terminated
    assert (terminated.exit_code, terminated.reason) == (0, "Completed")
    status = custom.get_namespaced_custom_object(GROUP, VERSION, NAMESPACE, PLURAL, "sft-job")["status"]
    assert status["completionTime"] and status["replicaStatuses"]["Master"]["succeeded"] == 1


def test_failure_carries_the_reason_and_message_and_is_final(kube, core, custom, job):
    kube.run_pytorchjob(NAMESPACE, "sft-job")

    kube.fail_pytorchjob(NAMESPACE, "sft-job", "OOM in rank 0", reason="PyTorchJobFailed")
    kube.succeed_pytorchjob(NAMESPACE, "sft-job")  # the operator changes nothing once Failed

    found = conditions(custom)
    assert found["Failed"] == ("True", "PyTorchJobFailed", "OOM in rank 0")
    assert found["Running"][0] == "False" and "Succeeded" not in found
    assert pods(core)["sft-job-master-0"] == "Failed"


def test_driving_a_job_that_does_not_exist_is_a_lookup_error(kube):
    with pytest.raises(LookupError, match="no PyTorchJob nova/ghost"):
        kube.run_pytorchjob(NAMESPACE, "ghost")


def test_pod_logs_are_served_with_tail_lines_and_container(kube, core, job):
    kube.run_pytorchjob(NAMESPACE, "sft-job")
    kube.set_pod_log(NAMESPACE, "sft-job-master-0", "step 1\nstep 2\nstep 3\n")

    assert (
        core.read_namespaced_pod_log("sft-job-master-0", NAMESPACE, container="pytorch") == "step 1\nstep 2\nstep 3\n"
    )
    assert (
        core.read_namespaced_pod_log("sft-job-master-0", NAMESPACE, container="pytorch", tail_lines=2)
        == "step 2\nstep 3\n"
    )
    assert core.read_namespaced_pod_log("sft-job-worker-0", NAMESPACE) == ""
    with pytest.raises(kubernetes.client.ApiException) as raised:
        core.read_namespaced_pod_log("sft-job-master-0", NAMESPACE, container="sidecar")
    assert (raised.value.status, json.loads(raised.value.body)["message"]) == (
        400,
        "container sidecar is not valid for pod sft-job-master-0",
    )
    with pytest.raises(kubernetes.client.ApiException) as raised:
        core.read_namespaced_pod_log("sft-job-master-9", NAMESPACE)
    assert raised.value.status == 404


def test_deleting_a_pod_answers_the_pod(kube, core, job):
    kube.run_pytorchjob(NAMESPACE, "sft-job")

    deleted = core.delete_namespaced_pod("sft-job-worker-1", NAMESPACE)

    assert deleted.metadata.name == "sft-job-worker-1"
    assert set(pods(core)) == {"sft-job-master-0", "sft-job-worker-0"}


@pytest.mark.parametrize(("policy", "left"), [("Background", 0), ("Foreground", 0), ("Orphan", 3)])
def test_deleting_a_job_collects_its_pods_unless_orphaned(kube, core, custom, job, policy, left):
    kube.run_pytorchjob(NAMESPACE, "sft-job")

    custom.delete_namespaced_custom_object(
        GROUP, VERSION, NAMESPACE, PLURAL, "sft-job", body=V1DeleteOptions(propagation_policy=policy)
    )

    assert len(pods(core)) == left
    assert kube.get("kubeflow.org/v1", "pytorchjobs", NAMESPACE, "sft-job") is None
    assert ("DELETE", f"/apis/kubeflow.org/v1/namespaces/{NAMESPACE}/pytorchjobs/sft-job", 200) in kube.requests


def test_inspection_reads_what_the_client_wrote(kube, custom, job):
    kube.run_pytorchjob(NAMESPACE, "sft-job")

    stored = kube.get("kubeflow.org/v1", "pytorchjobs", NAMESPACE, "sft-job")

    assert stored["metadata"]["uid"] == job["metadata"]["uid"]
    assert [pod["metadata"]["name"] for pod in kube.list("v1", "pods", NAMESPACE)] == [
        "sft-job-master-0",
        "sft-job-worker-0",
        "sft-job-worker-1",
    ]
    with pytest.raises(ValueError, match="the emulator serves"):
        kube.get("v1", "secrets", NAMESPACE, "x")
