"""Start and stop the local AWS stand-in on loopback."""

from __future__ import annotations

import json
import threading
import urllib.request
from typing import Any

from airflow_provider_nova.sandbox.app import CONTROL_PREFIX, SandboxApp
from airflow_provider_nova.sandbox.bedrock import BedrockResources, BedrockStandIn
from airflow_provider_nova.sandbox.faults import FaultInjector
from airflow_provider_nova.sandbox.hub import Hub
from airflow_provider_nova.sandbox.hyperpod import HyperPodClusters
from airflow_provider_nova.sandbox.training import TrainingJobs

BANNER = "airflow-provider-nova local AWS stand-in (moto + Nova additions); a rehearsal stage, NOT AWS"


def _request_handler(verbose: bool) -> Any:
    from moto.moto_server.threaded_moto_server import MotoRequestHandler  # type: ignore[attr-defined]

    class Handler(MotoRequestHandler):  # type: ignore[misc,unused-ignore]
        def log_request(self, *args: Any, **kwargs: Any) -> None:
            if verbose:
                super().log_request(*args, **kwargs)

    return Handler


class NovaSandbox:
    """The local AWS stand-in: moto's server plus Nova recipes, job lifecycles and artifacts.

    It serves one process: moto keeps its state in module globals, so run one stand-in per process.

    :param host: address to bind; loopback by default, never a public interface.
    :param port: port to bind; 0 picks a free one (read it back from ``endpoint_url``).
    :param job_seconds: how long a job stays InProgress before it completes.
    :param bedrock_seconds: how long a Bedrock custom model, deployment or throughput stays Creating.
    :param verbose: log every request.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        job_seconds: float = 5.0,
        verbose: bool = False,
        bedrock_seconds: float = 5.0,
    ) -> None:
        self.host = host
        self.verbose = verbose
        self.port = port
        self.jobs = TrainingJobs(job_seconds=job_seconds)
        self.hub = Hub()
        self.clusters = HyperPodClusters()
        self.bedrock = BedrockResources(ready_seconds=bedrock_seconds)
        self.faults: FaultInjector | None = None  # built with the app
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"NovaSandbox(endpoint_url={self.endpoint_url!r})"

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def build_app(self) -> FaultInjector:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

        app = SandboxApp(DomainDispatcherApplication(create_backend_app), self.jobs, self.hub, self.clusters)
        self.hub.seed_all()
        bedrock = BedrockStandIn(app, self.bedrock)
        self.faults = FaultInjector(bedrock, bedrock.operation_of, app.count)
        return self.faults

    def start(self) -> NovaSandbox:
        """Start serving in a daemon thread; returns self once the port is bound."""
        from werkzeug.serving import make_server

        handler = _request_handler(self.verbose)
        self._server = make_server(self.host, self.port, self.build_app(), threaded=True, request_handler=handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="nova-sandbox", daemon=True)
        self._thread.start()
        return self

    def wait(self) -> None:
        """Block until the server stops (or the process is interrupted)."""
        if self._thread is not None:
            self._thread.join()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> NovaSandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class SandboxControl:
    """Client of a running stand-in's control API (works across processes)."""

    def __init__(self, endpoint_url: str, region: str = "us-east-1") -> None:
        self.endpoint_url = endpoint_url.rstrip("/")
        self.region = region

    def _post(self, route: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        payload = json.dumps({"region": self.region, **(body or {})}).encode()
        url = self.endpoint_url + CONTROL_PREFIX + route
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"the stand-in's endpoint must be an http(s) URL, got {self.endpoint_url!r}")
        request = urllib.request.Request(url, data=payload, method="POST")  # noqa: S310 - scheme checked above
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - scheme checked above
            result: dict[str, Any] = json.loads(response.read())
        return result

    def health(self) -> dict[str, Any]:
        return self._post("health")

    def reset(self) -> None:
        """Forget every bucket, role, log and job: a fresh account."""
        self._post("reset")

    def reset_account(
        self, objects: dict[str, str], role_name: str, trust_policy: str, role_path: str = "/service-role/"
    ) -> dict[str, Any]:
        """Reset, then in the same call write ``objects`` (``{"s3://bucket/key": text}``) and create ``role_name``.

        Returns ``{"role_arn": ..., "credentials": {AWS_ACCESS_KEY_ID, ...}}``: a session of the role, as
        ``sts:AssumeRole`` gives one, ready to put into the environment.
        """
        account = {
            "objects": objects,
            "role_name": role_name,
            "role_path": role_path,
            "trust_policy": trust_policy,
            "session_name": "nova-rehearsal",
        }
        return self._post("reset", {"account": account})

    def set_job_seconds(self, seconds: float) -> None:
        """How long new jobs stay InProgress (back to the start value on reset)."""
        self._post("config", {"job_seconds": seconds})

    def complete_job(self, name: str) -> str:
        return str(self._post(f"training-jobs/{name}/complete")["TrainingJobStatus"])

    def fail_job(self, name: str, reason: str | None = None) -> str:
        return str(self._post(f"training-jobs/{name}/fail", {"reason": reason})["TrainingJobStatus"])

    def calls(self) -> dict[str, int]:
        """How many training-job calls the stand-in answered since the last reset, by operation.

        ``CreateTrainingJob``, ``DescribeTrainingJob``, ``ListTrainingJobs`` and ``StopTrainingJob``
        count answered calls (a create counts only when it created the job); a call answered with an
        error, an injected one included, counts under ``"<operation>.failed"``. A call whose connection an
        injected ``drop`` closed is not counted; a ``lost_response`` one is (it was performed).
        Operations never called are absent.
        """
        return {str(k): int(v) for k, v in self._post("calls")["calls"].items()}

    def fail_next(self, operation: str, code: str, count: int = 1, status: int = 400) -> None:
        """Answer the next ``count`` calls of ``operation`` with error ``code`` and HTTP ``status``.

        For testing how callers ride out throttling (``ThrottlingException``) or a 5xx; forgotten on reset.
        """
        self.inject(operation, "error", count=count, code=code, status=status)

    def inject(
        self,
        operation: str,
        kind: str,
        *,
        count: int | None = None,
        seconds: float | None = None,
        delay: float | None = None,
        code: str | None = None,
        status: int | None = None,
    ) -> int:
        """Inject a fault into the next ``count`` calls of ``operation``, or into all of them for ``seconds``.

        ``kind`` is ``throttle``, ``server_error``, ``slow`` (needs ``delay``), ``drop``, ``lost_response``
        or ``error`` (needs ``code``, ``status``); see ``sandbox/faults.py``. Without ``count`` or
        ``seconds``, one call. Several faults of one operation apply in the order injected. Forgotten
        on reset and on ``clear_faults``. Returns how many faults of ``operation`` are pending.
        """
        body = {"operation": operation, "kind": kind, "count": count, "seconds": seconds, "delay": delay}
        body.update(code=code, status=status)
        return int(self._post("faults", {k: v for k, v in body.items() if v is not None})["pending"])

    def throttle(self, operation: str, count: int | None = None, seconds: float | None = None) -> int:
        """Refuse calls of ``operation`` with the service's throttling error (``ThrottlingException``, ``SlowDown``)."""
        return self.inject(operation, "throttle", count=count, seconds=seconds)

    def server_error(self, operation: str, count: int | None = None, seconds: float | None = None) -> int:
        """Refuse calls of ``operation`` with the service's HTTP 500 (``InternalFailure``, ...)."""
        return self.inject(operation, "server_error", count=count, seconds=seconds)

    def slow(self, operation: str, delay: float, count: int | None = None, seconds: float | None = None) -> int:
        """Answer calls of ``operation`` ``delay`` seconds late."""
        return self.inject(operation, "slow", count=count, seconds=seconds, delay=delay)

    def drop(self, operation: str, count: int | None = None, seconds: float | None = None) -> int:
        """Close the connection of calls of ``operation`` without performing them or answering."""
        return self.inject(operation, "drop", count=count, seconds=seconds)

    def lose_response(self, operation: str, count: int | None = None, seconds: float | None = None) -> int:
        """Perform calls of ``operation``, then close the connection before the answer is sent."""
        return self.inject(operation, "lost_response", count=count, seconds=seconds)

    def clear_faults(self) -> None:
        """Forget every pending fault."""
        self._post("faults/clear")

    def set_cluster_node_status(
        self, cluster_name: str, instance_group_name: str, status: str, count: int | None = None, message: str = ""
    ) -> list[str]:
        """Give ``count`` nodes (all when None) of a HyperPod cluster's instance group ``status``.

        ``status`` is a ``ClusterInstanceStatus`` (``Running``, ``Failure``, ``Pending``, ...); the first
        ``count`` nodes in the group's listing order change, and ``ListClusterNodes`` shows them with
        ``InstanceStatus {Status: status, Message: message}``. Returns the instance ids changed.
        """
        body = {"cluster_name": cluster_name, "instance_group_name": instance_group_name, "status": status}
        answer = self._post("hyperpod/node-status", {**body, "count": count, "message": message})
        return [str(i) for i in answer["instance_ids"]]

    def set_eks_endpoint(self, cluster_name: str, endpoint: str, ca_data: str, region: str = "us-east-1") -> None:
        """Make EKS ``DescribeCluster`` of ``cluster_name`` answer ``endpoint`` and ``certificateAuthority.data``.

        For pointing an EKS cluster at a loopback Kubernetes API emulator; ``ca_data`` is the base64 of
        the PEM certificate, as EKS gives it. Forgotten on reset with the cluster.
        """
        self._post(
            "eks/endpoint", {"cluster_name": cluster_name, "endpoint": endpoint, "ca_data": ca_data, "region": region}
        )

    def bedrock_ready(self, arn: str) -> str:
        """Make a Bedrock custom model, deployment or throughput reach its final state now."""
        return str(self._post("bedrock/ready", {"arn": arn})["status"])

    def bedrock_fail(self, arn: str, reason: str | None = None) -> str:
        """Make a Bedrock custom model, deployment or throughput that is still Creating fail."""
        return str(self._post("bedrock/fail", {"arn": arn, "reason": reason})["status"])

    def set_bedrock_seconds(self, seconds: float) -> None:
        """How long Bedrock resources stay Creating (back to the start value on reset)."""
        self._post("bedrock/config", {"ready_seconds": seconds})
