"""The stand-in's WSGI application: moto's server with the Nova pieces moto lacks in front.

SageMaker JSON calls the app names in ``sagemaker`` are answered here; everything else goes to moto
unchanged. ``/_sandbox/...`` is the control API tests and demos use to steer job outcomes, read how
many training-job calls were answered, take HyperPod nodes out of ``Running``, and point an EKS
cluster at a loopback Kubernetes API emulator (faults are injected in front of it all: ``faults.py``).
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections import Counter
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from airflow_provider_nova.sandbox import moto_state
from airflow_provider_nova.sandbox.errors import ServiceError, json_body, validation
from airflow_provider_nova.sandbox.hub import Hub
from airflow_provider_nova.sandbox.hyperpod import HyperPodClusters
from airflow_provider_nova.sandbox.training import TrainingJobs

_REGION = re.compile(r"Credential=[^/]+/\d{8}/([a-z0-9-]+)/")
CONTROL_PREFIX = "/_sandbox/"
# The calls counted: each answered one under its name, each refused one under "<name>.failed".
COUNTED = ("CreateTrainingJob", "DescribeTrainingJob", "ListTrainingJobs", "StopTrainingJob")


def request_region(environ: dict[str, Any]) -> str:
    """The region a SigV4-signed request was signed for (``us-east-1`` when unsigned)."""
    match = _REGION.search(environ.get("HTTP_AUTHORIZATION", ""))
    return match.group(1) if match else "us-east-1"


class SandboxApp:
    """Routes requests between the Nova additions and moto."""

    def __init__(self, moto_app: Callable[..., Any], jobs: TrainingJobs, hub: Hub, clusters: HyperPodClusters) -> None:
        self.moto_app = moto_app
        self.jobs = jobs
        self.hub = hub
        self.clusters = clusters
        self.sagemaker: dict[str, Callable[[str, dict[str, Any]], dict[str, Any]]] = {
            "DescribeHubContent": hub.describe_hub_content,
            "CreateTrainingJob": jobs.create,
            "DescribeTrainingJob": lambda region, req: jobs.describe(region, req.get("TrainingJobName", "")),
            "StopTrainingJob": lambda region, req: jobs.stop(region, req.get("TrainingJobName", "")),
            "ListTrainingJobs": jobs.list_jobs,
            "CreateCluster": clusters.create,
            "DescribeCluster": clusters.describe,
            "DeleteCluster": clusters.delete,
            "ListClusters": clusters.list_clusters,
            "ListClusterNodes": clusters.list_nodes,
            "DescribeClusterNode": clusters.describe_node,
        }
        self._lock = threading.Lock()
        self.calls: Counter[str] = Counter()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        self.jobs.advance_all()  # a finished job's outputs exist before any read that follows
        path = environ.get("PATH_INFO", "")
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if path.startswith(CONTROL_PREFIX):
            return self._respond(start_response, lambda: self._control(environ, path[len(CONTROL_PREFIX) :]))
        service, _, operation = target.partition(".")
        if service == "SageMaker" and operation in self.sagemaker:
            handler = self.sagemaker[operation]
            region = request_region(environ)
            return self._respond(start_response, lambda: self._answer(operation, handler, region, environ))
        return self.moto_app(environ, start_response)

    def _answer(
        self,
        operation: str,
        handler: Callable[[str, dict[str, Any]], dict[str, Any]],
        region: str,
        environ: dict[str, Any],
    ) -> dict[str, Any]:
        """Answer one SageMaker call, counting it when it is a training-job call."""
        try:
            answer = handler(region, json_body(environ))
        except ServiceError:
            self.count(f"{operation}.failed")
            raise
        self.count(operation)
        return answer

    def count(self, name: str) -> None:
        """Count a training-job call under ``name`` (``CreateTrainingJob``, ``CreateTrainingJob.failed``, ...)."""
        if name.split(".")[0] in COUNTED:
            with self._lock:
                self.calls[name] += 1

    def _control(self, environ: dict[str, Any], route: str) -> dict[str, Any]:
        body = json_body(environ)
        region = body.get("region", "us-east-1")
        parts = route.strip("/").split("/")
        if parts == ["health"]:
            return {"status": "ok", "service": "airflow-provider-nova local AWS stand-in (not AWS)"}
        if parts == ["reset"]:
            moto_state.reset()
            self.jobs.reset()
            self.clusters.reset()
            with self._lock:
                self.calls.clear()
            self.hub.reset()
            seeded = seed_account(body["account"], region) if isinstance(body.get("account"), dict) else {}
            return {"reset": True, **seeded}
        if parts == ["config"]:
            if "job_seconds" in body:
                self.jobs.job_seconds = float(body["job_seconds"])
            return {"job_seconds": self.jobs.job_seconds}
        if parts == ["calls"]:
            with self._lock:
                return {"calls": dict(self.calls)}
        if parts == ["hyperpod", "node-status"]:
            return self._node_status(region, body)
        if parts == ["eks", "endpoint"]:
            return _eks_endpoint(region, body)
        if len(parts) == 3 and parts[0] == "training-jobs" and parts[2] in ("complete", "fail"):
            outcome = "Completed" if parts[2] == "complete" else "Failed"
            return self.jobs.force(region, parts[1], outcome, body.get("reason"))
        raise ServiceError("NotFound", f"unknown control route {route!r}", 404)

    def _node_status(self, region: str, body: dict[str, Any]) -> dict[str, Any]:
        count = body.get("count")
        if count is not None and (isinstance(count, bool) or not isinstance(count, int)):
            raise validation(f"count must be a whole number or null, got {count!r}")
        changed = self.clusters.set_node_status(
            region,
            str(body.get("cluster_name", "")),
            str(body.get("instance_group_name", "")),
            str(body.get("status", "")),
            count,
            str(body.get("message", "")),
        )
        return {"instance_ids": changed}

    def _respond(self, start_response: Callable[..., Any], call: Callable[[], dict[str, Any]]) -> list[bytes]:
        try:
            status, payload = "200 OK", call()
        except ServiceError as err:
            status = f"{err.status} {HTTPStatus(err.status).phrase}"
            payload = {"__type": err.code, "message": err.message}
        body = json.dumps(payload).encode()
        start_response(status, [("Content-Type", "application/x-amz-json-1.1"), ("Content-Length", str(len(body)))])
        return [body]


def seed_account(account: dict[str, Any], region: str) -> dict[str, Any]:
    """Fill a fresh account in-process: objects (``{"s3://bucket/key": text}``) and a role the caller runs as.

    ``{"objects": ..., "role_name": ..., "trust_policy": ...}``; returns the role's ARN and, as
    environment variables, credentials of an assumed session of it (what ``sts:AssumeRole`` gives).
    """
    objects = account.get("objects") or {}
    if not isinstance(objects, dict):
        raise validation("account objects must map s3:// URIs to text")
    for uri, text in objects.items():
        bucket, _, key = str(uri).removeprefix("s3://").partition("/")
        if not str(uri).startswith("s3://") or not bucket or not key or not isinstance(text, str):
            raise validation(f"account object {uri!r} must be s3://bucket/key with text")
        moto_state.ensure_bucket(bucket, region)
        moto_state.put_object(bucket, key, text.encode())
    role_name = account.get("role_name")
    if not role_name:
        return {}
    path, trust = str(account.get("role_path", "/")), str(account.get("trust_policy", ""))
    role_arn = moto_state.create_role(str(role_name), path, trust)
    credentials = moto_state.assume_role(role_arn, str(account.get("session_name", "sandbox")), region)
    return {"role_arn": role_arn, "credentials": credentials}


def _eks_endpoint(region: str, body: dict[str, Any]) -> dict[str, Any]:
    """Point EKS ``DescribeCluster`` of a cluster at ``endpoint`` with CA ``ca_data`` (base64 of the PEM)."""
    name, endpoint, ca_data = (str(body.get(k, "")) for k in ("cluster_name", "endpoint", "ca_data"))
    if not endpoint.startswith(("https://", "http://")):
        raise validation(f"endpoint must be an http(s) URL, got {endpoint!r}")
    try:
        pem = base64.b64decode(ca_data, validate=True)
    except ValueError:
        pem = b""
    if not pem.startswith(b"-----BEGIN CERTIFICATE-----"):
        raise validation("ca_data must be the base64 of a PEM certificate, as EKS gives certificateAuthority.data")
    try:
        moto_state.set_eks_endpoint(region, name, endpoint, ca_data)
    except KeyError:
        raise ServiceError("ResourceNotFoundException", f"No cluster found for name: {name}.", 404) from None
    return {"cluster_name": name, "endpoint": endpoint}
