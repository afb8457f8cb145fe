"""NovaModelCustomizer: fine-tune a Nova model from Python, checking everything before any paid call."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from airflow_provider_nova.core.aws import aws_errors, error_code
from airflow_provider_nova.core.enums import Model, Platform, TrainingMethod
from airflow_provider_nova.core.errors import AwsCallError, ConfigurationError, RecipeError
from airflow_provider_nova.core.logs import training_job_log_lines
from airflow_provider_nova.core.recipes import (
    BuiltRecipe,
    RecipeCache,
    RecipeEntry,
    RecipeHub,
    build_recipe,
    load_recipe_file,
)
from airflow_provider_nova.core.results import ModelArtifacts, TrainingResult
from airflow_provider_nova.core.runtimes.base import RuntimeManager, check_job_name
from airflow_provider_nova.core.runtimes.smtj import output_tar_uri
from airflow_provider_nova.core.s3 import S3Uri

# Regions where the Nova customization images are published (the hub is authoritative per recipe).
SUPPORTED_REGIONS = ("us-east-1", "us-west-2", "ap-northeast-1")
LAMBDA_ARN = re.compile(
    r"^arn:aws[a-z\-]*:lambda:[a-z0-9\-]+:\d{12}:function:[a-zA-Z0-9\-_]{1,64}(:(\$LATEST|[a-zA-Z0-9\-_]+))?$"
)
VALIDATION_CHECKS = {"infra": True, "data": True}


@dataclass(frozen=True)
class TrainingPlan:
    """Everything a training job needs, checked: the recipe, its image and the request."""

    job_name: str
    recipe: BuiltRecipe
    image_uri: str
    data_s3_path: str
    output_s3_path: str
    input_s3_data_type: str
    request: dict[str, Any]


class NovaModelCustomizer:
    """Customize a Nova model: train it on your data, then evaluate and deploy it.

    :param model: the Nova model to customize.
    :param method: the training method (``TrainingMethod.SFT_LORA``, ``TrainingMethod.RFT``, ...).
    :param infra: where jobs run (``SMTJRuntimeManager`` or ``SMHPRuntimeManager``).
    :param data_s3_path: S3 URI of the training data.
    :param output_s3_path: S3 URI for job outputs; generated in the SageMaker default bucket when omitted.
    :param model_path: S3 URI of a trained checkpoint to continue from, instead of the base model.
    :param validation_config: turn checks off by name: ``infra`` (instance type and count against the
        published recipe) and ``data`` (the training data exists); both on by default.
    """

    def __init__(
        self,
        model: Model,
        method: TrainingMethod,
        infra: RuntimeManager,
        data_s3_path: str,
        output_s3_path: str | None = None,
        model_path: str | None = None,
        validation_config: Mapping[str, bool] | None = None,
        *,
        recipe_cache: RecipeCache | None = None,
    ) -> None:
        if not isinstance(model, Model):
            raise ConfigurationError(f"model must be a Model, got {model!r}; valid: {', '.join(m.name for m in Model)}")
        if not isinstance(method, TrainingMethod):
            raise ConfigurationError(f"method must be a TrainingMethod, got {method!r}")
        if not isinstance(infra, RuntimeManager):
            raise ConfigurationError(
                f"infra must be SMTJRuntimeManager or SMHPRuntimeManager, got {type(infra).__name__}"
            )
        self.model, self.method, self.infra = model, method, infra
        self.data_s3_path = str(S3Uri.parse(data_s3_path, "data_s3_path"))
        self.output_s3_path = str(S3Uri.parse(output_s3_path, "output_s3_path")) if output_s3_path else None
        self.model_path = str(S3Uri.parse(model_path, "model_path")) if model_path else None
        self.validation_config = _checks(validation_config)
        region = infra.clients.region_name
        if region not in SUPPORTED_REGIONS:
            raise ConfigurationError(
                f"region {region!r} is not supported for Nova customization; supported regions: {', '.join(SUPPORTED_REGIONS)}"
            )
        self.hub = RecipeHub(infra.clients, recipe_cache)
        self.job_id: str | None = None

    def __repr__(self) -> str:
        return f"NovaModelCustomizer(model={self.model.name}, method={self.method.name}, infra={self.infra!r})"

    # -- training ----------------------------------------------------------------------------
    def validate(
        self,
        job_name: str,
        recipe_path: str | None = None,
        overrides: dict[str, Any] | None = None,
        rft_lambda_arn: str | None = None,
    ) -> None:
        """Run every check ``train()`` runs, and raise on the first problem; launches nothing."""
        self.plan_training(job_name, recipe_path, overrides, rft_lambda_arn)

    def train(
        self,
        job_name: str,
        recipe_path: str | None = None,
        overrides: dict[str, Any] | None = None,
        rft_lambda_arn: str | None = None,
    ) -> TrainingResult:
        """Render the recipe, check it, and start the training job."""
        plan = self.plan_training(job_name, recipe_path, overrides, rft_lambda_arn)
        started = datetime.now(timezone.utc)
        job_id = self.infra.execute(
            plan.job_name,
            plan.data_s3_path,
            plan.output_s3_path,
            plan.image_uri,
            plan.recipe.yaml,
            plan.input_s3_data_type,
        )
        self.job_id = job_id
        clients = self.infra.clients
        result = TrainingResult(
            job_id=job_id,
            started_time=started,
            platform=self.infra.platform,
            region=clients.region_name,
            endpoint_url=clients.endpoint_url,
            method=self.method,
            model_artifacts=ModelArtifacts(output_s3_path=output_tar_uri(plan.output_s3_path, job_id)),
        )
        result.with_clients(clients)
        return result

    def plan_training(
        self,
        job_name: str,
        recipe_path: str | None = None,
        overrides: dict[str, Any] | None = None,
        rft_lambda_arn: str | None = None,
    ) -> TrainingPlan:
        """Check the inputs, resolve and render the recipe, and build the job request (no job starts)."""
        check_job_name(job_name)
        self._check_method(rft_lambda_arn)
        entry = self._select_recipe()
        template = self.hub.template(entry)
        self._check_instance_count(entry, template.params)
        managed = {
            "name": job_name,
            "replicas": self.infra.instance_count,
            "model_name_or_path": self.model_path or self.model.model_path,
            "reward_lambda_arn": rft_lambda_arn or "",
        }
        user_recipe = load_recipe_file(recipe_path, lambda: self.infra.clients.s3) if recipe_path else None
        recipe = build_recipe(template, self.model, managed, overrides, user_recipe, source=recipe_path or "hub")
        output = self.output_s3_path or self._default_output_path()
        data_type = "S3Prefix" if self.method.is_rft else "Converse"
        if self.validation_config["data"]:
            self._check_data_exists()
        request = self._request(job_name, output, entry, recipe, data_type)
        image = str(entry.smtj_image_uri)
        return TrainingPlan(job_name, recipe, image, self.data_s3_path, output, data_type, request)

    def _request(
        self, job_name: str, output: str, entry: RecipeEntry, recipe: BuiltRecipe, data_type: str
    ) -> dict[str, Any]:
        build = getattr(self.infra, "training_job_request", None)
        if build is None:
            raise NotImplementedError(f"training on {self.infra.platform.value} is not available in this release")
        request: dict[str, Any] = build(
            job_name, self.data_s3_path, output, str(entry.smtj_image_uri), recipe.yaml, data_type
        )
        return request

    def _check_method(self, rft_lambda_arn: str | None) -> None:
        if self.method is TrainingMethod.EVALUATION:
            raise ConfigurationError("method EVALUATION does not train; use evaluate() or a training method")
        if self.method.is_rft:
            if not rft_lambda_arn:
                raise ConfigurationError(f"{self.method.name} needs rft_lambda_arn, the reward function's Lambda ARN")
            if not LAMBDA_ARN.match(rft_lambda_arn):
                raise ConfigurationError(
                    f"rft_lambda_arn {rft_lambda_arn!r} is not a Lambda function ARN "
                    "(arn:aws:lambda:<region>:<account>:function:<name>)"
                )
        elif rft_lambda_arn:
            raise ConfigurationError(f"rft_lambda_arn is only used by RFT methods, not {self.method.name}")

    def _select_recipe(self) -> RecipeEntry:
        if self.infra.platform is not Platform.SMTJ:
            raise NotImplementedError(f"training on {self.infra.platform.value} is not available in this release")
        try:
            return self.hub.select_training(self.model, self.method, self.infra.platform, self.infra.instance_type)
        except RecipeError:
            if self.validation_config["infra"]:
                raise
        candidates = [
            e for e in self.hub.recipes(self.model) if e.is_training_for(self.method) and e.runs_on(Platform.SMTJ)
        ]
        if not candidates:
            raise RecipeError(f"no published SMTJ recipe for {self.model.name} with {self.method.name}")
        return candidates[0]

    def _check_instance_count(self, entry: RecipeEntry, params: Any) -> None:
        if not self.validation_config["infra"] or "replicas" not in params:
            return
        allowed = params["replicas"].enum
        count = self.infra.instance_count
        if allowed is None or count in allowed:
            return
        elsewhere = self._types_allowing(count)
        hint = f"; {count} instance(s) are allowed on {', '.join(elsewhere)}" if elsewhere else ""
        raise ConfigurationError(
            f"instance_count {count} is not allowed for {self.model.name} {self.method.name} on "
            f"{self.infra.instance_type} (recipe {entry.name}); allowed counts: "
            f"{', '.join(str(c) for c in allowed)}{hint}"
        )

    def _types_allowing(self, count: int) -> list[str]:
        types: list[str] = []
        for entry in self.hub.recipes(self.model):
            if entry.is_training_for(self.method) and entry.runs_on(Platform.SMTJ):
                params = self.hub.template(entry).params
                if "replicas" in params and count in (params["replicas"].enum or ()):
                    types += [t for t in entry.instance_types if t not in types]
        return types

    def _check_data_exists(self) -> None:
        loc = S3Uri.parse(self.data_s3_path)
        try:
            with aws_errors("ListObjectsV2"):
                page = self.infra.clients.s3.list_objects_v2(Bucket=loc.bucket, Prefix=loc.key, MaxKeys=1)
        except AwsCallError as exc:
            if error_code(exc) == "NoSuchBucket":
                raise ConfigurationError(
                    f"data_s3_path {self.data_s3_path}: bucket {loc.bucket} does not exist"
                ) from exc
            raise
        if not page.get("KeyCount"):
            raise ConfigurationError(f"data_s3_path {self.data_s3_path} has no objects: upload the training data first")

    def _default_output_path(self) -> str:
        """``s3://sagemaker-<region>-<account>/nova-customization/``, creating the bucket when missing."""
        clients = self.infra.clients
        region = clients.region_name
        bucket = f"sagemaker-{region}-{clients.account_id()}"
        try:
            with aws_errors("HeadBucket"):
                clients.s3.head_bucket(Bucket=bucket)
        except AwsCallError:
            config = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
            with aws_errors("CreateBucket"):
                clients.s3.create_bucket(Bucket=bucket, **config)
        self.output_s3_path = f"s3://{bucket}/nova-customization/"
        return self.output_s3_path

    # -- logs ----------------------------------------------------------------------------------
    def get_logs(self, limit: int | None = None, start_from_head: bool = False) -> None:
        """Print the CloudWatch log lines of the job this customizer started last."""
        if self.job_id is None:
            raise ConfigurationError("no job has been started by this customizer yet: call train() first")
        lines = training_job_log_lines(self.infra.clients, self.job_id, limit, start_from_head)
        if not lines:
            print(f"no log lines yet for job {self.job_id}")
        for line in lines:
            print(line)


def _checks(config: Mapping[str, bool] | None) -> dict[str, bool]:
    checks = dict(VALIDATION_CHECKS)
    for key, value in (config or {}).items():
        if key not in checks:
            raise ConfigurationError(f"unknown validation_config key {key!r}; known: {', '.join(checks)}")
        if not isinstance(value, bool):
            raise ConfigurationError(f"validation_config[{key!r}] must be True or False, got {value!r}")
        checks[key] = value
    return checks
