"""The Bedrock resources a deploy makes (custom model, deployment, throughput) and their exact requests; pure."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from airflow_provider_nova.core import status
from airflow_provider_nova.core.deploy.plan import DeployPlan
from airflow_provider_nova.core.deploy.results import DeploymentError
from airflow_provider_nova.core.enums import DeployPlatform, JobStatus

BASE_MODEL_TAG = "nova:base-model"


@dataclass(frozen=True)
class ResourceKind:
    """How one kind of Bedrock resource is described, deleted and its status read.

    :param noun: the API's name of the kind: ``Create<noun>``, ``Get<noun>``, ``Delete<noun>``.
    :param id_param: the identifier parameter of the Get and Delete calls (an ARN or a name).
    """

    what: str
    noun: str
    id_param: str
    arn_key: str
    status_key: str
    created_key: str
    table: Mapping[str, JobStatus]
    mapper: Callable[[str], JobStatus]

    @property
    def goal(self) -> str:
        """The raw status of a finished resource (``Active``, ``InService``)."""
        return next(raw for raw, mapped in self.table.items() if mapped is JobStatus.COMPLETED)

    def raw_status(self, desc: dict[str, Any]) -> str:
        return str(desc.get(self.status_key))

    def failed(self, desc: dict[str, Any]) -> bool:
        return self.mapper(self.raw_status(desc)) is JobStatus.FAILED

    def delete_command(self, arn: str) -> str:
        """The AWS CLI command that deletes the resource."""
        return f"aws bedrock delete-{kebab(self.noun)} --{kebab(self.id_param)} {arn}"


MODEL = ResourceKind(
    "custom model", "CustomModel", "modelIdentifier", "modelArn", "modelStatus", "creationTime",
    status.BEDROCK_CUSTOM_MODEL, status.map_custom_model_status,
)  # fmt: skip
ENDPOINTS = {
    DeployPlatform.BEDROCK_OD: ResourceKind(
        "on-demand deployment", "CustomModelDeployment", "customModelDeploymentIdentifier",
        "customModelDeploymentArn", "status", "createdAt", status.BEDROCK_DEPLOYMENT, status.map_deployment_status,
    ),
    DeployPlatform.BEDROCK_PT: ResourceKind(
        "provisioned throughput", "ProvisionedModelThroughput", "provisionedModelId",
        "provisionedModelArn", "status", "creationTime", status.BEDROCK_THROUGHPUT, status.map_throughput_status,
    ),
}  # fmt: skip


def model_request(plan: DeployPlan, replaced: str | None) -> dict[str, Any]:
    """``CreateCustomModel``'s request; ``replaced`` (a deleted failed model) makes the token a new one."""
    return {
        "modelName": plan.model_name,
        "roleArn": plan.role_arn,
        "modelSourceConfig": {"s3DataSource": {"s3Uri": plan.model_artifact_path}},
        "modelTags": [{"key": BASE_MODEL_TAG, "value": plan.model.model_type}],
        "clientRequestToken": token("model", plan.model_name, plan.model_artifact_path, replaced),
    }


def endpoint_request(plan: DeployPlan, model_arn: str, replaced: str | None) -> dict[str, Any]:
    """``CreateCustomModelDeployment``'s or ``CreateProvisionedModelThroughput``'s request for the plan."""
    if plan.platform is DeployPlatform.BEDROCK_OD:
        return {
            "modelDeploymentName": plan.endpoint_name,
            "modelArn": model_arn,
            "clientRequestToken": token("od", plan.endpoint_name, model_arn, replaced),
        }
    return {
        "modelUnits": plan.pt_units,
        "provisionedModelName": plan.endpoint_name,
        "modelId": model_arn,
        "clientRequestToken": token("pt", plan.endpoint_name, model_arn, plan.pt_units, replaced),
    }


def check_serves(plan: DeployPlan, kind: ResourceKind, existing: dict[str, Any], model_arn: str) -> None:
    """Refuse to reuse an endpoint of the plan's name that serves another model."""
    serves = existing.get("desiredModelArn") or existing.get("modelArn")
    if serves != model_arn:
        arn = existing[kind.arn_key]
        raise DeploymentError(
            f"endpoint_name {plan.endpoint_name!r} is already used by {arn} for model {serves}, not {model_arn}; "
            "choose another endpoint_name",
            failed_arn=arn,
        )


def check_units(plan: DeployPlan, kind: ResourceKind, existing: dict[str, Any]) -> None:
    """Refuse to reuse a provisioned throughput of other model units than the plan's."""
    if plan.platform is not DeployPlatform.BEDROCK_PT:
        return
    units = existing.get("desiredModelUnits", existing.get("modelUnits"))
    if units != plan.pt_units:
        raise DeploymentError(
            f"provisioned throughput {plan.endpoint_name!r} exists with {units} model units, not the {plan.pt_units} "
            "asked; change it in Bedrock or choose another endpoint_name",
            failed_arn=existing[kind.arn_key],
        )


def token(*parts: object) -> str:
    """A ``clientRequestToken`` determined by ``parts``: the same request always sends the same token."""
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:32]


def snake(name: str) -> str:
    """``GetCustomModel`` -> ``get_custom_model`` (boto3's method name)."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def kebab(name: str) -> str:
    """``customModelDeploymentIdentifier`` -> ``custom-model-deployment-identifier`` (the AWS CLI's spelling)."""
    return snake(name).replace("_", "-")
