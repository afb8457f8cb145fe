"""HyperPod jobs by reference: create a planned job's objects, read its state, stop it, read its log.

A job is the ConfigMap and the PyTorchJob ``plan`` rendered, in one namespace of the cluster's EKS
API. Its state is the PyTorchJob's latest condition; a job whose PyTorchJob is gone (stopped, or
deleted by someone) is FAILED with raw state ``NotFound``. Like ``TrainingJobs``, this needs no
instance configuration, so a result loaded from a file or an Airflow trigger can follow a job with
only the clients and the reference.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from airflow_provider_nova.core.enums import JobStatus, Platform
from airflow_provider_nova.core.errors import ConfigurationError, KubernetesCallError
from airflow_provider_nova.core.hyperpod.manifests import JOB_LABEL, MANAGED_BY, config_map_name
from airflow_provider_nova.core.lifecycle import JobRef, JobState
from airflow_provider_nova.core.status import map_pytorchjob

if TYPE_CHECKING:
    from airflow_provider_nova.core.aws import AwsClients
    from airflow_provider_nova.core.hyperpod.kube import KubeApi
    from airflow_provider_nova.core.runtimes.base import RuntimePlan
    from airflow_provider_nova.core.runtimes.smtj import JobSettings

MANAGED = "=".join(MANAGED_BY)  # the label selector of every object this provider creates
REQUEST_ANNOTATION = "airflow-provider-nova/request"  # on the PyTorchJob: the fingerprint of the request that made it
NOT_FOUND = "NotFound"
MASTER_CONTAINER = "pytorch"
log = logging.getLogger(__name__)


def job_prefix(output_s3_path: str, job_name: str, *parts: str) -> str:
    """``<output>/<job>/[parts/]``: where a HyperPod job leaves its files (a prefix, ending in ``/``)."""
    from airflow_provider_nova.core.s3 import S3Uri

    return str(S3Uri.parse(output_s3_path, "output_s3_path").join(job_name, *parts)).rstrip("/") + "/"


def master_pod(job_name: str) -> str:
    """The name the training operator gives a PyTorchJob's master pod."""
    return f"{job_name}-master-0"


def name_taken(ref: JobRef) -> str:
    return (
        f"a HyperPod job named {ref.job_name!r} already exists in namespace {ref.namespace} of cluster "
        f"{ref.cluster_name}; choose another job_name (nothing was created)"
    )


def request_fingerprint(objects: list[dict[str, Any]]) -> str:
    """What identifies a start request: a digest of the objects it creates (recipe, image, nodes, ...)."""
    canonical = json.dumps(objects, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def with_fingerprint(job: dict[str, Any], fingerprint: str) -> dict[str, Any]:
    """A copy of the PyTorchJob ``job`` annotated with its request's fingerprint."""
    metadata = dict(job["metadata"])
    metadata["annotations"] = {**metadata.get("annotations", {}), REQUEST_ANNOTATION: fingerprint}
    return {**job, "metadata": metadata}


def fingerprint_of(job: dict[str, Any]) -> str | None:
    """The request fingerprint a PyTorchJob was created with; None for one this provider did not create."""
    annotations = (job.get("metadata") or {}).get("annotations") or {}
    found = annotations.get(REQUEST_ANNOTATION)
    return found if isinstance(found, str) else None


class HyperPodJobs:
    """Jobs on HyperPod clusters, reached through each cluster's Kubernetes API.

    :param kube: ``kube(cluster_name) -> KubeApi``; by default the EKS API of the HyperPod cluster,
        with a token from ``clients``' credentials.
    """

    def __init__(
        self, clients: AwsClients, kube: Callable[[str], KubeApi] | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        self.clients = clients
        self._kube = kube
        self._clock = clock
        self._apis: dict[str, KubeApi] = {}
        self._lock = threading.Lock()

    def api(self, cluster_name: str) -> KubeApi:
        """The Kubernetes API of ``cluster_name``, built once."""
        with self._lock:
            if cluster_name not in self._apis:
                self._apis[cluster_name] = self._kube(cluster_name) if self._kube else self._eks_api(cluster_name)
            return self._apis[cluster_name]

    def _eks_api(self, cluster_name: str) -> KubeApi:
        from airflow_provider_nova.core.hyperpod.cluster import describe_cluster
        from airflow_provider_nova.core.hyperpod.eks import describe_eks_endpoint, eks_cluster_name
        from airflow_provider_nova.core.hyperpod.kube import KubeApi

        cluster = describe_cluster(self.clients, cluster_name)
        if cluster.eks_cluster_arn is None:
            raise ConfigurationError(f"HyperPod cluster {cluster_name} is not orchestrated by Amazon EKS")
        endpoint = describe_eks_endpoint(self.clients, eks_cluster_name(cluster.eks_cluster_arn))
        return KubeApi.for_eks(self.clients, endpoint, self._clock)

    def ref(self, job_name: str, cluster_name: str, namespace: str) -> JobRef:
        return JobRef(Platform.SMHP, job_name, self.clients.region_name, cluster_name, namespace)

    @staticmethod
    def _where(ref: JobRef) -> tuple[str, str]:
        if ref.platform is not Platform.SMHP or ref.cluster_name is None or ref.namespace is None:
            raise ConfigurationError(f"not a HyperPod job reference: {ref!r}")
        return ref.cluster_name, ref.namespace

    # -- state -----------------------------------------------------------------------------------
    def find(self, ref: JobRef) -> JobState | None:
        """The job's state, or None when it has no PyTorchJob."""
        cluster, namespace = self._where(ref)
        job = self.api(cluster).get_pytorchjob(namespace, ref.job_name)
        return None if job is None else JobState(*map_pytorchjob(job))

    def exists(self, ref: JobRef) -> bool:
        """True when the job's PyTorchJob or any object labelled with its name exists."""
        cluster, namespace = self._where(ref)
        if self.find(ref) is not None:
            return True
        return bool(self.api(cluster).labelled(namespace, f"{JOB_LABEL}={ref.job_name}"))

    def settings(self, ref: JobRef) -> JobSettings:
        """Where the job writes, read back from the recipe in its ConfigMap (HyperPod jobs have no runtime limit)."""
        import yaml

        from airflow_provider_nova.core.runtimes.smtj import JobSettings

        cluster, namespace = self._where(ref)
        data = self.api(cluster).get_config_map_data(namespace, config_map_name(ref.job_name))
        recipe = yaml.safe_load((data or {}).get("config.yaml") or "null")
        output = ((recipe or {}).get("run") or {}).get("output_s3_path") if isinstance(recipe, dict) else None
        if not isinstance(output, str) or not output:
            raise ConfigurationError(
                f"HyperPod job {ref.job_name}: its ConfigMap {config_map_name(ref.job_name)} holds no run.output_s3_path"
            )
        return JobSettings(output, None)

    def describe(self, ref: JobRef) -> JobState:
        found = self.find(ref)
        if found is None:
            return JobState(
                JobStatus.FAILED,
                NOT_FOUND,
                f"PyTorchJob {ref.namespace}/{ref.job_name} does not exist on cluster {ref.cluster_name} "
                "(it was stopped or deleted)",
            )
        return found

    def describe_many(self, refs: list[JobRef]) -> dict[str, JobState]:
        """States of many jobs: one list of the provider's PyTorchJobs per cluster and namespace."""
        states: dict[str, JobState] = {}
        places = {self._where(ref) for ref in refs}
        for cluster, namespace in sorted(places):
            listed = {
                str(item["metadata"]["name"]): JobState(*map_pytorchjob(item))
                for item in self.api(cluster).list_pytorchjobs(namespace, MANAGED)
            }
            for ref in refs:
                if self._where(ref) == (cluster, namespace):
                    states[ref.job_name] = listed.get(ref.job_name) or self.describe(ref)
        return states

    def in_namespace(self, cluster_name: str, namespace: str) -> NamespaceJobs:
        """This service bound to one namespace, following jobs by name (as a trigger's poller does)."""
        return NamespaceJobs(self, cluster_name, namespace)

    # -- start and stop --------------------------------------------------------------------------
    def start(self, plan: RuntimePlan) -> JobRef:
        """Create the planned ConfigMap, then the PyTorchJob; a failed PyTorchJob create leaves nothing behind.

        The PyTorchJob carries the request's fingerprint (:data:`REQUEST_ANNOTATION`). A create answered
        409 Conflict, or not answered at all, is this request's job when the PyTorchJob of that name has
        this fingerprint (a create whose answer was lost): it is used. A PyTorchJob of that name that is
        not this request's is a ConfigurationError (the name is taken).
        """
        request = plan.request
        ref = self.ref(plan.job_name, request["cluster_name"], request["namespace"])
        cluster, namespace = self._where(ref)
        api = self.api(cluster)
        if self.find(ref) is not None:
            raise ConfigurationError(name_taken(ref))
        config_map, job = request["objects"]
        fingerprint = request_fingerprint(request["objects"])
        self._create_config_map(api, ref, config_map)
        try:
            api.create(namespace, with_fingerprint(job, fingerprint))
        except KubernetesCallError as exc:
            if exc.status not in (0, 409):  # refused: nothing was created
                api.delete(namespace, "ConfigMap", config_map["metadata"]["name"])
                raise
            found = api.get_pytorchjob(namespace, ref.job_name)
            if found is not None and fingerprint_of(found) == fingerprint:
                log.info("PyTorchJob %s exists as this request asked (a create whose answer was lost): using it", ref)
                return ref
            if found is None:  # not answered and not created
                api.delete(namespace, "ConfigMap", config_map["metadata"]["name"])
                raise
            raise ConfigurationError(name_taken(ref)) from exc
        return ref

    def _create_config_map(self, api: KubeApi, ref: JobRef, body: dict[str, Any]) -> None:
        """Create the recipe's ConfigMap; one left by an earlier start of this same job is replaced."""
        namespace = str(ref.namespace)
        try:
            api.create(namespace, body)
        except KubernetesCallError as exc:
            if exc.status != 409:
                raise
            ours = ("ConfigMap", body["metadata"]["name"]) in api.labelled(namespace, f"{JOB_LABEL}={ref.job_name}")
            if not ours:
                raise ConfigurationError(
                    f"ConfigMap {namespace}/{body['metadata']['name']} exists and is not this job's; "
                    "choose another job_name (nothing was created)"
                ) from exc
            api.delete(namespace, "ConfigMap", body["metadata"]["name"])
            api.create(namespace, body)

    def stop(self, ref: JobRef) -> None:
        """Delete the job's PyTorchJob (its pods go with it) and every object labelled with its name."""
        cluster, namespace = self._where(ref)
        api = self.api(cluster)
        api.delete(namespace, "PyTorchJob", ref.job_name)
        for kind, name in api.labelled(namespace, f"{JOB_LABEL}={ref.job_name}"):
            api.delete(namespace, kind, name)

    # -- logs ------------------------------------------------------------------------------------
    def log_lines(self, ref: JobRef, limit: int | None = None, start_from_head: bool = False) -> list[str]:
        """The master pod's log lines (the ``pytorch`` container); [] before it starts or after it is gone."""
        cluster, namespace = self._where(ref)
        tail = None if start_from_head else limit
        text = self.api(cluster).pod_log(namespace, master_pod(ref.job_name), MASTER_CONTAINER, tail)
        lines = [] if not text else text.rstrip("\n").split("\n")
        return lines[:limit] if start_from_head and limit is not None else lines


class NamespaceJobs:
    """HyperPod jobs of one cluster and namespace, by name: ``ref``, ``describe``, ``describe_many``, ``stop``."""

    def __init__(self, jobs: HyperPodJobs, cluster_name: str, namespace: str) -> None:
        self.jobs, self.cluster_name, self.namespace = jobs, cluster_name, namespace

    def ref(self, job_name: str) -> JobRef:
        return self.jobs.ref(job_name, self.cluster_name, self.namespace)

    def exists(self, job_name: str) -> bool:
        return self.jobs.exists(self.ref(job_name))

    def find(self, job_name: str) -> tuple[JobState, JobSettings] | None:
        """A job's state and settings; None when it has no PyTorchJob."""
        ref = self.ref(job_name)
        state = self.jobs.find(ref)
        return None if state is None else (state, self.jobs.settings(ref))

    def settings(self, ref: JobRef) -> JobSettings:
        return self.jobs.settings(ref)

    def describe(self, ref: JobRef) -> JobState:
        return self.jobs.describe(ref)

    def describe_many(self, job_names: list[str]) -> dict[str, JobState]:
        return self.jobs.describe_many([self.ref(name) for name in job_names])

    def stop(self, ref: JobRef) -> None:
        self.jobs.stop(ref)
