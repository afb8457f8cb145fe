"""A loopback Kubernetes API emulator standing in for a HyperPod cluster's EKS API server.

It is an emulator, not a cluster: kmock's in-memory object store behind TLS on 127.0.0.1 (see
``kube_api``), serving namespaces, ConfigMaps, pods (with logs) and Kubeflow PyTorchJobs as
kube-apiserver answers for them, and nothing runs. A test plays the Kubeflow training operator by
calling ``run_pytorchjob``/``succeed_pytorchjob``/... (see ``kube_operator``). Clients authenticate
with EKS bearer tokens (see ``kube_auth``: format and age are checked, signatures are not) and
verify the server with ``ca_data``, exactly as they would with EKS's DescribeCluster answer.

Usage::

    with KubeEmulator("nova-eks").start() as kube:
        kube.add_namespace("nova")
        configuration.host, ca = kube.url, base64.b64decode(kube.ca_data)
"""

from __future__ import annotations

import asyncio
import base64
import copy
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from types import TracebackType
from typing import Any, TypeVar

from airflow_provider_nova.sandbox import kube_operator as operator
from airflow_provider_nova.sandbox.kube_api import KINDS, NAMESPACES, PODS, PYTORCHJOBS, Fault, Kind, KubeApi
from airflow_provider_nova.sandbox.kube_auth import TlsMaterial, make_tls_material

Obj = dict[str, Any]
T = TypeVar("T")
_KINDS = {(kind.api_version, kind.plural): kind for kind in (NAMESPACES, *KINDS.values())}


class KubeEmulator:
    """A Kubernetes API emulator on a free loopback port, run in a background thread.

    :param cluster_name: the EKS cluster it stands in for (``cluster_description`` reports it; the
        emulator cannot check tokens against it, because EKS signs the name in a header).
    :param region: the region ``cluster_description`` puts in the cluster ARN.
    :param clock: epoch seconds; dates objects and judges token age (15 minutes from X-Amz-Date).
    :param tls: serve HTTPS with a throwaway CA (``ca_data``); plain HTTP when false.
    """

    def __init__(
        self, cluster_name: str, *, region: str = "us-east-1", clock: Callable[[], float] = time.time, tls: bool = True
    ) -> None:
        self.cluster_name = cluster_name
        self.region = region
        self.port = 0
        self._tls: TlsMaterial | None = make_tls_material() if tls else None
        self._api = KubeApi(clock=clock)
        self._api.add_namespace("default")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: Any = None

    def __repr__(self) -> str:
        return f"KubeEmulator(cluster_name={self.cluster_name!r}, url={self.url!r})"

    @property
    def url(self) -> str:
        """The API server's base URL, ``https://127.0.0.1:<port>``."""
        return f"{'https' if self._tls else 'http'}://127.0.0.1:{self.port}"

    @property
    def ca_data(self) -> str:
        """Base64 of the PEM CA that signed the server certificate (EKS's certificateAuthority.data)."""
        return base64.b64encode(self._tls.ca_pem).decode() if self._tls else ""

    @property
    def requests(self) -> list[tuple[str, str, int]]:
        """Every request answered so far, as ``(method, path, status)``."""
        return list(self._api.seen)

    # ---- lifecycle ------------------------------------------------------------------------------
    def start(self) -> KubeEmulator:
        """Start serving in a daemon thread with its own event loop; returns once the port is bound."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self._loop = asyncio.new_event_loop()
        ready = threading.Event()
        args = (self._loop, sock, ready)
        self._thread = threading.Thread(target=self._serve, args=args, name="kube-emulator", daemon=True)
        self._thread.start()
        if not ready.wait(timeout=10):
            raise RuntimeError("the Kubernetes API emulator did not start within 10 seconds")
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
        self._loop = self._thread = None

    def __enter__(self) -> KubeEmulator:
        return self if self._thread is not None else self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _serve(self, loop: asyncio.AbstractEventLoop, sock: socket.socket, ready: threading.Event) -> None:
        import aiohttp.web

        asyncio.set_event_loop(loop)

        async def up() -> None:
            await self._api.__aenter__()
            self._runner = aiohttp.web.ServerRunner(aiohttp.web.Server(self._api), handle_signals=False)
            await self._runner.setup()
            context = self._tls.server_context() if self._tls else None
            await aiohttp.web.SockSite(self._runner, sock, ssl_context=context).start()

        async def down() -> None:
            await self._runner.cleanup()
            await self._api.__aexit__(None, None, None)

        loop.run_until_complete(up())
        ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(down())
            loop.close()

    def _call(self, work: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """Run ``work`` on the server's loop, where all emulator state lives, and wait for it."""
        if self._loop is not None:
            return asyncio.run_coroutine_threadsafe(work(), self._loop).result(timeout=10)
        coroutine = work()  # not serving: no other thread touches the state; reads never wait
        try:
            coroutine.send(None)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        coroutine.close()
        raise RuntimeError("start the Kubernetes API emulator before driving jobs")

    # ---- setting up and inspecting ----------------------------------------------------------------
    def add_namespace(self, name: str) -> None:
        """Create namespace ``name`` (``default`` exists from the start)."""

        async def work() -> None:
            self._api.add_namespace(name)

        self._call(work)

    def deny(self, verb: str, resource: str, namespace: str | None = None) -> None:
        """Forbid ``verb`` (or ``*``) on ``resource`` (a plural, or ``pods/log``) as RBAC would: 403s
        and ``allowed: false`` from SelfSubjectAccessReview, in ``namespace`` or everywhere."""

        async def work() -> None:
            self._api.denied.add((verb, resource, namespace))

        self._call(work)

    def fail_next(self, method: str, plural: str, status: int, count: int = 1) -> None:
        """Answer the next ``count`` ``method`` requests on ``plural`` (e.g. ``GET``, ``pytorchjobs``) with
        error ``status`` (a 404 hides an object that exists), without performing them."""
        self._fault(Fault(method.upper(), plural, status, count))

    def lose_response(self, method: str, plural: str, count: int = 1) -> None:
        """Perform the next ``count`` ``method`` requests on ``plural``, then close their connection
        before the answer is sent (the client sees no answer; the object was created)."""
        self._fault(Fault(method.upper(), plural, None, count))

    def _fault(self, fault: Fault) -> None:
        if fault.count < 1:
            raise ValueError(f"count must be at least 1, got {fault.count}")

        async def work() -> None:
            self._api.faults.append(fault)

        self._call(work)

    def get(self, api_version: str, kind_plural: str, namespace: str | None, name: str) -> Obj | None:
        """Return a copy of the stored object, or ``None``; ``namespace`` is ignored for namespaces."""
        kind = _kind(api_version, kind_plural)

        async def work() -> Obj | None:
            found = self._api.live(kind, namespace if kind.namespaced else None, name)
            return copy.deepcopy(found)

        return self._call(work)

    def list(self, api_version: str, kind_plural: str, namespace: str | None) -> list[Obj]:
        """Return copies of the stored objects of a kind in ``namespace`` (all when ``None``)."""
        kind = _kind(api_version, kind_plural)

        async def work() -> list[Obj]:
            return copy.deepcopy(self._api.live_items(kind, namespace if kind.namespaced else None))

        return self._call(work)

    def set_pod_log(self, namespace: str, pod: str, text: str, container: str = "pytorch") -> None:
        """Serve ``text`` as the log of ``container`` in ``pod`` (GET .../pods/<pod>/log)."""

        async def work() -> None:
            self._api.logs[namespace, pod, container] = text

        self._call(work)

    def cluster_description(self, account_id: str = "123456789012") -> Obj:
        """Return the ``cluster`` of an EKS DescribeCluster answer pointing at this emulator."""
        return {
            "name": self.cluster_name,
            "arn": f"arn:aws:eks:{self.region}:{account_id}:cluster/{self.cluster_name}",
            "endpoint": self.url,
            "certificateAuthority": {"data": self.ca_data},
            "status": "ACTIVE",
        }

    # ---- playing the training operator -------------------------------------------------------------
    def run_pytorchjob(self, namespace: str, name: str) -> None:
        """Create the job's pods (Running) and set Created and Running, replicaStatuses, startTime."""

        async def change(job: Obj, now: str) -> None:
            await self._set_pods(job, "Running", now)
            message = f"PyTorchJob {namespace}/{name} is running."
            operator.set_condition(job["status"], "Running", "PyTorchJobRunning", message, now)
            job["status"]["replicaStatuses"] = operator.replica_statuses(job, "active")

        self._drive(namespace, name, change)

    def restart_pytorchjob(self, namespace: str, name: str, message: str) -> None:
        """Set Restarting (it replaces Running) and count a restart of the master's containers."""

        async def change(job: Obj, now: str) -> None:
            await self._set_pods(job, "Running", now, restarted=True)
            operator.set_condition(job["status"], "Restarting", "PyTorchJobRestarting", message, now)

        self._drive(namespace, name, change)

    def succeed_pytorchjob(self, namespace: str, name: str) -> None:
        """Set Succeeded (Running turns False), completionTime, and the pods Succeeded."""

        async def change(job: Obj, now: str) -> None:
            await self._set_pods(job, "Succeeded", now)
            message = f"PyTorchJob {namespace}/{name} successfully completed."
            operator.set_condition(job["status"], "Succeeded", "PyTorchJobSucceeded", message, now)
            job["status"].update(completionTime=now, replicaStatuses=operator.replica_statuses(job, "succeeded"))

        self._drive(namespace, name, change)

    def fail_pytorchjob(self, namespace: str, name: str, message: str, reason: str = "PyTorchJobFailed") -> None:
        """Set Failed with ``reason`` and ``message`` (Running turns False), completionTime, pods Failed."""

        async def change(job: Obj, now: str) -> None:
            await self._set_pods(job, "Failed", now)
            operator.set_condition(job["status"], "Failed", reason, message, now)
            job["status"].update(completionTime=now, replicaStatuses=operator.replica_statuses(job, "failed"))

        self._drive(namespace, name, change)

    def _drive(self, namespace: str, name: str, change: Callable[[Obj, str], Awaitable[None]]) -> None:
        async def work() -> None:
            job = copy.deepcopy(self._api.live(PYTORCHJOBS, namespace, name))
            if job is None:
                raise LookupError(f"no PyTorchJob {namespace}/{name} in the Kubernetes API emulator")
            status, now = job.setdefault("status", {}), self._api.timestamp()
            found = {condition["type"]: condition["status"] for condition in status.get("conditions", [])}
            if found.get("Failed") == "True":
                return  # the operator leaves a failed job and its pods alone
            if "Created" not in found:
                operator.set_condition(status, "Created", "PyTorchJobCreated", f"PyTorchJob {name} is created.", now)
                status.setdefault("startTime", now)
            await change(job, now)
            await self._api.store(PYTORCHJOBS, job)

        self._call(work)

    async def _set_pods(self, job: Obj, phase: str, now: str, restarted: bool = False) -> None:
        """Create the job's missing pods, then put every one of them in ``phase``."""
        for fresh in operator.replica_pods(job):
            meta = fresh["metadata"]
            pod = copy.deepcopy(self._api.live(PODS, meta["namespace"], meta["name"]))
            if pod is None:
                pod = fresh
                self._api.stamp_new(meta)
            if restarted and meta["labels"].get(operator.LABEL_JOB_ROLE) == "master":
                for container in pod.get("status", {}).get("containerStatuses", []):
                    container["restartCount"] = container.get("restartCount", 0) + 1
            operator.set_pod_phase(pod, phase, now, exit_code=0 if phase != "Failed" else 1)
            await self._api.store(PODS, pod)


def _kind(api_version: str, plural: str) -> Kind:
    try:
        return _KINDS[api_version, plural]
    except KeyError:
        served = ", ".join(f"{version} {name}" for version, name in sorted(_KINDS))
        raise ValueError(f"the emulator serves {served}; not {api_version} {plural}") from None
