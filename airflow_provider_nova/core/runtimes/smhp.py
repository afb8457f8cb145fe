"""SageMaker HyperPod (EKS): the runtime's configuration; job submission comes in a later release."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from airflow_provider_nova.core.enums import Platform
from airflow_provider_nova.core.errors import ConfigurationError, UnsupportedError
from airflow_provider_nova.core.runtimes.base import JobSpec, RuntimeManager, RuntimePlan

if TYPE_CHECKING:
    from airflow_provider_nova.core.aws import AwsClients
    from airflow_provider_nova.core.lifecycle import JobRef, JobState

_CLUSTER = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
_NAMESPACE = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
NOT_YET = "HyperPod job submission is not available in this release of airflow-provider-nova; use SMTJRuntimeManager"


class SMHPRuntimeManager(RuntimeManager):
    """Runs Nova jobs on a SageMaker HyperPod cluster orchestrated by EKS.

    :param instance_type: the ML instance type of the cluster's worker group.
    :param instance_count: how many instances the job uses.
    :param cluster_name: the HyperPod cluster name.
    :param namespace: the Kubernetes namespace the job runs in.
    """

    platform = Platform.SMHP

    def __init__(
        self,
        instance_type: str,
        instance_count: int,
        cluster_name: str,
        namespace: str,
        *,
        clients: AwsClients | None = None,
    ) -> None:
        super().__init__(instance_type, instance_count, clients)
        if not isinstance(cluster_name, str) or not _CLUSTER.fullmatch(cluster_name):
            raise ConfigurationError(f"cluster_name {cluster_name!r} is not a valid HyperPod cluster name")
        if not isinstance(namespace, str) or not _NAMESPACE.fullmatch(namespace):
            raise ConfigurationError(f"namespace {namespace!r} is not a valid Kubernetes namespace name")
        self.cluster_name = cluster_name
        self.namespace = namespace

    def __repr__(self) -> str:
        return (
            f"SMHPRuntimeManager(instance_type={self.instance_type!r}, instance_count={self.instance_count}, "
            f"cluster_name={self.cluster_name!r}, namespace={self.namespace!r})"
        )

    def plan(self, spec: JobSpec, *, create_bucket: str | None = None) -> RuntimePlan:
        raise UnsupportedError(NOT_YET)

    def start(self, plan: RuntimePlan) -> JobRef:
        raise UnsupportedError(NOT_YET)

    def describe(self, ref: JobRef) -> JobState:
        raise UnsupportedError(NOT_YET)

    def stop(self, ref: JobRef) -> None:
        raise UnsupportedError(NOT_YET)

    def exists(self, job_name: str) -> bool:
        raise UnsupportedError(NOT_YET)

    def default_bucket(self) -> str:
        raise UnsupportedError(NOT_YET)
