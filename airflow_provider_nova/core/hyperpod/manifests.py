"""The Kubernetes objects of a Nova HyperPod job, rendered as the published Helm chart renders them.

The recipe publisher's launcher (aws/sagemaker-hyperpod-recipes, ``SMNovaK8SLauncherSFT``, which also
runs evaluations) fills the Nova chart's ``values.yaml`` and ``helm install``s
``k8s_templates/nova/SFT/``: a ConfigMap ``training-config-<job>`` holding the recipe as
``config.yaml``, and a Kubeflow ``PyTorchJob`` ``<job>``. :func:`render` returns the same two objects as
the JSON-ready dicts the Kubernetes API takes, for the values the launcher sets on a real run (not its
``launch_json`` mode):

- ``envVars``: ``AWS_REGION``, ``INSTANCE_TYPE`` (only for an EFA instance type) and
  ``X_AMZ_SOURCE_ACCOUNT``, in sorted key order as Helm ranges over a map, on both containers;
- ``numEFADevices`` = :func:`efa_count`; ``devices`` = the recipe's, else :func:`gpu_count`;
- Master replicas 1; the Worker spec, with ``replicas - 1``, only when ``replicas > 1``;
- node affinity required: ``node.kubernetes.io/instance-type`` In [instance type] and
  ``sagemaker.amazonaws.com/instance-group-type`` In [Restricted];
- ``lambdaAccess`` (evaluation recipes): ``hostNetwork``, ``dnsPolicy: ClusterFirstWithHostNet`` and
  the ``k8s-ca-cert`` mount and volume on the ``pytorch`` container;
- no ``runPolicy``: the chart writes it only for ``cleanPodPolicy``, which the launcher never sets.

Kept as the chart has it: the init container always mounts ``k8s-ca-cert``, whose volume exists only
with ``lambdaAccess``.

Our deliberate additions: both objects carry the labels :data:`JOB_LABEL` ``: <job>`` and
:data:`MANAGED_BY`, so that ``stop`` finds every object of a job. On the PyTorchJob and its pod
templates they go in as the chart's ``customLabels`` (beside the user's ``labels``); the chart gives
the ConfigMap no labels, so it has only these two. The ConfigMap also names its namespace, which
``helm install --namespace`` supplies for the chart.

Where the launcher would render a broken manifest, this module does not: for an instance type without
EFA the launcher drops the type altogether (node affinity on ``[null]``, devices 8); here the affinity
names the type and devices come from :func:`gpu_count` (``INSTANCE_TYPE`` is left out and EFA is 0,
as there).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_nova.core.errors import ConfigurationError

JOB_LABEL = "airflow-provider-nova/job-name"
MANAGED_BY = ("app.kubernetes.io/managed-by", "airflow-provider-nova")
# The chart's own label on the PyTorchJob; with ours, no user label may take these keys.
RESERVED_LABELS = frozenset({"app", JOB_LABEL, MANAGED_BY[0]})

# Facts from the publisher's launcher/efa.py: instance types (without "ml.") that have EFA,
# those with more than one EFA device, and GPUs per instance where not 8.
EFA_INSTANCE_TYPES = frozenset(
    """
    c5n.18xlarge c5n.9xlarge c5n.metal c6a.48xlarge c6a.metal c6gn.16xlarge c6i.32xlarge c6i.metal
    c6id.32xlarge c6id.metal c6in.32xlarge c6in.metal c7a.48xlarge c7a.metal-48xl c7g.16xlarge c7g.metal
    c7gd.16xlarge c7gd.metal c7gn.16xlarge c7gn.metal c7i.48xlarge c7i.metal-48xl dl1.24xlarge dl2q.24xlarge
    g4dn.12xlarge g4dn.16xlarge g4dn.8xlarge g4dn.metal g5.12xlarge g5.16xlarge g5.24xlarge g5.48xlarge
    g5.8xlarge g6.12xlarge g6.16xlarge g6.24xlarge g6.48xlarge g6.8xlarge g6e.8xlarge g6e.16xlarge
    g6e.12xlarge g6e.24xlarge g6e.48xlarge gr6.8xlarge i3en.12xlarge i3en.24xlarge i3en.metal i4g.16xlarge
    i4i.32xlarge i4i.metal im4gn.16xlarge inf1.24xlarge m5dn.24xlarge m5dn.metal m5n.24xlarge m5n.metal
    m5zn.12xlarge m5zn.metal m6a.48xlarge m6a.metal m6i.32xlarge m6i.metal m6id.32xlarge m6id.metal
    m6idn.32xlarge m6idn.metal m6in.32xlarge m6in.metal m7a.48xlarge m7a.metal-48xl m7g.16xlarge m7g.metal
    m7gd.16xlarge m7gd.metal m7i.48xlarge m7i.metal-48xl p3dn.24xlarge p4d.24xlarge p4de.24xlarge
    p5.48xlarge p5e.48xlarge p5en.48xlarge r5dn.24xlarge r5dn.metal r5n.24xlarge r5n.metal r6a.48xlarge
    r6a.metal r6i.32xlarge r6i.metal r6id.32xlarge r6id.metal r6idn.32xlarge r6idn.metal r6in.32xlarge
    r6in.metal r7a.48xlarge r7a.metal-48xl r7g.16xlarge r7g.metal r7gd.16xlarge r7gd.metal r7i.48xlarge
    r7i.metal-48xl r7iz.32xlarge r7iz.metal-32xl r8g.24xlarge r8g.48xlarge r8g.metal-24xl r8g.metal-48xl
    trn1.32xlarge trn1n.32xlarge trn2.48xlarge u7i-12tb.224xlarge u7in-16tb.224xlarge u7in-24tb.224xlarge
    u7in-32tb.224xlarge vt1.24xlarge x2idn.32xlarge x2idn.metal x2iedn.32xlarge x2iedn.metal
    x2iezn.12xlarge x2iezn.metal
    """.split()
)
MULTI_EFA_DEVICES: Mapping[str, int] = {
    "p4d.24xlarge": 4,
    "p4de.24xlarge": 4,
    "p5.4xlarge": 4,
    "p5.24xlarge": 16,
    "p5.48xlarge": 32,
    "p5e.48xlarge": 32,
    "p5en.48xlarge": 16,
    "trn1.32xlarge": 8,
    "trn1n.32xlarge": 16,
    "trn2.48xlarge": 16,
    "g6e.24xlarge": 2,
    "g6e.48xlarge": 4,
}
DEFAULT_GPUS = 8
GPUS: Mapping[str, int] = {
    **dict.fromkeys(("g4dn.xlarge", "g4dn.2xlarge", "g4dn.4xlarge", "g4dn.8xlarge", "g4dn.16xlarge"), 1),
    **dict.fromkeys(("g5.xlarge", "g5.2xlarge", "g5.4xlarge", "g5.8xlarge", "g5.16xlarge"), 1),
    **dict.fromkeys(("g6.xlarge", "g6.2xlarge", "g6.4xlarge", "g6.8xlarge", "g6.16xlarge"), 1),
    **dict.fromkeys(("g6e.xlarge", "g6e.2xlarge", "g6e.4xlarge", "g6e.8xlarge", "g6e.16xlarge"), 1),
    "g4dn.12xlarge": 4,
    "g5.12xlarge": 4,
    "g5.24xlarge": 4,
    "g6.12xlarge": 4,
    "g6.24xlarge": 4,
    "g6e.12xlarge": 2,
    "g6e.24xlarge": 4,
}

_INSTANCE_TYPE = re.compile(r"ml\.[a-z0-9-]+\.[a-z0-9-]+")
# The training operator names a Service after each replica (<job>-worker-<i>): a DNS-1035 label.
_DNS_1035 = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
_DNS_1123 = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_LABEL_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]")
_LABEL_PREFIX = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_ACCOUNT = re.compile(r"[0-9]{12}")
_ECR_REGION = re.compile(r"[0-9]{12}\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?/.+")
_NAME_MAX = 63


def _base(instance_type: str) -> str:
    return instance_type.removeprefix("ml.")


def has_efa(instance_type: str) -> bool:
    """Whether the instance type has EFA (the publisher's list; with or without the ``ml.`` prefix)."""
    return _base(instance_type) in EFA_INSTANCE_TYPES


def gpu_count(instance_type: str) -> int:
    """GPUs per instance of ``instance_type`` as the publisher counts them: its table, else 8."""
    return GPUS.get(_base(instance_type), DEFAULT_GPUS)


def efa_count(instance_type: str) -> int:
    """EFA devices the chart requests per node: 0 without EFA, the multi-EFA table, else 1."""
    if not has_efa(instance_type):
        return 0
    return MULTI_EFA_DEVICES.get(_base(instance_type), 1)


def recipe_devices(recipe: Mapping[str, Any]) -> int | None:
    """GPUs per node a rendered recipe asks for, as the launcher reads them, or None.

    ``resource_config.devices`` (evaluation recipes), else ``training_config.trainer.devices``
    (training recipes); a missing or zero value falls through, as the launcher's ``or`` does.
    """
    for path in (("resource_config", "devices"), ("training_config", "trainer", "devices")):
        node: Any = recipe
        for key in path:
            node = node.get(key) if isinstance(node, Mapping) else None
        if node:
            if not isinstance(node, int) or isinstance(node, bool):
                raise ConfigurationError(f"recipe {'.'.join(path)} must be a whole number of GPUs, got {node!r}")
            return node
    return None


def is_evaluation(recipe: Mapping[str, Any]) -> bool:
    """Whether the chart's ``lambdaAccess`` is on: the recipe has a non-empty ``evaluation`` section."""
    return bool(recipe.get("evaluation"))


@dataclass(frozen=True)
class ChartValues:
    """The chart values of one job; checked when built, so bad input fails before anything is created.

    :param job_name: the PyTorchJob's name (a DNS-1035 label; ``<job>-worker-<i>`` must fit 63 characters).
    :param namespace: the namespace both objects go in.
    :param image: the ``pytorch`` container's image (the hub's HyperPod image).
    :param init_image: the init container's image (the hub's ``init_container_image``).
    :param instance_type: e.g. ``ml.p5.48xlarge``.
    :param replicas: nodes in all (the recipe's ``run.replicas``); Master 1, Worker ``replicas - 1``.
    :param account_id: ``X_AMZ_SOURCE_ACCOUNT``, the caller's AWS account.
    :param devices: GPUs per node; default :func:`gpu_count` (:meth:`for_recipe` reads the recipe's).
    :param lambda_access: evaluation recipes (:meth:`for_recipe` sets it from the recipe).
    :param labels: extra labels on the PyTorchJob and its pods (the chart's ``customLabels``).
    :param annotations: annotations on the PyTorchJob.
    :param service_account_name: the pods' service account.
    :param priority_class_name: the pods' priority class (e.g. a Kueue one).
    :param region: ``AWS_REGION``; default: the region of ``image``'s ECR registry.
    """

    job_name: str
    namespace: str
    image: str
    init_image: str
    instance_type: str
    replicas: int
    account_id: str
    devices: int | None = None
    lambda_access: bool = False
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    service_account_name: str | None = None
    priority_class_name: str | None = None
    region: str | None = None

    def __post_init__(self) -> None:
        self._check_names()
        self._check_compute()
        _check_labels(self.labels)
        if not isinstance(self.annotations, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in self.annotations.items()
        ):
            raise ConfigurationError("annotations must map strings to strings")
        for name in ("service_account_name", "priority_class_name"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, str) and _DNS_1123.fullmatch(value)):
                raise ConfigurationError(f"{name} {value!r} is not a valid Kubernetes name")
        if self.region is None and not _ECR_REGION.fullmatch(self.image):
            raise ConfigurationError(f"region is required when image {self.image!r} is not an ECR image URI")

    def _check_names(self) -> None:
        if not isinstance(self.job_name, str) or not _DNS_1035.fullmatch(self.job_name):
            raise ConfigurationError(
                f"job_name {self.job_name!r} is not a valid HyperPod job name: use lower-case letters, digits and "
                "hyphens, starting with a letter and ending with a letter or digit"
            )
        longest = f"{self.job_name}-worker-{max(self.replicas - 2, 0)}" if isinstance(self.replicas, int) else ""
        if len(longest) > _NAME_MAX:
            raise ConfigurationError(
                f"job_name {self.job_name!r} is too long: the training operator names a pod and service "
                f"{longest!r}, which must fit {_NAME_MAX} characters"
            )
        if not isinstance(self.namespace, str) or not _DNS_1123.fullmatch(self.namespace):
            raise ConfigurationError(f"namespace {self.namespace!r} is not a valid Kubernetes namespace name")
        if not isinstance(self.account_id, str) or not _ACCOUNT.fullmatch(self.account_id):
            raise ConfigurationError(f"account_id must be 12 digits, got {self.account_id!r}")
        for name in ("image", "init_image"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise ConfigurationError(f"{name} must be a container image URI, got {getattr(self, name)!r}")

    def _check_compute(self) -> None:
        if not isinstance(self.instance_type, str) or not _INSTANCE_TYPE.fullmatch(self.instance_type):
            raise ConfigurationError(f"instance_type must look like 'ml.p5.48xlarge', got {self.instance_type!r}")
        for name in ("replicas", "devices"):
            value = getattr(self, name)
            if value is None and name == "devices":
                continue
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigurationError(f"{name} must be a positive integer, got {value!r}")

    @classmethod
    def for_recipe(cls, recipe: Mapping[str, Any], **fields: Any) -> ChartValues:
        """Values for a parsed, rendered recipe: ``devices`` and ``lambda_access`` as the launcher derives them.

        ``fields`` are the other constructor arguments; a ``devices`` or ``lambda_access`` given there wins.
        """
        fields.setdefault("devices", recipe_devices(recipe))
        fields.setdefault("lambda_access", is_evaluation(recipe))
        return cls(**fields)

    @property
    def gpus(self) -> int:
        """GPUs per node: ``devices``, else the instance type's."""
        return self.devices if self.devices is not None else gpu_count(self.instance_type)

    @property
    def aws_region(self) -> str:
        """``AWS_REGION``: ``region``, else the region of the image's ECR registry."""
        if self.region is not None:
            return self.region
        found = _ECR_REGION.fullmatch(self.image)
        if found is None:  # __post_init__ rejects this
            raise ConfigurationError(f"region is required when image {self.image!r} is not an ECR image URI")
        return found.group(1)


def _check_labels(labels: Mapping[str, str]) -> None:
    if not isinstance(labels, Mapping):
        raise ConfigurationError(f"labels must map strings to strings, got {labels!r}")
    for key, value in labels.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise ConfigurationError("labels must map strings to strings")
        if key in RESERVED_LABELS:
            raise ConfigurationError(
                f"label {key!r} is set by airflow-provider-nova; reserved: {sorted(RESERVED_LABELS)}"
            )
        prefix, _, name = key.rpartition("/")
        if not _LABEL_NAME.fullmatch(name) or (prefix and (len(prefix) > 253 or not _LABEL_PREFIX.fullmatch(prefix))):
            raise ConfigurationError(f"label key {key!r} is not a valid Kubernetes label key")
        if value and not _LABEL_NAME.fullmatch(value):
            raise ConfigurationError(f"label {key!r} value {value!r} is not a valid Kubernetes label value")


def config_map_name(job_name: str) -> str:
    """The ConfigMap the chart names after the job (also the ``training-config`` volume's source)."""
    return f"training-config-{job_name}"


def job_labels(job_name: str) -> dict[str, str]:
    """The labels every object of the job carries (``stop`` selects on them)."""
    return {MANAGED_BY[0]: MANAGED_BY[1], JOB_LABEL: job_name}


def label_selector(job_name: str) -> str:
    """The label selector that lists every object of the job."""
    return ",".join(f"{key}={value}" for key, value in sorted(job_labels(job_name).items()))


def render(values: ChartValues, recipe_yaml: str) -> list[dict[str, Any]]:
    """The job's objects, in the order Helm installs them: ``[ConfigMap, PyTorchJob]``."""
    return [config_map(values, recipe_yaml), pytorch_job(values)]


def config_map(values: ChartValues, recipe_yaml: str) -> dict[str, Any]:
    """The ConfigMap holding the recipe; the chart's ``|-`` block drops its trailing line breaks."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": config_map_name(values.job_name),
            "namespace": values.namespace,
            "labels": job_labels(values.job_name),
        },
        "data": {"config.yaml": recipe_yaml.rstrip("\n")},
    }


def pytorch_job(values: ChartValues) -> dict[str, Any]:
    """The Kubeflow PyTorchJob: Master, and Worker when there is more than one node."""
    metadata: dict[str, Any] = {"name": values.job_name, "namespace": values.namespace}
    if values.annotations:
        metadata["annotations"] = _sorted(values.annotations)
    metadata["labels"] = {"app": values.job_name, **_custom_labels(values)}
    replica_specs = {"Master": _replica_spec(values, 1)}
    workers = values.replicas - 1
    if workers > 0:
        replica_specs["Worker"] = _replica_spec(values, workers)
    return {
        "apiVersion": "kubeflow.org/v1",
        "kind": "PyTorchJob",
        "metadata": metadata,
        "spec": {"pytorchReplicaSpecs": replica_specs},
    }


def _sorted(mapping: Mapping[str, str]) -> dict[str, str]:
    return {key: mapping[key] for key in sorted(mapping)}


def _custom_labels(values: ChartValues) -> dict[str, str]:
    return _sorted({**values.labels, **job_labels(values.job_name)})


def _env(values: ChartValues) -> list[dict[str, str]]:
    env = {"AWS_REGION": values.aws_region, "X_AMZ_SOURCE_ACCOUNT": values.account_id}
    if has_efa(values.instance_type):
        env["INSTANCE_TYPE"] = values.instance_type
    return [{"name": key, "value": value} for key, value in _sorted(env).items()]


def _replica_spec(values: ChartValues, replicas: int) -> dict[str, Any]:
    return {
        "replicas": replicas,
        "restartPolicy": "OnFailure",
        "template": {"metadata": {"labels": _custom_labels(values)}, "spec": _pod_spec(values)},
    }


def _pod_spec(values: ChartValues) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "tolerations": [
            {
                "key": "sagemaker.amazonaws.com/RestrictedNode",
                "operator": "Equal",
                "value": "Worker",
                "effect": "NoSchedule",
            }
        ]
    }
    if values.lambda_access:
        spec["hostNetwork"] = True
        spec["dnsPolicy"] = "ClusterFirstWithHostNet"
    if values.priority_class_name:
        spec["priorityClassName"] = values.priority_class_name
    if values.service_account_name:
        spec["serviceAccountName"] = values.service_account_name
    spec["initContainers"] = [_init_container(values)]
    spec["containers"] = [_main_container(values)]
    spec["affinity"] = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": _node_selector(values)}}
    spec["volumes"] = _volumes(values)
    return spec


_CA_CERT_MOUNT = {"name": "k8s-ca-cert", "mountPath": "/etc/kubernetes/pki/ca.crt", "readOnly": True}


def _init_container(values: ChartValues) -> dict[str, Any]:
    return {
        "name": "init-container",
        "image": values.init_image,
        "imagePullPolicy": "Always",
        "env": _env(values),
        "volumeMounts": [
            {"name": "fsx-path-init", "mountPath": "/sagemaker/fsx/init"},
            {"mountPath": "/config", "name": "training-config"},
            {"mountPath": "/var/log/aws/clusters", "name": "logs"},
            dict(_CA_CERT_MOUNT),
        ],
    }


def _main_container(values: ChartValues) -> dict[str, Any]:
    resources = {"nvidia.com/gpu": values.gpus, "vpc.amazonaws.com/efa": efa_count(values.instance_type)}
    mounts: list[dict[str, Any]] = [
        {"name": "fsx-path-main", "mountPath": "/sagemaker/fsx/main"},
        {"mountPath": "/config", "name": "training-config"},
        {"mountPath": "/dev/shm", "name": "dshm"},  # noqa: S108 - shared memory, as the chart mounts it
        {"mountPath": "/var/log/aws/clusters", "name": "logs"},
        {"mountPath": "/sagemaker/fsx/output_artifacts", "name": "fsx-path-output-artifacts"},
        {"name": "tmp-storage", "mountPath": "/tmp"},  # noqa: S108 - the node's NVMe, as the chart mounts it
    ]
    if values.lambda_access:
        mounts.append(dict(_CA_CERT_MOUNT))
    return {
        "name": "pytorch",
        "image": values.image,
        "env": _env(values),
        "imagePullPolicy": "Always",
        "resources": {"limits": dict(resources), "requests": dict(resources)},
        "securityContext": {"capabilities": {"add": ["IPC_LOCK"]}},
        "volumeMounts": mounts,
    }


def _node_selector(values: ChartValues) -> dict[str, Any]:
    required = {
        "node.kubernetes.io/instance-type": [values.instance_type],
        "sagemaker.amazonaws.com/instance-group-type": ["Restricted"],
    }
    expressions = [{"key": key, "operator": "In", "values": list(required[key])} for key in sorted(required)]
    return {"nodeSelectorTerms": [{"matchExpressions": expressions}]}


def _host_path(name: str, path: str, kind: str) -> dict[str, Any]:
    return {"name": name, "hostPath": {"path": path, "type": kind}}


def _volumes(values: ChartValues) -> list[dict[str, Any]]:
    volumes = [
        _host_path("fsx-path-main", "/sagemaker/fsx/main", "DirectoryOrCreate"),
        _host_path("fsx-path-init", "/sagemaker/fsx/init", "DirectoryOrCreate"),
        {"configMap": {"name": config_map_name(values.job_name)}, "name": "training-config"},
        {"name": "dshm", "emptyDir": {"medium": "Memory"}},
        _host_path("logs", "/var/log/aws/clusters", "DirectoryOrCreate"),
        _host_path("fsx-path-output-artifacts", "/sagemaker/fsx/output_artifacts", "DirectoryOrCreate"),
        _host_path("tmp-storage", "/opt/dlami/nvme", "Directory"),
    ]
    if values.lambda_access:
        volumes.append(_host_path("k8s-ca-cert", "/etc/kubernetes/pki/ca.crt", "File"))
    return volumes
