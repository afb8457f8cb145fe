"""A HyperPod recipe's hub payload: the Nova chart rendered with placeholders, as text.

On AWS, a HyperPod hub entry's ``HpEksPayloadTemplateS3Uri`` holds what the recipe publisher makes
with ``helm template`` over the Nova SFT chart (``k8s_templates/nova/SFT``) in its launch-json mode,
followed by its own string replacements: a multi-document YAML, first the ConfigMap
``training-config-{{name}}`` whose ``config.yaml`` is the HyperPod recipe template, then the Kubeflow
``PyTorchJob`` ``{{name}}`` in ``{{namespace}}``. This module writes the same text in Python, to the
byte, for the values the publisher sets in that mode:

- images: the region's ``hp_eks_regional_ecr_uri`` (container ``pytorch``) and
  ``init_container_image``, literal; ``AWS_REGION`` is the region;
- env (helm ranges the map in key order): ``AWS_REGION`` and, when the instance type has EFA,
  ``INSTANCE_TYPE: "{{instance_type}}"``; no ``X_AMZ_SOURCE_ACCOUNT`` (a real launch adds it);
- node affinity required on ``node.kubernetes.io/instance-type`` = ``{{instance_type}}`` and
  ``sagemaker.amazonaws.com/instance-group-type`` = ``Restricted``;
- GPUs and EFA devices of the instance type (the publisher's tables: 8 GPUs unless listed, EFA
  devices 32 on p5.48xlarge, 16 on p5en, 4 on p4d, 1 on other EFA types);
- a ``Worker`` replica spec with ``replicas: {{replicas}}`` when the recipe's own ``run.replicas``
  (the published ``InstanceCount``) is above 1;
- evaluation recipes (a top-level ``evaluation`` section) set the chart's ``lambdaAccess``:
  ``hostNetwork``, ``dnsPolicy: ClusterFirstWithHostNet``, the ``k8s-ca-cert`` mount in the
  ``pytorch`` container and the ``k8s-ca-cert`` hostPath volume.

Chosen here, not visible from outside AWS: the instance type the publisher renders with (the
recipe's first ``InstanceTypes`` entry; for every p5/p4d recipe this gives the reconstructed
example in ``shared/reference/published-hub/hyperpod-payload-example/``, which a test compares).
Not reproduced: RFT recipes (``*_rft``), whose chart (``k8s_templates/nova/RFT``) renders services,
stateful sets and one ConfigMap per service from a per-service split of the recipe the launcher
makes; :func:`is_chart_rendered` says which recipes get a payload, the others keep the bare template.
"""

from __future__ import annotations

import re
from typing import Any

CONFIG_SOURCE = "# Source: sagemaker-training/templates/training-config.yaml"
TRAINING_SOURCE = "# Source: sagemaker-training/templates/training.yaml"
DEFAULT_DEVICES = 8
# The publisher's device counts and multi-EFA counts for the instance types Nova recipes list
# (its launcher tables); any other type listed here as EFA-capable has one EFA device.
_DEVICES = {"g5.12xlarge": 4, "g5.24xlarge": 4, "g6.12xlarge": 4, "g6.24xlarge": 4}
_MULTI_EFA = {"p4d.24xlarge": 4, "p4de.24xlarge": 4, "p5.48xlarge": 32, "p5e.48xlarge": 32, "p5en.48xlarge": 16}
_EFA = set(_MULTI_EFA) | {"g5.12xlarge", "g5.24xlarge", "g5.48xlarge", "g6.12xlarge", "g6.24xlarge", "g6.48xlarge"}
_EVALUATION = re.compile(r"^evaluation:", re.MULTILINE)


def is_chart_rendered(recipe_name: str) -> bool:
    """True when the stand-in stores the rendered chart for ``recipe_name`` (every HyperPod recipe but RFT)."""
    return not recipe_name.endswith("_rft")


def payload(template: str, metadata: dict[str, Any], region: str, images: dict[str, str]) -> str:
    """The payload of one HyperPod recipe in ``region``.

    :param template: the published HyperPod recipe template (text, as stored).
    :param metadata: the recipe's published metadata (``InstanceTypes``, ``InstanceCount``).
    :param images: ``{"training": <hp_eks_regional_ecr_uri>, "init": <init_container_image>}`` of the region.
    """
    instance_type = str(metadata["InstanceTypes"][0]).removeprefix("ml.")
    efa = _MULTI_EFA.get(instance_type, 1) if instance_type in _EFA else 0
    env = {"AWS_REGION": region, **({"INSTANCE_TYPE": "{{instance_type}}"} if efa else {})}
    spec = _ReplicaSpec(
        images=images,
        env=dict(sorted(env.items())),
        devices=_DEVICES.get(instance_type, DEFAULT_DEVICES),
        efa=efa,
        lambda_access=bool(_EVALUATION.search(template)),
    )
    replicas = [spec.render("Master", "1")]
    if int(metadata.get("InstanceCount") or 0) > 1:
        replicas.append(spec.render("Worker", "{{replicas}}"))
    return _config_map(template) + _pytorch_job("".join(replicas))


def _config_map(template: str) -> str:
    """The ConfigMap document: the template under ``config.yaml``, indented as helm's ``indent 4`` does."""
    indented = "    " + template.replace("\n", "\n    ")
    head = (
        "---\n" + CONFIG_SOURCE + "\n\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: training-config-{{name}}\n"
    )
    return head + "data:\n  config.yaml: |-\n" + indented + "\n"


def _pytorch_job(replica_specs: str) -> str:
    return (
        "---\n" + TRAINING_SOURCE + "\n\n"
        "apiVersion: kubeflow.org/v1\nkind: PyTorchJob\nmetadata:\n  name: {{name}}\n  namespace: {{namespace}}\n"
        "  labels:\n    app: {{name}}\nspec:\n  pytorchReplicaSpecs:\n" + replica_specs
    )


class _ReplicaSpec:
    """One ``pytorchReplicaSpecs`` entry of the SFT chart's ``training.yaml``, line for line."""

    def __init__(self, images: dict[str, str], env: dict[str, str], devices: int, efa: int, lambda_access: bool):
        self.images, self.env, self.devices, self.efa, self.lambda_access = images, env, devices, efa, lambda_access

    def render(self, kind: str, replicas: str) -> str:
        lines = [f"    {kind}:", f"      replicas: {replicas}", "      restartPolicy: OnFailure", "      template:"]
        lines += ["        spec:", *self._tolerations(), *self._init_container(), *self._container()]
        return "\n".join([*lines, *self._affinity(), *self._volumes()]) + "\n"

    def _env(self, indent: str) -> list[str]:
        return [f'{indent}- name: {key}\n{indent}  value: "{value}"' for key, value in self.env.items()]

    def _tolerations(self) -> list[str]:
        lines = ["          tolerations:", '            - key: "sagemaker.amazonaws.com/RestrictedNode"']
        lines += [
            '              operator: "Equal"',
            '              value: "Worker"',
            '              effect: "NoSchedule"',
        ]
        if self.lambda_access:
            lines += ["          hostNetwork: true", "          dnsPolicy: ClusterFirstWithHostNet"]
        return lines

    def _init_container(self) -> list[str]:
        lines = ["          initContainers:", "            - name: init-container"]
        lines += [f"              image: {self.images['init']}", "              imagePullPolicy: Always"]
        lines += ["              env:", *self._env("                "), "              volumeMounts:"]
        lines += ["              - name: fsx-path-init", "                mountPath: /sagemaker/fsx/init"]
        lines += ["              - mountPath: /config", "                name: training-config"]
        lines += ["              - mountPath: /var/log/aws/clusters", "                name: logs"]
        return [*lines, *_ca_mount("              ")]

    def _container(self) -> list[str]:
        lines = ["          containers:", "          - name: pytorch", f"            image: {self.images['training']}"]
        lines += ["            env:", *self._env("              "), "            imagePullPolicy: Always"]
        lines += ["            resources:"]
        for part in ("limits", "requests"):
            lines += [f"              {part}:", f"                nvidia.com/gpu: {self.devices}"]
            lines += [f"                vpc.amazonaws.com/efa: {self.efa}"]
        lines += ["            securityContext:", "              capabilities:", '                add: [ "IPC_LOCK" ]']
        lines += [
            "            volumeMounts:",
            "            - name: fsx-path-main",
            "              mountPath: /sagemaker/fsx/main",
        ]
        for path, name in (("/config", "training-config"), ("/dev/shm", "dshm"), ("/var/log/aws/clusters", "logs")):  # noqa: S108 - a pod mount path
            lines += [f"            - mountPath: {path}", f"              name: {name}"]
        lines += [
            "            - mountPath: /sagemaker/fsx/output_artifacts",
            "              name: fsx-path-output-artifacts",
        ]
        lines += ["            - name: tmp-storage", "              mountPath: /tmp"]
        return lines + (_ca_mount("            ") if self.lambda_access else [])

    @staticmethod
    def _affinity() -> list[str]:
        lines = [
            "          affinity:",
            "            nodeAffinity:",
            "              requiredDuringSchedulingIgnoredDuringExecution:",
        ]
        lines += ["                nodeSelectorTerms:", "                  - matchExpressions:"]
        for key, value in (
            ("node.kubernetes.io/instance-type", "{{instance_type}}"),
            ("sagemaker.amazonaws.com/instance-group-type", "Restricted"),
        ):
            lines += [f'                    - key: "{key}"', "                      operator: In"]
            lines += ["                      values:", f'                        - "{value}"']
        return lines

    def _volumes(self) -> list[str]:
        lines = ["          volumes:", *_host_path("fsx-path-main", "/sagemaker/fsx/main", "DirectoryOrCreate")]
        lines += _host_path("fsx-path-init", "/sagemaker/fsx/init", "DirectoryOrCreate")
        lines += [
            "            - configMap:",
            "                name: training-config-{{name}}",
            "              name: training-config",
        ]
        lines += ["            - name: dshm", "              emptyDir:", "                medium: Memory"]
        lines += _host_path("logs", "/var/log/aws/clusters", "DirectoryOrCreate")
        lines += _host_path("fsx-path-output-artifacts", "/sagemaker/fsx/output_artifacts", "DirectoryOrCreate")
        lines += _host_path("tmp-storage", "/opt/dlami/nvme", "Directory")
        if self.lambda_access:
            lines += _host_path("k8s-ca-cert", "/etc/kubernetes/pki/ca.crt", "File")
        return lines


def _ca_mount(indent: str) -> list[str]:
    return [
        f"{indent}- name: k8s-ca-cert",
        f"{indent}  mountPath: /etc/kubernetes/pki/ca.crt",
        f"{indent}  readOnly: true",
    ]


def _host_path(name: str, path: str, kind: str) -> list[str]:
    return [
        f"            - name: {name}",
        "              hostPath:",
        f"                path: {path}",
        f"                type: {kind}",
    ]
