"""The few Kubernetes API calls a Nova HyperPod job needs, through the official ``kubernetes`` client.

No kubeconfig file is needed: ``KubeApi.for_eks`` builds the client from the EKS endpoint, its CA and
a token made from the AWS credentials, and makes a new token before the old one expires. A kubeconfig
(``KubeApi.from_kubeconfig``) or a ready ``ApiClient`` (an Airflow Kubernetes connection's) may be
given instead. The ``kubernetes`` package is imported only here, when a HyperPod job is touched.
"""

from __future__ import annotations

import base64
import hashlib
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_provider_nova.core.errors import ConfigurationError, KubernetesCallError
from airflow_provider_nova.core.hyperpod.eks import eks_token

if TYPE_CHECKING:
    from airflow_provider_nova.core.aws import AwsClients
    from airflow_provider_nova.core.hyperpod.eks import EksEndpoint

PYTORCH_GROUP, PYTORCH_VERSION, PYTORCH_PLURAL = "kubeflow.org", "v1", "pytorchjobs"
REQUEST_TIMEOUT = (10, 60)  # connect, read seconds
_CA_LOCK = threading.Lock()


def _kubernetes() -> Any:
    try:
        import kubernetes
    except ImportError as exc:  # pragma: no cover - the hyperpod extra is installed in tests
        raise ConfigurationError(
            "HyperPod jobs need the kubernetes client: pip install 'airflow-provider-nova[hyperpod]'"
        ) from exc
    return kubernetes


def _ca_file(ca_data: str) -> str:
    """A file holding the PEM CA bundle (EKS gives it base64-encoded), one per bundle and process."""
    try:
        pem = base64.b64decode(ca_data, validate=True)
    except ValueError as exc:
        raise ConfigurationError("the EKS cluster's certificateAuthority.data is not base64") from exc
    path = Path(tempfile.gettempdir()) / f"nova-eks-ca-{hashlib.sha256(pem).hexdigest()[:16]}.pem"
    with _CA_LOCK:
        if not path.exists():
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(pem)
            tmp.replace(path)
    return str(path)


@contextmanager
def kube_errors(operation: str) -> Iterator[None]:
    """Translate the client's errors into ``KubernetesCallError`` (status 0 when no answer came)."""
    kubernetes = _kubernetes()
    from urllib3.exceptions import HTTPError

    try:
        yield
    except kubernetes.client.ApiException as exc:
        raise KubernetesCallError(operation, int(exc.status or 0), str(exc.reason or ""), _message(exc)) from exc
    # no answer: urllib3 gives up with MaxRetryError (an HTTPError); socket and TLS errors are OSErrors
    except (HTTPError, OSError, ValueError) as exc:
        if isinstance(exc, KubernetesCallError):
            raise
        raise KubernetesCallError(operation, 0, type(exc).__name__, str(exc)) from exc


def _message(exc: Any) -> str:
    """The ``message`` of the Status object Kubernetes answers errors with, else the body."""
    import json

    try:
        body = json.loads(exc.body or "{}")
    except ValueError:
        return str(exc.body or "")[:500]
    return str(body.get("message") or "") if isinstance(body, dict) else str(body)[:500]


def _unless_missing(operation: str, call: Callable[[], Any]) -> Any:
    """``call()``'s answer, or None when Kubernetes answers 404 Not Found."""
    try:
        with kube_errors(operation):
            return call()
    except KubernetesCallError as exc:
        if exc.status == 404:
            return None
        raise


class KubeApi:
    """ConfigMaps, PyTorchJobs and pod logs in one cluster."""

    def __init__(self, api_client: Any) -> None:
        kubernetes = _kubernetes()
        self.api_client = api_client
        self.core = kubernetes.client.CoreV1Api(api_client)
        self.custom = kubernetes.client.CustomObjectsApi(api_client)

    @classmethod
    def for_eks(cls, clients: AwsClients, endpoint: EksEndpoint, clock: Callable[[], float] = time.time) -> KubeApi:
        """A client for an EKS cluster's API, authenticated with a token from ``clients``' credentials."""
        kubernetes = _kubernetes()
        config = kubernetes.client.Configuration()
        config.host = endpoint.endpoint
        config.ssl_ca_cert = _ca_file(endpoint.ca_data)
        config.verify_ssl = True
        config.api_key_prefix = {"authorization": "Bearer"}
        state: dict[str, Any] = {"token": None}
        lock = threading.Lock()

        def refresh(configuration: Any) -> None:
            with lock:
                token = state["token"]
                if token is None or clock() >= token.expires_at:
                    token = state["token"] = eks_token(clients, endpoint.cluster_name, clock)
                configuration.api_key = {"authorization": token.token}

        config.refresh_api_key_hook = refresh
        config.api_key = {"authorization": ""}  # the client asks the hook only for a key it already holds
        return cls(kubernetes.client.ApiClient(config))

    @classmethod
    def from_kubeconfig(cls, path: str, context: str | None = None) -> KubeApi:
        """A client from a kubeconfig file (its current context, or ``context``)."""
        kubernetes = _kubernetes()
        if not Path(path).is_file():
            raise ConfigurationError(f"kubeconfig {path!r} does not exist")
        return cls(kubernetes.config.new_client_from_config(config_file=path, context=context))

    # -- reads -----------------------------------------------------------------------------------
    def namespace_exists(self, namespace: str) -> bool:
        found = _unless_missing(
            "read Namespace", lambda: self.core.read_namespace(namespace, _request_timeout=REQUEST_TIMEOUT)
        )
        return found is not None

    def get_pytorchjob(self, namespace: str, name: str) -> dict[str, Any] | None:
        job: dict[str, Any] | None = _unless_missing(
            "get PyTorchJob",
            lambda: self.custom.get_namespaced_custom_object(
                PYTORCH_GROUP, PYTORCH_VERSION, namespace, PYTORCH_PLURAL, name, _request_timeout=REQUEST_TIMEOUT
            ),
        )
        return job

    def get_config_map_data(self, namespace: str, name: str) -> dict[str, str] | None:
        """A ConfigMap's ``data``, or None when there is no such ConfigMap."""
        found = _unless_missing(
            "read ConfigMap",
            lambda: self.core.read_namespaced_config_map(name, namespace, _request_timeout=REQUEST_TIMEOUT),
        )
        return None if found is None else dict(found.data or {})

    def list_pytorchjobs(self, namespace: str, selector: str) -> list[dict[str, Any]]:
        """The PyTorchJobs of a namespace that carry the label ``selector``, in one call."""
        with kube_errors("list PyTorchJobs"):
            answer: dict[str, Any] = self.custom.list_namespaced_custom_object(
                PYTORCH_GROUP,
                PYTORCH_VERSION,
                namespace,
                PYTORCH_PLURAL,
                label_selector=selector,
                _request_timeout=REQUEST_TIMEOUT,
            )
        return list(answer.get("items") or [])

    def pod_log(self, namespace: str, pod: str, container: str, tail_lines: int | None = None) -> str | None:
        """A pod's log, or None when the pod is gone or has not started."""
        kwargs: dict[str, Any] = {"container": container, "_request_timeout": REQUEST_TIMEOUT}
        if tail_lines is not None:
            kwargs["tail_lines"] = tail_lines
        try:
            with kube_errors("read Pod log"):
                text: str = self.core.read_namespaced_pod_log(pod, namespace, **kwargs)
        except KubernetesCallError as exc:
            if exc.status in (400, 404):  # 400: the container is still waiting to start
                return None
            raise
        return text

    # -- writes ----------------------------------------------------------------------------------
    def create(self, namespace: str, body: dict[str, Any]) -> None:
        """Create a ConfigMap or a PyTorchJob; KubernetesCallError 409 when the name is taken."""
        kind = body["kind"]
        with kube_errors(f"create {kind}"):
            if kind == "ConfigMap":
                self.core.create_namespaced_config_map(namespace, body, _request_timeout=REQUEST_TIMEOUT)
            elif kind == "PyTorchJob":
                self.custom.create_namespaced_custom_object(
                    PYTORCH_GROUP, PYTORCH_VERSION, namespace, PYTORCH_PLURAL, body, _request_timeout=REQUEST_TIMEOUT
                )
            else:
                raise ConfigurationError(f"cannot create a {kind}")

    def delete(self, namespace: str, kind: str, name: str) -> bool:
        """Delete one object and what it owns (foreground); False when it was already gone."""
        options = {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Foreground"}
        try:
            with kube_errors(f"delete {kind}"):
                if kind == "ConfigMap":
                    self.core.delete_namespaced_config_map(
                        name, namespace, body=options, _request_timeout=REQUEST_TIMEOUT
                    )
                else:
                    self.custom.delete_namespaced_custom_object(
                        PYTORCH_GROUP,
                        PYTORCH_VERSION,
                        namespace,
                        PYTORCH_PLURAL,
                        name,
                        body=options,
                        _request_timeout=REQUEST_TIMEOUT,
                    )
        except KubernetesCallError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def labelled(self, namespace: str, selector: str) -> list[tuple[str, str]]:
        """``(kind, name)`` of the ConfigMaps and PyTorchJobs that carry the label ``selector``."""
        with kube_errors("list ConfigMaps"):
            maps = self.core.list_namespaced_config_map(
                namespace, label_selector=selector, _request_timeout=REQUEST_TIMEOUT
            )
        found = [("PyTorchJob", str(item["metadata"]["name"])) for item in self.list_pytorchjobs(namespace, selector)]
        return found + [("ConfigMap", str(item.metadata.name)) for item in maps.items]

    def close(self) -> None:
        self.api_client.close()
