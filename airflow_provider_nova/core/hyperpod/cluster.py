"""Checks on a SageMaker HyperPod cluster before a Nova job is sent to it.

SageMaker ``DescribeCluster`` says whether the cluster is ``InService``, which EKS cluster orchestrates it
(``Orchestrator.Eks.ClusterArn``) and what its instance groups hold. Nova recipes schedule their pods
only on restricted instance groups (the chart's node affinity requires the label
``sagemaker.amazonaws.com/instance-group-type: Restricted``), so the job needs a restricted instance
group of the requested type with at least ``instance_count`` instances, and ``ListClusterNodes`` must
show that many of them ``Running``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_provider_nova.core.aws import aws_errors, error_code
from airflow_provider_nova.core.errors import AwsCallError, ConfigurationError

if TYPE_CHECKING:
    from airflow_provider_nova.core.aws import AwsClients


@dataclass(frozen=True)
class InstanceGroup:
    name: str
    instance_type: str
    current_count: int
    restricted: bool

    def describe(self) -> str:
        kind = "restricted instance group" if self.restricted else "instance group"
        return f"{kind} {self.name}: {self.current_count} x {self.instance_type}"


@dataclass(frozen=True)
class HyperPodCluster:
    """What SageMaker says about a HyperPod cluster."""

    name: str
    arn: str
    status: str
    eks_cluster_arn: str | None
    groups: tuple[InstanceGroup, ...]

    @classmethod
    def from_answer(cls, answer: dict[str, Any]) -> HyperPodCluster:
        groups = [_group(g, restricted=False) for g in answer.get("InstanceGroups") or ()]
        groups += [_group(g, restricted=True) for g in answer.get("RestrictedInstanceGroups") or ()]
        eks = ((answer.get("Orchestrator") or {}).get("Eks") or {}).get("ClusterArn")
        return cls(
            str(answer["ClusterName"]),
            str(answer["ClusterArn"]),
            str(answer.get("ClusterStatus")),
            None if eks is None else str(eks),
            tuple(groups),
        )

    def summary(self) -> str:
        return "; ".join(g.describe() for g in self.groups) or "no instance groups"


def _group(raw: dict[str, Any], *, restricted: bool) -> InstanceGroup:
    return InstanceGroup(
        str(raw.get("InstanceGroupName")), str(raw.get("InstanceType")), int(raw.get("CurrentCount") or 0), restricted
    )


def describe_cluster(clients: AwsClients, cluster_name: str) -> HyperPodCluster:
    """The cluster as SageMaker describes it; a clear error when there is no such cluster."""
    try:
        with aws_errors("DescribeCluster"):
            answer = clients.sagemaker.describe_cluster(ClusterName=cluster_name)
    except AwsCallError as exc:
        if error_code(exc) in ("ResourceNotFound", "ValidationException"):
            raise ConfigurationError(
                f"cluster_name {cluster_name!r}: no SageMaker HyperPod cluster of that name in "
                f"{clients.region_name} ({exc})"
            ) from exc
        raise
    return HyperPodCluster.from_answer(answer)


def running_nodes(clients: AwsClients, cluster_name: str, group_name: str) -> int:
    """How many nodes of one instance group ``ListClusterNodes`` shows ``Running``."""
    request: dict[str, Any] = {"ClusterName": cluster_name, "InstanceGroupNameContains": group_name, "MaxResults": 100}
    running = 0
    while True:
        with aws_errors("ListClusterNodes"):
            page = clients.sagemaker.list_cluster_nodes(**request)
        for node in page.get("ClusterNodeSummaries") or ():
            status = (node.get("InstanceStatus") or {}).get("Status")
            if node.get("InstanceGroupName") == group_name and status == "Running":
                running += 1
        if not page.get("NextToken"):
            return running
        request["NextToken"] = page["NextToken"]


def check_cluster(clients: AwsClients, cluster_name: str, instance_type: str, instance_count: int) -> HyperPodCluster:
    """Refuse a cluster that cannot run the job: not InService, not on EKS, or short of instances.

    The errors say what the cluster has and what the job needs; nothing is created.
    """
    cluster = describe_cluster(clients, cluster_name)
    need = f"the job needs {instance_count} x {instance_type} in a restricted instance group"
    if cluster.status != "InService":
        raise ConfigurationError(f"HyperPod cluster {cluster_name} is {cluster.status}, not InService; {need}")
    if cluster.eks_cluster_arn is None:
        raise ConfigurationError(
            f"HyperPod cluster {cluster_name} is not orchestrated by Amazon EKS (Nova jobs run only on EKS-"
            "orchestrated clusters)"
        )
    groups = [g for g in cluster.groups if g.restricted and g.instance_type == instance_type]
    if sum(g.current_count for g in groups) < instance_count:
        raise ConfigurationError(f"HyperPod cluster {cluster_name} has {cluster.summary()}; {need}")
    running = sum(running_nodes(clients, cluster_name, g.name) for g in groups)
    if running < instance_count:
        names = ", ".join(g.name for g in groups)
        raise ConfigurationError(
            f"HyperPod cluster {cluster_name}: only {running} {instance_type} nodes of restricted instance group(s) "
            f"{names} are Running; {need}"
        )
    return cluster
