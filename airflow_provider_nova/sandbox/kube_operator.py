"""What the Kubeflow training operator does to a PyTorchJob, as pure functions over API objects.

The Kubernetes API emulator applies these when a test drives a job. They follow the operator
(kubeflow/training-operator, v1 API): pods ``<job>-<replica type>-<index>`` labelled with the job
name, replica type and index and the operator's name (the master also ``job-role: master``) and
owned by the job; job conditions set as its ``setCondition`` does (Running and Restarting replace
each other, Succeeded and Failed turn Running False, nothing changes once Failed).
"""

from __future__ import annotations

import copy
import hashlib
from typing import Any

OPERATOR_NAME = "pytorchjob-controller"
LABEL_JOB_NAME = "training.kubeflow.org/job-name"
LABEL_OPERATOR = "training.kubeflow.org/operator-name"
LABEL_REPLICA_TYPE = "training.kubeflow.org/replica-type"
LABEL_REPLICA_INDEX = "training.kubeflow.org/replica-index"
LABEL_JOB_ROLE = "training.kubeflow.org/job-role"

Obj = dict[str, Any]


def replica_counts(job: Obj) -> dict[str, int]:
    """Return ``{replica type: replicas}`` from ``spec.pytorchReplicaSpecs``, Master first."""
    specs = job.get("spec", {}).get("pytorchReplicaSpecs", {})
    ordered = sorted(specs, key=lambda rtype: (rtype != "Master", rtype))
    return {rtype: int(specs[rtype].get("replicas", 1)) for rtype in ordered}


def selector(job_name: str, rtype: str) -> str:
    """Return the label selector the operator reports for one replica type (keys sorted)."""
    labels = {LABEL_JOB_NAME: job_name, LABEL_OPERATOR: OPERATOR_NAME, LABEL_REPLICA_TYPE: rtype.lower()}
    return ",".join(f"{key}={value}" for key, value in sorted(labels.items()))


def replica_pods(job: Obj) -> list[Obj]:
    """Return the pods the operator creates for ``job`` (no uid or timestamps yet), master first."""
    meta = job["metadata"]
    specs = job.get("spec", {}).get("pytorchReplicaSpecs", {})
    owner = {
        "apiVersion": job["apiVersion"],
        "kind": job["kind"],
        "name": meta["name"],
        "uid": meta["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }
    pods = []
    for rtype, count in replica_counts(job).items():
        template = specs[rtype].get("template", {})
        for index in range(count):
            labels = dict(template.get("metadata", {}).get("labels", {}))
            labels.update(
                {
                    LABEL_JOB_NAME: meta["name"],
                    LABEL_OPERATOR: OPERATOR_NAME,
                    LABEL_REPLICA_TYPE: rtype.lower(),
                    LABEL_REPLICA_INDEX: str(index),
                }
            )
            if rtype == "Master":
                labels[LABEL_JOB_ROLE] = "master"
            spec = copy.deepcopy(template.get("spec", {}))
            policy = specs[rtype].get("restartPolicy", "Never")
            spec["restartPolicy"] = "Never" if policy == "ExitCode" else policy
            pod_meta = {"name": f"{meta['name']}-{rtype.lower()}-{index}", "namespace": meta["namespace"]}
            pod_meta.update(labels=labels, ownerReferences=[owner])
            if template.get("metadata", {}).get("annotations"):
                pod_meta["annotations"] = dict(template["metadata"]["annotations"])
            pods.append({"apiVersion": "v1", "kind": "Pod", "metadata": pod_meta, "spec": spec, "status": {}})
    return pods


def set_pod_phase(pod: Obj, phase: str, now: str, exit_code: int = 0) -> None:
    """Put ``pod`` in ``phase`` (Running, Succeeded or Failed) with matching container statuses."""
    status = pod.setdefault("status", {})
    started = status.get("startTime", now)
    status.update(phase=phase, startTime=started)
    restarts = {c["name"]: c.get("restartCount", 0) for c in status.get("containerStatuses", [])}
    containers = []
    for container in pod.get("spec", {}).get("containers", []):
        name = container.get("name", "")
        if phase == "Running":
            state: Obj = {"running": {"startedAt": started}}
        else:
            reason = "Completed" if exit_code == 0 else "Error"
            state = {"terminated": {"exitCode": exit_code, "reason": reason, "startedAt": started, "finishedAt": now}}
        containers.append(
            {
                "name": name,
                "image": container.get("image", ""),
                "imageID": _image_id(container.get("image", "")),
                "ready": phase == "Running",
                "started": phase == "Running",
                "restartCount": restarts.get(name, 0),
                "state": state,
            }
        )
    status["containerStatuses"] = containers
    ready = "True" if phase == "Running" else "False"
    status["conditions"] = [{"type": "Ready", "status": ready, "lastTransitionTime": now}]


def set_condition(status: Obj, ctype: str, reason: str, message: str, now: str, value: str = "True") -> None:
    """Add a job condition as the operator's ``setCondition`` does."""
    conditions: list[Obj] = status.setdefault("conditions", [])
    if any(c["type"] == "Failed" and c["status"] == "True" for c in conditions):
        return
    current = next((c for c in conditions if c["type"] == ctype), None)
    if current is not None and current["status"] == value and current.get("reason") == reason:
        return
    transition = current["lastTransitionTime"] if current is not None and current["status"] == value else now
    kept = []
    for condition in conditions:
        if condition["type"] == ctype or {condition["type"], ctype} == {"Running", "Restarting"}:
            continue
        if ctype in ("Succeeded", "Failed") and condition["type"] == "Running":
            condition = {**condition, "status": "False"}
        kept.append(condition)
    condition = {"type": ctype, "status": value, "reason": reason, "message": message}
    kept.append({**condition, "lastUpdateTime": now, "lastTransitionTime": transition})
    status["conditions"] = kept


def replica_statuses(job: Obj, field: str) -> Obj:
    """Return ``status.replicaStatuses`` with every replica counted under ``field`` (active, ...)."""
    name = job["metadata"]["name"]
    return {rtype: {field: count, "selector": selector(name, rtype)} for rtype, count in replica_counts(job).items()}


def _image_id(image: str) -> str:
    """Return a digest-pinned image id, as the kubelet reports once it has pulled ``image``."""
    return f"{image.split(':')[0]}@sha256:{hashlib.sha256(image.encode()).hexdigest()}"
