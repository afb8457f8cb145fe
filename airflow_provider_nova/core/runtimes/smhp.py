"""SageMaker HyperPod (EKS): Nova jobs as the Kubernetes objects the published Nova chart is made of.

The public SDK shells out to the HyperPod CLI, whose launcher ``helm install``s the Nova chart. Here
``plan`` renders the same ConfigMap and PyTorchJob in Python (``core/hyperpod/manifests.py``) after
read-only checks (the cluster is InService, EKS-orchestrated and has the instances; the namespace
exists), and ``start`` creates them with the ``kubernetes`` client. Neither the CLI nor Helm nor a
kubeconfig is needed.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from airflow_provider_nova.core.enums import Platform
from airflow_provider_nova.core.errors import ConfigurationError
from airflow_provider_nova.core.lifecycle import JobRef
from airflow_provider_nova.core.runtimes.base import JobSpec, RuntimeManager, RuntimePlan

if TYPE_CHECKING:
    from airflow_provider_nova.core.aws import AwsClients
    from airflow_provider_nova.core.hyperpod.jobs import HyperPodJobs
    from airflow_provider_nova.core.hyperpod.kube import KubeApi
    from airflow_provider_nova.core.lifecycle import JobState

_CLUSTER = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
_NAMESPACE = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
# A PyTorchJob's name is a DNS-1035 label, and the operator names services <job>-worker-<i> (63 at most).
HP_JOB_NAME = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
HP_JOB_NAME_MAX = 50


def check_hyperpod_job_name(job_name: Any) -> str:
    """Return ``job_name`` when it can name a PyTorchJob and its pods and services."""
    if not isinstance(job_name, str) or not HP_JOB_NAME.fullmatch(job_name) or len(job_name) > HP_JOB_NAME_MAX:
        raise ConfigurationError(
            f"job_name {job_name!r} is not a valid HyperPod job name: use 1-{HP_JOB_NAME_MAX} lower-case letters, "
            "digits and hyphens, starting with a letter and ending with a letter or digit"
        )
    return job_name


def check_location(cluster_name: Any, namespace: Any) -> None:
    """Refuse a cluster name SageMaker would not accept or a namespace Kubernetes would not."""
    if not isinstance(cluster_name, str) or not _CLUSTER.fullmatch(cluster_name):
        raise ConfigurationError(
            f"cluster_name {cluster_name!r} is not a valid HyperPod cluster name: 1-63 letters, digits and hyphens, "
            "starting and ending with a letter or digit"
        )
    if not isinstance(namespace, str) or not _NAMESPACE.fullmatch(namespace):
        raise ConfigurationError(
            f"namespace {namespace!r} is not a valid Kubernetes namespace name: 1-63 lower-case letters, digits and "
            "hyphens, starting and ending with a letter or digit"
        )


def _with_locations(recipe: dict[str, Any], spec: JobSpec) -> str:
    """The recipe's text with ``run.output_s3_path`` (and ``run.data_s3_path`` when the job reads data) set.

    A HyperPod job's container learns where to read and write from its recipe alone (on SageMaker
    Training Jobs the request's channels and output config say it), and the published evaluation
    and batch inference templates leave both empty. ``recipe`` is changed in place.
    """
    from airflow_provider_nova.core.recipes.render import dump_recipe

    run = recipe.get("run")
    if not isinstance(run, dict):
        raise ConfigurationError("recipe must have a 'run' section (a mapping)")
    wanted = {"output_s3_path": spec.output_s3_path, "data_s3_path": spec.data_s3_path}
    changes = {key: value for key, value in wanted.items() if value and run.get(key) != value}
    if not changes:
        return spec.recipe
    run.update(changes)
    return dump_recipe(recipe)


class SMHPRuntimeManager(RuntimeManager):
    """Runs Nova jobs on a SageMaker HyperPod cluster orchestrated by EKS.

    :param instance_type: the ML instance type of the cluster's restricted instance group.
    :param instance_count: how many instances the job uses (the recipe's ``replicas``).
    :param cluster_name: the HyperPod cluster name.
    :param namespace: the Kubernetes namespace the job runs in.
    :param clients: the AWS clients (cluster look-ups, the EKS token); the default session when omitted.
    :param kube: ``kube(cluster_name) -> KubeApi`` to reach the cluster another way (a kubeconfig, an
        Airflow Kubernetes connection); the EKS API with a token from ``clients`` by default.
    :param kubeconfig: a kubeconfig file to reach the cluster with instead (its current context).
    :param labels: extra labels put on the job's objects and pods (the chart's ``customLabels``).
    :param annotations: annotations put on the PyTorchJob.
    :param service_account_name: the pods' service account.
    :param priority_class_name: the pods' priority class (Kueue).
    :param allow_cross_account: let a recipe name a function (or role) in another account than the
        caller's; refused by default.
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
        kube: Callable[[str], KubeApi] | None = None,
        kubeconfig: str | None = None,
        labels: dict[str, str] | None = None,
        annotations: dict[str, str] | None = None,
        service_account_name: str | None = None,
        priority_class_name: str | None = None,
        clock: Callable[[], float] = time.time,
        allow_cross_account: bool = False,
    ) -> None:
        super().__init__(instance_type, instance_count, clients, allow_cross_account=allow_cross_account)
        check_location(cluster_name, namespace)
        if kube is not None and kubeconfig is not None:
            raise ConfigurationError("pass kube or kubeconfig, not both")
        self.cluster_name = cluster_name
        self.namespace = namespace
        self.labels = dict(labels or {})
        self.annotations = dict(annotations or {})
        self.service_account_name = service_account_name
        self.priority_class_name = priority_class_name
        if kubeconfig is not None:
            path = kubeconfig

            def from_file(_: str) -> KubeApi:
                from airflow_provider_nova.core.hyperpod.kube import KubeApi

                return KubeApi.from_kubeconfig(path)

            kube = from_file
        self._kube = kube
        self._clock = clock
        self._jobs: HyperPodJobs | None = None

    def __repr__(self) -> str:
        return (
            f"SMHPRuntimeManager(instance_type={self.instance_type!r}, instance_count={self.instance_count}, "
            f"cluster_name={self.cluster_name!r}, namespace={self.namespace!r})"
        )

    @property
    def jobs(self) -> HyperPodJobs:
        if self._jobs is None:
            from airflow_provider_nova.core.hyperpod.jobs import HyperPodJobs

            self._jobs = HyperPodJobs(self.clients, self._kube, self._clock)
        return self._jobs

    def ref(self, job_name: str) -> JobRef:
        return JobRef(
            Platform.SMHP,
            check_hyperpod_job_name(job_name),
            self.clients.region_name,
            self.cluster_name,
            self.namespace,
        )

    def exists(self, job_name: str) -> bool:
        return self.jobs.exists(self.ref(job_name))

    def check_name_free(self, job_name: str) -> None:
        """Refuse a name whose PyTorchJob exists.

        Only the PyTorchJob counts: a ConfigMap an unfinished start of the same job left behind (its
        process died between the two creates) is replaced by ``start``, so a retry can create the job.
        """
        from airflow_provider_nova.core.hyperpod.jobs import name_taken

        ref = self.ref(job_name)
        if self.jobs.find(ref) is not None:
            raise ConfigurationError(name_taken(ref))

    def plan(self, spec: JobSpec, *, create_bucket: str | None = None) -> RuntimePlan:
        """Check the cluster and namespace (read-only) and render the job's ConfigMap and PyTorchJob."""
        import yaml

        from airflow_provider_nova.core.hyperpod.cluster import check_cluster
        from airflow_provider_nova.core.hyperpod.manifests import ChartValues, render

        check_hyperpod_job_name(spec.job_name)
        parsed = yaml.safe_load(spec.recipe)
        if not isinstance(parsed, dict):
            raise ConfigurationError("recipe must be the YAML text of a mapping")
        if spec.init_image_uri is None:
            raise ConfigurationError("a HyperPod job needs the init container image from the recipe's payload template")
        recipe = _with_locations(parsed, spec)
        count = spec.instance_count or self.instance_count
        check_cluster(self.clients, self.cluster_name, self.instance_type, count)
        if not self.jobs.api(self.cluster_name).namespace_exists(self.namespace):
            raise ConfigurationError(
                f"namespace {self.namespace!r} does not exist on HyperPod cluster {self.cluster_name}: create it "
                "(kubectl create namespace) and give the Airflow role access to it"
            )
        values = ChartValues.for_recipe(
            parsed,
            job_name=spec.job_name,
            namespace=self.namespace,
            image=spec.image_uri,
            init_image=spec.init_image_uri,
            instance_type=self.instance_type,
            replicas=count,
            account_id=self.clients.account_id(),
            labels=self.labels,
            annotations=self.annotations,
            service_account_name=self.service_account_name,
            priority_class_name=self.priority_class_name,
        )
        request = {
            "cluster_name": self.cluster_name,
            "namespace": self.namespace,
            "objects": render(values, recipe),
        }
        return RuntimePlan(spec, request, None, create_bucket)

    def start(self, plan: RuntimePlan) -> JobRef:
        if plan.create_bucket:
            from airflow_provider_nova.core.runtimes.smtj import ensure_bucket

            ensure_bucket(self.clients, plan.create_bucket)
        return self.jobs.start(plan)

    def describe(self, ref: JobRef) -> JobState:
        return self.jobs.describe(ref)

    def stop(self, ref: JobRef) -> None:
        self.jobs.stop(ref)

    def log_lines(self, job_name: str, limit: int | None = None, start_from_head: bool = False) -> list[str]:
        """The job's master pod log lines (container ``pytorch``)."""
        return self.jobs.log_lines(self.ref(job_name), limit, start_from_head)
