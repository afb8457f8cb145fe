"""A deploy's inputs, checked against Bedrock's rules, and its names, settled before any call."""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass, replace
from typing import Any

from airflow_provider_nova.core.enums import DeployPlatform, Model
from airflow_provider_nova.core.errors import ConfigurationError
from airflow_provider_nova.core.formats import check_shape
from airflow_provider_nova.core.s3 import S3Uri

# Bedrock's rules (botocore model bedrock 2023-04-20) for modelName, modelDeploymentName and
# provisionedModelName: 1-63 characters, each letter or digit optionally followed by one '-' or '_'.
NAME_PATTERN = re.compile(r"([0-9a-zA-Z][_-]?){1,63}")
NAME_MAX = 63
NAME_RULE = (
    "1-63 characters: letters and digits, each optionally followed by a single '-' or '_' (so it starts with a "
    "letter or digit, and has no dots, spaces or doubled separators); pattern ([0-9a-zA-Z][_-]?){1,63}"
)
ROLE_ARN_PATTERN = re.compile(r"arn:aws(-[^:]+)?:iam::([0-9]{12})?:role/.+")
S3_URI_PATTERN = re.compile(
    r"s3://[a-z0-9][-.a-z0-9]{1,61}[a-z0-9](?:/[-!_*'().a-z0-9A-Z]+(?:/[-!_*'().a-z0-9A-Z]+)*)?/?"
)
ENDPOINT_KIND = {DeployPlatform.BEDROCK_OD: "on-demand deployment", DeployPlatform.BEDROCK_PT: "provisioned throughput"}


@dataclass(frozen=True)
class DeployPlan:
    """Everything a deploy needs, checked before any call.

    :param generated_model_name: the model name was derived from the checkpoint (not given), so a
        ``Failed`` custom model of that name is this checkpoint's earlier attempt and may be replaced.
    :param generated_endpoint_name: the same for the deployment's (or throughput's) name.
    """

    model: Model
    platform: DeployPlatform
    model_artifact_path: str
    model_name: str
    endpoint_name: str
    role_arn: str
    pt_units: int | None
    generated_model_name: bool = False
    generated_endpoint_name: bool = False

    @property
    def endpoint_kind(self) -> str:
        """``on-demand deployment`` or ``provisioned throughput``."""
        return ENDPOINT_KIND[self.platform]

    def to_json(self) -> dict[str, Any]:
        """JSON primitives only (for trigger kwargs); enums by name."""
        out = asdict(self)
        out["model"], out["platform"] = self.model.name, self.platform.name
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DeployPlan:
        """The plan ``to_json`` gave, checked again as ``make_plan`` checks it."""
        try:
            plan = make_plan(
                Model[data["model"]],
                data["model_artifact_path"],
                DeployPlatform[data["platform"]],
                data["pt_units"],
                data["endpoint_name"],
                role_arn=data["role_arn"],
                model_name=data["model_name"],
            )
            generated = bool(data["generated_model_name"]), bool(data["generated_endpoint_name"])
        except (KeyError, TypeError) as exc:
            raise ConfigurationError(f"not a deploy plan: {data!r} ({exc!r})") from None
        return replace(plan, generated_model_name=generated[0], generated_endpoint_name=generated[1])


# The shape botocore's Bedrock model gives each name field; checked against the installed model at run time.
NAME_SHAPES = {
    "modelName": "CustomModelName",
    "modelDeploymentName": "ModelDeploymentName",
    "provisionedModelName": "ProvisionedModelName",
}


def check_bedrock_name(name: object, field_name: str, bedrock_field: str) -> str:
    """Return ``name`` after checking it against Bedrock's naming rule for ``bedrock_field``."""
    if not isinstance(name, str) or len(name) > NAME_MAX or not NAME_PATTERN.fullmatch(name):
        raise ConfigurationError(f"{field_name} {name!r} breaks Bedrock's naming rule for {bedrock_field}: {NAME_RULE}")
    return check_shape(name, field_name, "bedrock", NAME_SHAPES[bedrock_field])


def default_names(model: Model, model_artifact_path: str, platform: DeployPlatform) -> tuple[str, str]:
    """Return the deterministic ``(model_name, endpoint_name)`` for a checkpoint and platform."""
    digest = hashlib.sha256(f"{model.model_type}|{model_artifact_path.rstrip('/')}".encode()).hexdigest()[:12]
    short = model.model_path.split("/")[0]
    kind = "od" if platform is DeployPlatform.BEDROCK_OD else "pt"
    return f"{short}-{digest}", f"{short}-{kind}-{digest}"


def make_plan(
    model: Model,
    model_artifact_path: str,
    deploy_platform: DeployPlatform,
    pt_units: int | None,
    endpoint_name: str | None,
    *,
    role_arn: str,
    model_name: str | None,
) -> DeployPlan:
    """Check every argument and settle the names; pure, makes no AWS call."""
    if not isinstance(model, Model):
        raise ConfigurationError(f"model must be a Model, got {model!r}")
    _check_platform(deploy_platform, pt_units)
    path = _check_path(model_artifact_path)
    _check_role(role_arn)
    generated_model, generated_endpoint = default_names(model, path, deploy_platform)
    platform_field = "modelDeploymentName" if deploy_platform is DeployPlatform.BEDROCK_OD else "provisionedModelName"
    return DeployPlan(
        model=model,
        platform=deploy_platform,
        model_artifact_path=path,
        model_name=check_bedrock_name(generated_model if model_name is None else model_name, "model_name", "modelName"),
        endpoint_name=check_bedrock_name(
            generated_endpoint if endpoint_name is None else endpoint_name, "endpoint_name", platform_field
        ),
        role_arn=role_arn,
        pt_units=pt_units,
        generated_model_name=model_name is None,
        generated_endpoint_name=endpoint_name is None,
    )


def _check_platform(deploy_platform: object, pt_units: object) -> None:
    if deploy_platform is DeployPlatform.SAGEMAKER:
        raise ConfigurationError(
            "SageMaker deployment is not implemented in this release; use DeployPlatform.BEDROCK_OD "
            "(on-demand) or DeployPlatform.BEDROCK_PT (provisioned throughput)"
        )
    if not isinstance(deploy_platform, DeployPlatform):
        raise ConfigurationError(
            f"deploy_platform must be DeployPlatform.BEDROCK_OD or DeployPlatform.BEDROCK_PT, got {deploy_platform!r}"
        )
    if deploy_platform is DeployPlatform.BEDROCK_PT:
        if isinstance(pt_units, bool) or not isinstance(pt_units, int) or pt_units < 1:
            raise ConfigurationError(
                f"pt_units must be a positive integer (model units) for DeployPlatform.BEDROCK_PT, got {pt_units!r}"
            )
    elif pt_units is not None:
        raise ConfigurationError(
            "pt_units applies to DeployPlatform.BEDROCK_PT only; leave it unset for DeployPlatform.BEDROCK_OD"
        )


def _check_path(model_artifact_path: str) -> str:
    path = str(S3Uri.parse(model_artifact_path, "model_artifact_path"))
    if len(path) > 1024 or not S3_URI_PATTERN.fullmatch(path):
        raise ConfigurationError(
            f"model_artifact_path {path!r} breaks Bedrock's s3Uri rule: at most 1024 characters, key segments "
            "of letters, digits and -!_*'(). separated by single '/'"
        )
    return check_shape(path, "model_artifact_path", "bedrock", "S3Uri")


def _check_role(role_arn: object) -> None:
    if not isinstance(role_arn, str) or len(role_arn) > 2048 or not ROLE_ARN_PATTERN.fullmatch(role_arn):
        raise ConfigurationError(
            f"role_arn {role_arn!r} is not an IAM role ARN (arn:aws:iam::<account>:role/<name>); Bedrock assumes "
            "this role to read the checkpoint"
        )
    check_shape(role_arn, "role_arn", "bedrock", "RoleArn")
