"""SageMaker Training Jobs: the CreateTrainingJob a Nova recipe becomes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import yaml

from airflow_provider_nova.core.aws import aws_errors, error_code
from airflow_provider_nova.core.enums import JobStatus, Platform
from airflow_provider_nova.core.errors import AwsCallError, ConfigurationError
from airflow_provider_nova.core.runtimes.base import RuntimeManager, check_job_name
from airflow_provider_nova.core.runtimes.roles import resolve_execution_role
from airflow_provider_nova.core.s3 import S3Uri, write_object
from airflow_provider_nova.core.status import map_sagemaker_status

if TYPE_CHECKING:
    from airflow_provider_nova.core.aws import AwsClients

RECIPE_LOCAL_PATH = "/opt/ml/input/data/recipe/recipe.yaml"
DEFAULT_MAX_RUNTIME = 86400
MAX_RUNTIME_LIMIT = 28 * 86400  # SageMaker's longest MaxRuntimeInSeconds
VOLUME_SIZE_GB = 30


def recipe_s3_uri(output_s3_path: str, job_name: str) -> str:
    """Where a job's rendered recipe is kept: beside its output, under ``<job>/input/recipe/``."""
    return str(S3Uri.parse(output_s3_path, "output_s3_path").join(job_name, "input", "recipe", "recipe.yaml"))


def output_tar_uri(output_s3_path: str, job_name: str) -> str:
    """The tar a finished job leaves its manifest, metrics and outputs in."""
    return str(S3Uri.parse(output_s3_path, "output_s3_path").join(job_name, "output", "output.tar.gz"))


def _channel(name: str, uri: str, data_type: str) -> dict[str, Any]:
    return {
        "ChannelName": name,
        "DataSource": {
            "S3DataSource": {"S3DataType": data_type, "S3Uri": uri, "S3DataDistributionType": "FullyReplicated"}
        },
    }


def hyperparameters(recipe: dict[str, Any]) -> dict[str, str]:
    """The hyperparameters the Nova containers read, taken from the rendered recipe."""
    run = recipe.get("run") or {}
    hp = {"sagemaker_recipe_local_path": RECIPE_LOCAL_PATH}
    model = str(run.get("model_name_or_path") or "")
    hp["base_model_location" if model.startswith("s3://") else "base_model"] = model
    if run.get("reward_lambda_arn"):
        hp["reward_lambda_arn"] = str(run["reward_lambda_arn"])
    processor = recipe.get("processor") or {}
    if processor.get("lambda_arn"):
        hp["eval_lambda_arn"] = str(processor["lambda_arn"])
    interval = (recipe.get("training_config") or {}).get("val_check_interval")
    if run.get("validation_data_s3_path") and interval is not None:
        hp["val_check_interval"] = str(interval)
    return hp


class SMTJRuntimeManager(RuntimeManager):
    """Runs Nova jobs as SageMaker Training Jobs.

    :param instance_type: the ML instance type, e.g. ``ml.p5.48xlarge``.
    :param instance_count: how many instances; must be one the recipe allows.
    :param execution_role: IAM role ARN or name the job runs as; the caller's own role when omitted.
    :param max_job_runtime: ``MaxRuntimeInSeconds`` (default 86400, at most 28 days).
    :param tags: tags put on each training job (none by default).
    :param clients: the AWS clients to use; built from the default boto3 session when omitted.
    """

    platform = Platform.SMTJ

    def __init__(
        self,
        instance_type: str,
        instance_count: int,
        *,
        execution_role: str | None = None,
        max_job_runtime: int = DEFAULT_MAX_RUNTIME,
        tags: dict[str, str] | None = None,
        clients: AwsClients | None = None,
    ) -> None:
        super().__init__(instance_type, instance_count, clients)
        if (
            not isinstance(max_job_runtime, int)
            or isinstance(max_job_runtime, bool)
            or not 1 <= max_job_runtime <= MAX_RUNTIME_LIMIT
        ):
            raise ConfigurationError(f"max_job_runtime must be 1..{MAX_RUNTIME_LIMIT} seconds, got {max_job_runtime!r}")
        if execution_role is not None and (not isinstance(execution_role, str) or not execution_role):
            raise ConfigurationError(f"execution_role must be a role ARN or name, got {execution_role!r}")
        self.execution_role = execution_role
        self.max_job_runtime = max_job_runtime
        self.tags = dict(tags or {})
        self._role_arn: str | None = None

    def __repr__(self) -> str:
        return f"SMTJRuntimeManager(instance_type={self.instance_type!r}, instance_count={self.instance_count})"

    def role_arn(self) -> str:
        """The execution role ARN, resolved once."""
        if self._role_arn is None:
            self._role_arn = resolve_execution_role(self.clients, self.execution_role)
        return self._role_arn

    def training_job_request(
        self,
        job_name: str,
        data_s3_path: str | None,
        output_s3_path: str,
        image_uri: str,
        recipe: str,
        input_s3_data_type: str = "Converse",
        *,
        instance_count: int | None = None,
    ) -> dict[str, Any]:
        """The CreateTrainingJob request for a rendered recipe (no call is made).

        :param instance_count: instances for this job when not the runtime's own count (evaluation runs on one).
        """
        check_job_name(job_name)
        parsed = yaml.safe_load(recipe)
        if not isinstance(parsed, dict):
            raise ConfigurationError("recipe must be the YAML text of a mapping")
        channels = []
        if data_s3_path:
            channels.append(_channel("train", str(S3Uri.parse(data_s3_path, "data_s3_path")), input_s3_data_type))
        validation = (parsed.get("run") or {}).get("validation_data_s3_path")
        if validation:
            channels.append(_channel("validation", str(S3Uri.parse(validation, "validation_s3_path")), "Converse"))
        recipe_prefix = recipe_s3_uri(output_s3_path, job_name).rsplit("/", 1)[0] + "/"
        channels.append(_channel("recipe", recipe_prefix, "S3Prefix"))
        output = str(S3Uri.parse(output_s3_path, "output_s3_path"))
        request: dict[str, Any] = {
            "TrainingJobName": job_name,
            "HyperParameters": hyperparameters(parsed),
            "AlgorithmSpecification": {"TrainingInputMode": "File", "TrainingImage": image_uri},
            "RoleArn": self.role_arn(),
            "InputDataConfig": channels,
            "OutputDataConfig": {"S3OutputPath": output},
            "ResourceConfig": {
                "InstanceType": self.instance_type,
                "InstanceCount": instance_count or self.instance_count,
                "VolumeSizeInGB": VOLUME_SIZE_GB,
            },
            "StoppingCondition": {"MaxRuntimeInSeconds": self.max_job_runtime},
            "TensorBoardOutputConfig": {"S3OutputPath": output},
        }
        if self.tags:
            request["Tags"] = [{"Key": k, "Value": v} for k, v in self.tags.items()]
        return request

    def execute(
        self,
        job_name: str,
        data_s3_path: str | None,
        output_s3_path: str,
        image_uri: str,
        recipe: str,
        input_s3_data_type: str = "Converse",
        *,
        instance_count: int | None = None,
    ) -> str:
        """Upload the recipe beside the output and start the training job; returns its name."""
        request = self.training_job_request(
            job_name, data_s3_path, output_s3_path, image_uri, recipe, input_s3_data_type, instance_count=instance_count
        )
        with aws_errors("PutObject"):
            write_object(
                self.clients.s3, recipe_s3_uri(output_s3_path, job_name), recipe.encode("utf-8"), "application/x-yaml"
            )
        try:
            with aws_errors("CreateTrainingJob"):
                self.clients.sagemaker.create_training_job(**request)
        except AwsCallError as exc:
            if error_code(exc) == "ResourceInUse":
                raise ConfigurationError(
                    f"a training job named {job_name!r} already exists in {self.clients.region_name}; "
                    "job names are unique per account and region: choose another job_name"
                ) from exc
            raise
        return job_name

    def describe(self, job_id: str) -> dict[str, Any]:
        """The DescribeTrainingJob answer."""
        with aws_errors("DescribeTrainingJob"):
            answer: dict[str, Any] = self.clients.sagemaker.describe_training_job(TrainingJobName=job_id)
        return answer

    def status(self, job_id: str) -> tuple[JobStatus, str]:
        raw = str(self.describe(job_id)["TrainingJobStatus"])
        return map_sagemaker_status(raw), raw

    def cleanup(self, job_name: str) -> None:
        """Stop the training job; a job that already ended is left as it is."""
        try:
            with aws_errors("StopTrainingJob"):
                self.clients.sagemaker.stop_training_job(TrainingJobName=job_name)
        except AwsCallError as exc:
            if error_code(exc) != "ValidationException" or self.status(job_name)[0] is JobStatus.IN_PROGRESS:
                raise
