"""Deploy a trained Nova checkpoint to Amazon Bedrock: on-demand or provisioned throughput.

``BedrockDeployer.deploy`` checks everything before the first call, then creates (or reuses, on a
retry) the custom model from the checkpoint, waits for it to be Active, and creates (or reuses) the
on-demand deployment or the provisioned throughput and waits for it. Names are deterministic, so a
retried deploy finds what an earlier attempt created instead of paying for it twice. A deploy that
fails part-way raises ``DeploymentError`` listing the ARNs that exist, so nothing paid is left unknown.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from airflow_provider_nova.core.aws import AwsClients, aws_errors, error_code
from airflow_provider_nova.core.enums import DeployPlatform, Model
from airflow_provider_nova.core.errors import AwsCallError, ConfigurationError, JobFailedError, NovaError
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
BASE_MODEL_TAG = "nova:base-model"
FINAL_STATUS = {"model": "Active", DeployPlatform.BEDROCK_OD: "Active", DeployPlatform.BEDROCK_PT: "InService"}
IN_PROGRESS = {"Creating", "Updating"}


class EndpointInfo(BaseModel):
    """Where a deployed model is invoked: ``uri`` is the deployment ARN (OD) or provisioned model ARN (PT)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    platform: DeployPlatform
    endpoint_name: str
    uri: str
    model_artifact_path: str
    created_at: datetime


class DeploymentResult(BaseModel):
    """A finished deployment; ``uri`` is the custom model ARN, ``endpoint.uri`` what callers invoke.

    ``created`` lists the ARNs this deploy created, ``reused`` those an earlier attempt had created.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    endpoint: EndpointInfo
    platform: DeployPlatform
    endpoint_name: str
    uri: str
    model_artifact_path: str
    created_at: datetime
    status: str
    created: list[str] = []
    reused: list[str] = []


class DeploymentError(NovaError):
    """A deploy failed part-way; ``created`` and ``reused`` list the Bedrock ARNs that exist.

    :param failed_arn: the resource that failed or timed out, when one did.
    """

    def __init__(
        self,
        message: str,
        created: list[str],
        reused: list[str],
        failed_arn: str | None = None,
        reason: str | None = None,
    ) -> None:
        existing = "; ".join(
            part
            for part in (
                f"created by this deploy (they exist and may be billed until deleted): {', '.join(created)}"
                if created
                else "this deploy created nothing",
                f"reused from an earlier attempt: {', '.join(reused)}" if reused else "",
            )
            if part
        )
        super().__init__(f"{message}; {existing}")
        self.created = list(created)
        self.reused = list(reused)
        self.failed_arn = failed_arn
        self.reason = reason


@dataclass(frozen=True)
class DeployPlan:
    """Everything a deploy needs, checked before any call."""

    model: Model
    platform: DeployPlatform
    model_artifact_path: str
    model_name: str
    endpoint_name: str
    role_arn: str
    pt_units: int | None


@dataclass
class _Progress:
    created: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)


def check_bedrock_name(name: object, field_name: str, bedrock_field: str) -> str:
    """Return ``name`` after checking it against Bedrock's naming rule for ``bedrock_field``."""
    if not isinstance(name, str) or len(name) > NAME_MAX or not NAME_PATTERN.fullmatch(name):
        raise ConfigurationError(f"{field_name} {name!r} breaks Bedrock's naming rule for {bedrock_field}: {NAME_RULE}")
    return name


def default_names(model: Model, model_artifact_path: str, platform: DeployPlatform) -> tuple[str, str]:
    """Return the deterministic ``(model_name, endpoint_name)`` for a checkpoint and platform."""
    digest = hashlib.sha256(f"{model.model_type}|{model_artifact_path.rstrip('/')}".encode()).hexdigest()[:12]
    short = model.model_path.split("/")[0]
    kind = "od" if platform is DeployPlatform.BEDROCK_OD else "pt"
    return f"{short}-{digest}", f"{short}-{kind}-{digest}"


def _token(*parts: object) -> str:
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:32]


class BedrockDeployer:
    """Create a Bedrock custom model from a Nova checkpoint and deploy it.

    :param clients: the AWS clients (``clients.bedrock`` is used).
    :param poll_seconds: seconds between status checks.
    :param timeout_seconds: how long one deploy may wait in total before it gives up.
    :param sleep: waits between status checks (inject a fake in tests).
    :param clock: a monotonic clock for the timeout.
    """

    def __init__(
        self,
        clients: AwsClients,
        *,
        poll_seconds: float = 30.0,
        timeout_seconds: float = 4 * 3600.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.clients = clients
        self.poll_seconds = poll_seconds
        self.timeout_seconds = timeout_seconds
        self.sleep = sleep
        self.clock = clock

    def __repr__(self) -> str:
        return f"BedrockDeployer(clients={self.clients!r}, timeout_seconds={self.timeout_seconds})"

    def plan(
        self,
        model: Model,
        model_artifact_path: str,
        deploy_platform: DeployPlatform = DeployPlatform.BEDROCK_OD,
        pt_units: int | None = None,
        endpoint_name: str | None = None,
        *,
        role_arn: str,
        model_name: str | None = None,
    ) -> DeployPlan:
        """Check every argument and settle the names; makes no AWS call."""
        if not isinstance(model, Model):
            raise ConfigurationError(f"model must be a Model, got {model!r}")
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
        path = str(S3Uri.parse(model_artifact_path, "model_artifact_path"))
        if len(path) > 1024 or not S3_URI_PATTERN.fullmatch(path):
            raise ConfigurationError(
                f"model_artifact_path {path!r} breaks Bedrock's s3Uri rule: at most 1024 characters, key segments "
                "of letters, digits and -!_*'(). separated by single '/'"
            )
        generated_model, generated_endpoint = default_names(model, path, deploy_platform)
        platform_field = (
            "modelDeploymentName" if deploy_platform is DeployPlatform.BEDROCK_OD else "provisionedModelName"
        )
        if not isinstance(role_arn, str) or len(role_arn) > 2048 or not ROLE_ARN_PATTERN.fullmatch(role_arn):
            raise ConfigurationError(
                f"role_arn {role_arn!r} is not an IAM role ARN (arn:aws:iam::<account>:role/<name>); Bedrock assumes "
                "this role to read the checkpoint"
            )
        return DeployPlan(
            model=model,
            platform=deploy_platform,
            model_artifact_path=path,
            model_name=check_bedrock_name(
                generated_model if model_name is None else model_name, "model_name", "modelName"
            ),
            endpoint_name=check_bedrock_name(
                generated_endpoint if endpoint_name is None else endpoint_name, "endpoint_name", platform_field
            ),
            role_arn=role_arn,
            pt_units=pt_units,
        )

    def deploy(
        self,
        model: Model,
        model_artifact_path: str,
        deploy_platform: DeployPlatform = DeployPlatform.BEDROCK_OD,
        pt_units: int | None = None,
        endpoint_name: str | None = None,
        *,
        role_arn: str,
        model_name: str | None = None,
    ) -> DeploymentResult:
        """Create (or reuse) the custom model and its deployment, wait for both, and return the result.

        :param model: the Nova model the checkpoint was trained from.
        :param model_artifact_path: S3 URI of the checkpoint (the training job's ``checkpoint_s3_path``).
        :param deploy_platform: ``DeployPlatform.BEDROCK_OD`` or ``DeployPlatform.BEDROCK_PT``.
        :param pt_units: model units of provisioned throughput; required for PT, rejected for OD.
        :param endpoint_name: the deployment's (or throughput's) name; generated from the checkpoint when absent.
        :param role_arn: a role Bedrock assumes to read the checkpoint.
        :param model_name: the custom model's name; generated from the checkpoint when absent.
        :raises ConfigurationError: bad input, before any call.
        :raises DeploymentError: a call, the model or the deployment failed or timed out.
        """
        plan = self.plan(
            model,
            model_artifact_path,
            deploy_platform,
            pt_units,
            endpoint_name,
            role_arn=role_arn,
            model_name=model_name,
        )
        progress = _Progress()
        deadline = self.clock() + self.timeout_seconds
        kind = "on-demand deployment" if plan.platform is DeployPlatform.BEDROCK_OD else "provisioned throughput"
        label = f"Bedrock {kind} {plan.endpoint_name!r}"
        try:
            model_arn = self._custom_model(plan, progress, deadline)
            if plan.platform is DeployPlatform.BEDROCK_OD:
                endpoint_arn, desc = self._deployment(plan, model_arn, progress, deadline)
                created_at = desc["createdAt"]
            else:
                endpoint_arn, desc = self._throughput(plan, model_arn, progress, deadline)
                created_at = desc["creationTime"]
        except JobFailedError as exc:
            message = f"{label} failed: {exc.job_id} is {exc.status}: {exc.reason or 'no reason given'}"
            raise DeploymentError(message, progress.created, progress.reused, exc.job_id, exc.reason) from exc
        except DeploymentError:
            raise
        except NovaError as exc:
            raise DeploymentError(f"{label} failed: {exc}", progress.created, progress.reused) from exc
        endpoint = EndpointInfo(
            platform=plan.platform,
            endpoint_name=plan.endpoint_name,
            uri=endpoint_arn,
            model_artifact_path=plan.model_artifact_path,
            created_at=created_at,
        )
        return DeploymentResult(
            endpoint=endpoint,
            platform=plan.platform,
            endpoint_name=plan.endpoint_name,
            uri=model_arn,
            model_artifact_path=plan.model_artifact_path,
            created_at=created_at,
            status=desc["status"],
            created=progress.created,
            reused=progress.reused,
        )

    # -- custom model ----------------------------------------------------------------------------
    def _custom_model(self, plan: DeployPlan, progress: _Progress, deadline: float) -> str:
        existing = self._get_model(plan.model_name)
        if existing is None:
            request = {
                "modelName": plan.model_name,
                "roleArn": plan.role_arn,
                "modelSourceConfig": {"s3DataSource": {"s3Uri": plan.model_artifact_path}},
                "modelTags": [{"key": BASE_MODEL_TAG, "value": plan.model.model_type}],
            }
            try:
                with aws_errors("CreateCustomModel"):
                    arn: str = self.clients.bedrock.create_custom_model(**request)["modelArn"]
                progress.created.append(arn)
            except AwsCallError as exc:
                existing = self._get_model(plan.model_name) if exc.code == "ConflictException" else None
                if existing is None:
                    raise
        if existing is not None:
            arn = existing["modelArn"]
            progress.reused.append(arn)
            if existing.get("modelStatus") == "Failed":
                reason = f"custom model {plan.model_name} failed in an earlier attempt ({existing.get('failureMessage')}); delete it (DeleteCustomModel) and retry"
                raise JobFailedError(arn, "Failed", reason)
        self._wait("model", arn, lambda: self._get_model_by_arn(arn), deadline, "modelStatus", progress)
        return arn

    def _get_model(self, identifier: str) -> dict[str, Any] | None:
        try:
            return self._get_model_by_arn(identifier)
        except AwsCallError as exc:
            if error_code(exc) == "ResourceNotFoundException":
                return None
            raise

    def _get_model_by_arn(self, identifier: str) -> dict[str, Any]:
        with aws_errors("GetCustomModel"):
            desc: dict[str, Any] = self.clients.bedrock.get_custom_model(modelIdentifier=identifier)
        return desc

    # -- on-demand deployment ----------------------------------------------------------------------
    def _deployment(
        self, plan: DeployPlan, model_arn: str, progress: _Progress, deadline: float
    ) -> tuple[str, dict[str, Any]]:
        bedrock = self.clients.bedrock
        existing = self._find(
            "ListCustomModelDeployments",
            bedrock.list_custom_model_deployments,
            "modelDeploymentSummaries",
            "customModelDeploymentName",
            plan.endpoint_name,
        )
        if existing is None:
            with aws_errors("CreateCustomModelDeployment"):
                arn: str = bedrock.create_custom_model_deployment(
                    modelDeploymentName=plan.endpoint_name,
                    modelArn=model_arn,
                    clientRequestToken=_token("od", plan.endpoint_name, model_arn),
                )["customModelDeploymentArn"]
            progress.created.append(arn)
        else:
            arn = existing["customModelDeploymentArn"]
            self._check_reuse(plan, arn, existing, model_arn, progress)

        def describe() -> dict[str, Any]:
            with aws_errors("GetCustomModelDeployment"):
                desc: dict[str, Any] = bedrock.get_custom_model_deployment(customModelDeploymentIdentifier=arn)
            return desc

        return arn, self._wait(plan.platform, arn, describe, deadline, "status", progress)

    # -- provisioned throughput --------------------------------------------------------------------
    def _throughput(
        self, plan: DeployPlan, model_arn: str, progress: _Progress, deadline: float
    ) -> tuple[str, dict[str, Any]]:
        bedrock = self.clients.bedrock
        existing = self._find(
            "ListProvisionedModelThroughputs",
            bedrock.list_provisioned_model_throughputs,
            "provisionedModelSummaries",
            "provisionedModelName",
            plan.endpoint_name,
        )
        if existing is None:
            with aws_errors("CreateProvisionedModelThroughput"):
                arn: str = bedrock.create_provisioned_model_throughput(
                    modelUnits=plan.pt_units,
                    provisionedModelName=plan.endpoint_name,
                    modelId=model_arn,
                    clientRequestToken=_token("pt", plan.endpoint_name, model_arn, plan.pt_units),
                )["provisionedModelArn"]
            progress.created.append(arn)
        else:
            arn = existing["provisionedModelArn"]
            self._check_reuse(plan, arn, existing, model_arn, progress)
            if existing.get("desiredModelUnits", existing.get("modelUnits")) != plan.pt_units:
                raise DeploymentError(
                    f"provisioned throughput {plan.endpoint_name!r} exists with {existing.get('modelUnits')} model "
                    f"units, not the {plan.pt_units} asked; change it in Bedrock or choose another endpoint_name",
                    progress.created,
                    progress.reused,
                    arn,
                )

        def describe() -> dict[str, Any]:
            with aws_errors("GetProvisionedModelThroughput"):
                desc: dict[str, Any] = bedrock.get_provisioned_model_throughput(provisionedModelId=arn)
            return desc

        return arn, self._wait(plan.platform, arn, describe, deadline, "status", progress)

    # -- shared ----------------------------------------------------------------------------------
    def _find(
        self, operation: str, call: Callable[..., dict[str, Any]], rows_key: str, name_key: str, name: str
    ) -> dict[str, Any] | None:
        """Return the listed resource named exactly ``name`` (``nameContains`` also matches longer names)."""
        kwargs: dict[str, Any] = {"nameContains": name}
        while True:
            with aws_errors(operation):
                page = call(**kwargs)
            for row in page.get(rows_key, []):
                if row.get(name_key) == name:
                    found: dict[str, Any] = row
                    return found
            if not page.get("nextToken"):
                return None
            kwargs["nextToken"] = page["nextToken"]

    def _check_reuse(
        self, plan: DeployPlan, arn: str, existing: dict[str, Any], model_arn: str, progress: _Progress
    ) -> None:
        if existing.get("modelArn") != model_arn:
            raise DeploymentError(
                f"endpoint_name {plan.endpoint_name!r} is already used by {arn} for model {existing.get('modelArn')}, "
                f"not {model_arn}; choose another endpoint_name",
                progress.created,
                progress.reused,
                arn,
            )
        progress.reused.append(arn)
        if existing.get("status") == "Failed":
            reason = f"{plan.endpoint_name} failed in an earlier attempt ({existing.get('failureMessage')}); delete it and retry"
            raise JobFailedError(arn, "Failed", reason)

    def _wait(
        self,
        kind: str | DeployPlatform,
        arn: str,
        describe: Callable[[], dict[str, Any]],
        deadline: float,
        status_key: str,
        progress: _Progress,
    ) -> dict[str, Any]:
        """Poll ``describe`` until the resource reaches its final status; raise on failure or timeout."""
        final = FINAL_STATUS[kind]
        while True:
            desc = describe()
            status = desc.get(status_key)
            if status == final:
                return desc
            if status == "Failed":
                raise JobFailedError(arn, "Failed", desc.get("failureMessage"))
            if status not in IN_PROGRESS:
                raise NovaError(f"{arn} reported an unknown status {status!r}")
            if self.clock() >= deadline:
                raise DeploymentError(
                    f"timed out after {self.timeout_seconds:g} s waiting for {arn} to become {final} (still {status})",
                    progress.created,
                    progress.reused,
                    arn,
                )
            self.sleep(self.poll_seconds)
