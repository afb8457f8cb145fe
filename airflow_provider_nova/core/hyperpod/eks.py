"""Reaching a HyperPod cluster's Kubernetes API the way EKS lets you in: endpoint, CA and a bearer token.

The HyperPod cluster's SageMaker ``DescribeCluster`` names its EKS cluster (``Orchestrator.Eks.ClusterArn``);
EKS ``DescribeCluster`` gives that cluster's API ``endpoint`` and ``certificateAuthority.data``. The
token is what ``aws eks get-token`` prints: ``k8s-aws-v1.`` and the base64url (unpadded) text of an STS
``GetCallerIdentity`` URL presigned with the ``x-k8s-aws-id: <EKS cluster name>`` header signed in. EKS
accepts it for 15 minutes after it was signed; like the CLI, we call it expired after 14.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_provider_nova.core.aws import aws_errors
from airflow_provider_nova.core.errors import ConfigurationError

if TYPE_CHECKING:
    from airflow_provider_nova.core.aws import AwsClients

TOKEN_PREFIX = "k8s-aws-v1."  # noqa: S105 - the scheme of EKS tokens, not a secret
K8S_AWS_ID = "x-k8s-aws-id"
PRESIGN_SECONDS = 60  # what aws-cli and the amazon provider sign for; EKS allows 15 minutes from signing
TOKEN_LIFETIME = 14 * 60
_PARAM = "ClusterName"  # carried through botocore's events to the signer, never sent as a parameter


@dataclass(frozen=True)
class EksToken:
    token: str
    expires_at: float  # clock seconds after which a new token is made

    def __repr__(self) -> str:  # a bearer token never reaches a log line
        return f"EksToken(expires_at={self.expires_at})"


@dataclass(frozen=True)
class EksEndpoint:
    """An EKS cluster's API server: name, ``https://`` endpoint and base64 PEM CA bundle."""

    cluster_name: str
    endpoint: str
    ca_data: str


def _keep_cluster_name(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    if _PARAM in params:
        context[K8S_AWS_ID] = params.pop(_PARAM)


def _sign_cluster_name(request: Any, **_: Any) -> None:
    name = request.context.get(K8S_AWS_ID)
    if name is not None:
        request.headers[K8S_AWS_ID] = name


def _register(sts: Any) -> None:
    """Teach an STS client to sign ``x-k8s-aws-id`` into a presigned GetCallerIdentity (idempotent)."""
    events = sts.meta.events
    events.register(
        "provide-client-params.sts.GetCallerIdentity", _keep_cluster_name, unique_id="nova-eks-token-params"
    )
    events.register("before-sign.sts.GetCallerIdentity", _sign_cluster_name, unique_id="nova-eks-token-header")


def eks_token(clients: AwsClients, eks_cluster_name: str, clock: Callable[[], float] = time.time) -> EksToken:
    """A bearer token for ``eks_cluster_name`` from the clients' credentials (as ``aws eks get-token``)."""
    sts = clients.sts
    _register(sts)
    with aws_errors("GetCallerIdentity (presign)"):
        url = sts.generate_presigned_url(
            "get_caller_identity", Params={_PARAM: eks_cluster_name}, ExpiresIn=PRESIGN_SECONDS, HttpMethod="GET"
        )
    encoded = base64.urlsafe_b64encode(url.encode("utf-8")).decode("ascii").rstrip("=")
    return EksToken(TOKEN_PREFIX + encoded, clock() + TOKEN_LIFETIME)


def eks_cluster_name(cluster_arn: str) -> str:
    """The name in an EKS cluster ARN ``arn:<partition>:eks:<region>:<account>:cluster/<name>``."""
    parts = cluster_arn.split(":", 5)
    if len(parts) != 6 or parts[2] != "eks" or not parts[5].startswith("cluster/") or len(parts[5]) <= 8:
        raise ConfigurationError(
            f"{cluster_arn!r} is not an EKS cluster ARN (arn:aws:eks:<region>:<account>:cluster/<name>)"
        )
    return parts[5][len("cluster/") :]


def describe_eks_endpoint(clients: AwsClients, eks_cluster_name: str) -> EksEndpoint:
    """The API endpoint and CA of an ACTIVE EKS cluster; a clear error when it is not ready."""
    with aws_errors("DescribeCluster (EKS)"):
        cluster = clients.client("eks").describe_cluster(name=eks_cluster_name)["cluster"]
    status = cluster.get("status")
    endpoint = cluster.get("endpoint")
    ca_data = (cluster.get("certificateAuthority") or {}).get("data")
    if status != "ACTIVE" or not endpoint or not ca_data:
        raise ConfigurationError(
            f"EKS cluster {eks_cluster_name} is {status}, not ACTIVE with an API endpoint: wait until it is ACTIVE"
        )
    return EksEndpoint(eks_cluster_name, str(endpoint), str(ca_data))
