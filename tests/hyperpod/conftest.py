"""HyperPod fixtures: a Kubernetes API emulator on loopback (an emulator, not a cluster) and its clients."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

CLUSTER = "nova-eks"
NAMESPACE = "nova"


def presign_eks_token(
    cluster_name: str = CLUSTER, *, operation: str = "get_caller_identity", sign_cluster: bool = True
) -> str:
    """Make an EKS bearer token as ``aws eks get-token`` does (the core has its own; this one is for tests).

    An STS request presigned with query auth (``X-Amz-Expires=60``), the cluster name in the signed
    header ``x-k8s-aws-id``, base64url-encoded without padding behind ``k8s-aws-v1.``.
    """
    import botocore.session

    sts = botocore.session.get_session().create_client(
        "sts",
        region_name="us-east-1",
        endpoint_url="https://sts.us-east-1.amazonaws.com",
        aws_access_key_id="AKIATESTKEY",
        aws_secret_access_key="testing",  # fake; nothing is sent
    )
    if sign_cluster:
        event = f"before-sign.sts.{sts.meta.method_to_api_mapping[operation]}"
        sts.meta.events.register(event, lambda request, **_: request.headers.__setitem__("x-k8s-aws-id", cluster_name))
    url = sts.generate_presigned_url(operation, Params={}, ExpiresIn=60, HttpMethod="GET")
    return "k8s-aws-v1." + base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")


@pytest.fixture
def eks_token() -> Callable[..., str]:
    """The test helper that presigns EKS tokens (see ``presign_eks_token``)."""
    return presign_eks_token


@pytest.fixture
def kube() -> Iterator[Any]:
    """A started Kubernetes API emulator standing in for the EKS cluster ``nova-eks``."""
    from airflow_provider_nova.sandbox.kube import KubeEmulator

    with KubeEmulator(cluster_name=CLUSTER).start() as emulator:
        yield emulator


@pytest.fixture
def make_client(tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """Build ``kubernetes`` ApiClients for an emulator: its CA, a fresh token, unless told otherwise."""
    import kubernetes

    clients: list[Any] = []

    def build(emulator: Any, *, token: str | None = "fresh", ca_data: str | None = None) -> Any:
        ca_file = tmp_path / f"ca-{len(clients)}.pem"
        ca_file.write_bytes(base64.b64decode(ca_data or emulator.ca_data))
        configuration = kubernetes.client.Configuration()
        configuration.host = emulator.url
        configuration.ssl_ca_cert = str(ca_file)
        configuration.retries = False
        if token is not None:
            configuration.api_key = {"authorization": presign_eks_token() if token == "fresh" else token}
            configuration.api_key_prefix = {"authorization": "Bearer"}
        clients.append(kubernetes.client.ApiClient(configuration))
        return clients[-1]

    yield build
    for client in clients:
        client.close()


@pytest.fixture
def client(kube: Any, make_client: Callable[..., Any]) -> Any:
    """An ApiClient of ``kube`` with a valid token, the ``nova`` namespace created."""
    kube.add_namespace(NAMESPACE)
    return make_client(kube)


@pytest.fixture
def core(client: Any) -> Any:
    import kubernetes

    return kubernetes.client.CoreV1Api(client)


@pytest.fixture
def custom(client: Any) -> Any:
    import kubernetes

    return kubernetes.client.CustomObjectsApi(client)


def pytorchjob(name: str = "sft-job", workers: int = 1, labels: dict[str, str] | None = None) -> dict[str, Any]:
    """A PyTorchJob manifest shaped like the HyperPod chart's: Master 1, Worker ``workers`` when > 0."""
    template = {"spec": {"containers": [{"name": "pytorch", "image": "hp-image:latest"}]}}
    specs: dict[str, Any] = {"Master": {"replicas": 1, "restartPolicy": "OnFailure", "template": template}}
    if workers:
        specs["Worker"] = {"replicas": workers, "restartPolicy": "OnFailure", "template": template}
    metadata = {"name": name, "labels": labels or {"airflow-provider-nova/job-name": name}}
    return {
        "apiVersion": "kubeflow.org/v1",
        "kind": "PyTorchJob",
        "metadata": metadata,
        "spec": {"pytorchReplicaSpecs": specs},
    }


@pytest.fixture
def job_manifest() -> Callable[..., dict[str, Any]]:
    """Build PyTorchJob manifests (see ``pytorchjob``)."""
    return pytorchjob


HP_CLUSTER = "nova-hp"
HP_GROUP = "nova-p5"
HP_NAMESPACE = "nova-jobs"


@pytest.fixture
def hyperpod(account: dict[str, str], control: Any, kube: Any) -> dict[str, Any]:
    """An EKS-orchestrated HyperPod cluster ``nova-hp`` in the stand-in, its EKS API served by ``kube``.

    The restricted instance group ``nova-p5`` holds 4 x ml.p5.48xlarge; namespace ``nova-jobs`` exists.
    """
    from airflow_provider_nova.sandbox.rehearsal import make_hyperpod_cluster

    return make_hyperpod_cluster(
        account["endpoint_url"],
        account["role_arn"],
        control,
        kube,
        cluster_name=HP_CLUSTER,
        group=HP_GROUP,
        namespace=HP_NAMESPACE,
    )
