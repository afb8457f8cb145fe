"""SageMaker HyperPod clusters: CreateCluster, DescribeCluster, ListClusterNodes and their kin.

moto 5.2 implements these calls but not as SageMaker answers them: it drops ``Orchestrator`` and
``RestrictedInstanceGroups``, requires a lifecycle script on every group, names nodes
``<group>-<i>`` and clusters ``cluster/<name>``, and answers a missing cluster with
``ValidationException``. The stand-in answers them itself, following botocore's SageMaker model:

- ``CreateCluster`` validates the request as SageMaker's front end does (patterns, enums, ranges:
  :mod:`~airflow_provider_nova.sandbox.model_check`), then: at least one instance group; group names
  unique across ``InstanceGroups`` and ``RestrictedInstanceGroups``; restricted groups only with an
  EKS orchestrator; the orchestrator's EKS cluster must exist (in the stand-in's EKS, same region
  and account). A name in use answers ``ResourceInUse``. The cluster is ``InService`` at once, its
  ARN ``arn:aws:sagemaker:<region>:<account>:cluster/<12 lower-case letters or digits>``.
- ``DescribeCluster`` echoes the groups with ``CurrentCount`` = ``TargetCount`` = ``InstanceCount``
  and ``Status: InService``, the ``Orchestrator``, ``VpcConfig`` and ``NodeRecovery`` when given.
- ``ListClusterNodes`` lists one node per instance (``i-`` and 17 hex digits), ``Running`` unless a
  test changed it (:meth:`HyperPodClusters.set_node_status`), sorted by launch time (or group name)
  and paged; ``DescribeClusterNode``, ``ListClusters`` and ``DeleteCluster`` complete the set.
- A missing cluster answers ``ResourceNotFound`` with ``Could not find cluster '<arn>'``.

Chosen here, not documented by AWS: the wording of the stand-in's own validation messages, the
page size when ``MaxResults`` is absent (10, as ``ListTrainingJobs`` documents; callers that do
not page are caught), that ``DeleteCluster`` forgets the cluster at once (AWS shows ``Deleting``
for a while), and that ``RestrictedInstanceGroupsConfig`` is accepted but not echoed.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_nova.sandbox import model_check, moto_state, paging
from airflow_provider_nova.sandbox.errors import ServiceError, validation

_CLUSTER_ARN = re.compile(r"^arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]*:[0-9]{12}:cluster/([a-z0-9]{12})$")
_EKS_ARN = re.compile(r"^arn:aws[a-z\-]*:eks:([a-z0-9\-]*):([0-9]{12}):cluster/(.+)$")
_GROUP_ECHO = ("InstanceGroupName", "InstanceType", "ExecutionRole", "ThreadsPerCore", "LifeCycleConfig")
_GROUP_ECHO_MORE = ("InstanceStorageConfigs", "OnStartDeepHealthChecks", "OverrideVpcConfig", "EnvironmentConfig")
DEFAULT_PAGE = 10


@dataclass
class Node:
    group: str
    instance_id: str
    instance_type: str
    launched: float
    status: str = "Running"
    message: str = ""

    def summary(self) -> dict[str, Any]:
        return {
            "InstanceGroupName": self.group,
            "InstanceId": self.instance_id,
            "InstanceType": self.instance_type,
            "LaunchTime": self.launched,
            "InstanceStatus": {"Status": self.status, "Message": self.message},
        }


@dataclass
class Cluster:
    name: str
    region: str
    cluster_id: str
    created: float
    request: dict[str, Any]
    nodes: list[Node] = field(default_factory=list)

    @property
    def arn(self) -> str:
        return f"arn:aws:sagemaker:{self.region}:{moto_state.ACCOUNT_ID}:cluster/{self.cluster_id}"

    def summary(self) -> dict[str, Any]:
        return {
            "ClusterArn": self.arn,
            "ClusterName": self.name,
            "CreationTime": self.created,
            "ClusterStatus": "InService",
        }

    def describe(self) -> dict[str, Any]:
        answer = {**self.summary(), "InstanceGroups": [_group(g) for g in self.request.get("InstanceGroups") or []]}
        if self.request.get("RestrictedInstanceGroups"):
            answer["RestrictedInstanceGroups"] = [_group(g) for g in self.request["RestrictedInstanceGroups"]]
        for key in ("Orchestrator", "VpcConfig", "NodeRecovery"):
            if self.request.get(key):
                answer[key] = self.request[key]
        return answer


def _group(spec: dict[str, Any]) -> dict[str, Any]:
    """A group as DescribeCluster shows it: the request's fields, counts reached, in service."""
    echoed = {k: spec[k] for k in (*_GROUP_ECHO, *_GROUP_ECHO_MORE) if spec.get(k) is not None}
    count = spec["InstanceCount"]
    return {**echoed, "CurrentCount": count, "TargetCount": count, "Status": "InService"}


def _not_found(region: str, name: str) -> ServiceError:
    shown = name if name.startswith("arn:") else f"arn:aws:sagemaker:{region}:{moto_state.ACCOUNT_ID}:cluster/{name}"
    return ServiceError("ResourceNotFound", f"Could not find cluster '{shown}'")


class HyperPodClusters:
    """The stand-in's HyperPod clusters, per region; ``clock`` gives creation and launch times."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._clusters: dict[tuple[str, str], Cluster] = {}
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self._clusters.clear()

    def _find(self, region: str, name_or_arn: Any) -> Cluster:
        name = str(name_or_arn or "")
        match = _CLUSTER_ARN.match(name)
        with self._lock:
            for (found_region, _), cluster in self._clusters.items():
                if found_region == region and (cluster.name == name or (match and cluster.cluster_id == match[1])):
                    return cluster
        raise _not_found(region, name)

    def create(self, region: str, request: dict[str, Any]) -> dict[str, Any]:
        model_check.check("sagemaker", "CreateCluster", request)
        _check_groups(request)
        _check_orchestrator(region, request)
        name = request["ClusterName"]
        cluster = Cluster(name, region, uuid.uuid4().hex[:12], self.clock(), request)
        for spec in [*(request.get("InstanceGroups") or []), *(request.get("RestrictedInstanceGroups") or [])]:
            for _ in range(spec["InstanceCount"]):
                instance_id = "i-" + uuid.uuid4().hex[:17]
                cluster.nodes.append(
                    Node(spec["InstanceGroupName"], instance_id, spec["InstanceType"], cluster.created)
                )
        with self._lock:
            if (region, name) in self._clusters:
                raise ServiceError(
                    "ResourceInUse",
                    f"Resource Already Exists: Cluster with name {name} already exists. Choose a different name.",
                )
            self._clusters[(region, name)] = cluster
        return {"ClusterArn": cluster.arn}

    def describe(self, region: str, request: dict[str, Any]) -> dict[str, Any]:
        model_check.check("sagemaker", "DescribeCluster", request)
        return self._find(region, request["ClusterName"]).describe()

    def delete(self, region: str, request: dict[str, Any]) -> dict[str, Any]:
        model_check.check("sagemaker", "DeleteCluster", request)
        cluster = self._find(region, request["ClusterName"])
        with self._lock:
            self._clusters.pop((region, cluster.name), None)
        return {"ClusterArn": cluster.arn}

    def list_clusters(self, region: str, request: dict[str, Any]) -> dict[str, Any]:
        model_check.check("sagemaker", "ListClusters", request)
        with self._lock:
            clusters = [c for (r, _), c in self._clusters.items() if r == region]
        contains = request.get("NameContains")
        kept = [c for c in clusters if _created_within(c.created, request) and (not contains or contains in c.name)]
        by_name = request.get("SortBy") == "NAME"
        kept.sort(key=lambda c: (c.name,) if by_name else (c.created, c.name), reverse=_descending(request))
        page, next_token = paging.window(kept, request, DEFAULT_PAGE)
        return _with_token({"ClusterSummaries": [c.summary() for c in page]}, next_token)

    def list_nodes(self, region: str, request: dict[str, Any]) -> dict[str, Any]:
        """``ListClusterNodes``: filtered by group name and launch time, sorted, paged."""
        model_check.check("sagemaker", "ListClusterNodes", request)
        cluster = self._find(region, request["ClusterName"])
        contains = request.get("InstanceGroupNameContains")
        order = {id(node): index for index, node in enumerate(cluster.nodes)}
        kept = [
            n for n in cluster.nodes if _created_within(n.launched, request) and (not contains or contains in n.group)
        ]
        by_name = request.get("SortBy") == "NAME"
        kept.sort(
            key=lambda n: (n.group, order[id(n)]) if by_name else (n.launched, order[id(n)]),
            reverse=_descending(request),
        )
        page, next_token = paging.window(kept, request, DEFAULT_PAGE)
        return _with_token({"ClusterNodeSummaries": [n.summary() for n in page]}, next_token)

    def describe_node(self, region: str, request: dict[str, Any]) -> dict[str, Any]:
        model_check.check("sagemaker", "DescribeClusterNode", request)
        cluster = self._find(region, request["ClusterName"])
        node = next((n for n in cluster.nodes if n.instance_id == request.get("NodeId")), None)
        if node is None:
            raise ServiceError(
                "ResourceNotFound", f"Could not find node '{request.get('NodeId')}' in cluster '{cluster.arn}'"
            )
        specs = [
            *(cluster.request.get("InstanceGroups") or []),
            *(cluster.request.get("RestrictedInstanceGroups") or []),
        ]
        spec = next(s for s in specs if s["InstanceGroupName"] == node.group)
        extra = {k: spec[k] for k in ("LifeCycleConfig", "ThreadsPerCore") if spec.get(k) is not None}
        return {"NodeDetails": {**node.summary(), **extra}}

    def set_node_status(
        self, region: str, cluster_name: str, group: str, status: str, count: int | None, message: str = ""
    ) -> list[str]:
        """Give ``count`` nodes of ``group`` (all when None; the first ones listed) ``status``; their instance ids."""
        statuses = model_check.enum("sagemaker", "ClusterInstanceStatus")
        if status not in statuses:
            raise validation(f"status must be one of {', '.join(statuses)}, got {status!r}")
        cluster = self._find(region, cluster_name)
        nodes = [n for n in cluster.nodes if n.group == group]
        if not nodes:
            raise validation(f"cluster {cluster.name} has no instance group {group!r}")
        if count is not None and not 0 <= count <= len(nodes):
            raise validation(f"count must be between 0 and {len(nodes)} (the nodes of {group}), got {count}")
        with self._lock:
            for node in nodes[:count] if count is not None else nodes:
                node.status, node.message = status, message
        return [n.instance_id for n in (nodes[:count] if count is not None else nodes)]


def _check_groups(request: dict[str, Any]) -> None:
    groups = request.get("InstanceGroups") or []
    restricted = request.get("RestrictedInstanceGroups") or []
    if not groups and not restricted:
        raise validation("A cluster needs at least one instance group: give InstanceGroups or RestrictedInstanceGroups")
    names = [g["InstanceGroupName"] for g in [*groups, *restricted]]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise validation(f"Instance group names must be unique within a cluster; repeated: {', '.join(repeated)}")
    for group in groups:
        if not group.get("InstanceType"):
            raise validation(f"Instance group {group['InstanceGroupName']} needs an InstanceType")
    if restricted and not (request.get("Orchestrator") or {}).get("Eks"):
        raise validation("RestrictedInstanceGroups are supported only for clusters with an Eks Orchestrator")


def _check_orchestrator(region: str, request: dict[str, Any]) -> None:
    """The EKS cluster the orchestrator names must exist in this region and account."""
    eks = (request.get("Orchestrator") or {}).get("Eks")
    if not eks:
        return
    arn = str(eks.get("ClusterArn", ""))
    match = _EKS_ARN.match(arn)
    if match is None:  # model_check already refused it; kept for a direct caller
        raise validation(f"Orchestrator.Eks.ClusterArn {arn!r} is not an EKS cluster ARN")
    eks_region, account, name = match.groups()
    if eks_region != region or account != moto_state.ACCOUNT_ID:
        raise validation(f"The EKS cluster {arn} must be in this cluster's region {region} and account")
    if not moto_state.eks_cluster_exists(region, name):
        raise validation(f"The EKS cluster {arn} does not exist")


def _created_within(when: float, request: dict[str, Any]) -> bool:
    after, before = request.get("CreationTimeAfter"), request.get("CreationTimeBefore")
    return (after is None or when > float(after)) and (before is None or when < float(before))


def _descending(request: dict[str, Any]) -> bool:
    return request.get("SortOrder") == "Descending"


def _with_token(answer: dict[str, Any], next_token: str | None) -> dict[str, Any]:
    return {**answer, "NextToken": next_token} if next_token else answer
