"""SageMaker Training Jobs: the CreateTrainingJob a Nova recipe becomes."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import yaml

from airflow_provider_nova.core.aws import aws_errors, error_code
from airflow_provider_nova.core.enums import JobStatus, Platform
from airflow_provider_nova.core.errors import AwsCallError, ConfigurationError
from airflow_provider_nova.core.formats import check_shape
from airflow_provider_nova.core.lifecycle import JobRef, JobState
from airflow_provider_nova.core.runtimes.base import (
    JobSpec,
    RuntimeManager,
    RuntimePlan,
    check_job_name,
    name_taken,
)
from airflow_provider_nova.core.runtimes.roles import resolve_execution_role
from airflow_provider_nova.core.s3 import S3Uri, bucket_exists, write_object
from airflow_provider_nova.core.status import map_sagemaker_status, map_training_job_page

if TYPE_CHECKING:
    from airflow_provider_nova.core.aws import AwsClients

log = logging.getLogger(__name__)

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
    check_shape(uri, f"the {name} channel's S3 URI", "sagemaker", "S3Uri")
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


@dataclass(frozen=True)
class JobSettings:
    """What a started job was asked to do: its output location and its runtime limit."""

    output_s3_path: str
    max_runtime_seconds: int | None


class TrainingJobs:
    """SageMaker training jobs by name: start a planned request, describe, stop, look up many at once.

    Needs no instance configuration, so a result loaded from a file or an Airflow trigger can follow a
    job with only the clients.
    """

    def __init__(self, clients: AwsClients) -> None:
        self.clients = clients
        self._created: dict[str, datetime] = {}  # creation times of jobs seen in a list, to start the next one there

    def ref(self, job_name: str) -> JobRef:
        return JobRef(Platform.SMTJ, job_name, self.clients.region_name)

    def exists(self, job_name: str) -> bool:
        return self.find(job_name) is not None

    def find(self, job_name: str) -> tuple[JobState, JobSettings] | None:
        """A job's state and settings from one describe; None when no job has that name."""
        try:
            answer = self._describe(job_name)
        except AwsCallError as exc:
            if error_code(exc) == "ValidationException":  # SageMaker's answer for "Requested resource not found"
                return None
            raise
        return job_state(answer), _settings(answer)

    def start(self, plan: RuntimePlan) -> JobRef:
        """Create the default bucket when planned, refuse a taken name, upload the recipe, create the job."""
        name = plan.job_name
        if self.exists(name):
            raise ConfigurationError(name_taken(name, self.clients.region_name))
        if plan.create_bucket:
            ensure_bucket(self.clients, plan.create_bucket)
        if plan.recipe_uri is None:
            raise ConfigurationError("a SageMaker training job plan must say where its recipe is uploaded")
        with aws_errors("PutObject"):
            write_object(self.clients.s3, plan.recipe_uri, plan.spec.recipe.encode("utf-8"), "application/x-yaml")
        try:
            with aws_errors("CreateTrainingJob"):
                self.clients.sagemaker.create_training_job(**plan.request)
        except AwsCallError as exc:
            if error_code(exc) != "ResourceInUse":
                raise
            if not self.is_own(name, plan.request):
                raise ConfigurationError(name_taken(name, self.clients.region_name)) from exc
            log.info("training job %s exists as this request asked (an attempt whose answer was lost): using it", name)
        return self.ref(name)

    def is_own(self, job_name: str, request: dict[str, Any]) -> bool:
        """Whether the job named ``job_name`` was created by ``request``: a create whose answer was lost.

        botocore retries a create whose connection dropped; SageMaker then answers ``ResourceInUse`` for
        the job the first attempt made. That job is this request's when the service's copy of it has the
        same role, image, hyperparameters (which name the recipe), channels, output, instances and runtime.
        """
        found = self._describe(job_name)
        return request_fingerprint(found) == request_fingerprint(request)

    def _describe(self, job_name: str) -> dict[str, Any]:
        with aws_errors("DescribeTrainingJob"):
            answer: dict[str, Any] = self.clients.sagemaker.describe_training_job(TrainingJobName=job_name)
        if isinstance(answer.get("CreationTime"), datetime):
            self._created[job_name] = answer["CreationTime"]
        return answer

    def describe(self, ref: JobRef) -> JobState:
        return job_state(self._describe(ref.job_name))

    def settings(self, ref: JobRef) -> JobSettings:
        """Where an existing job writes and how long it may run, read back from the service."""
        return _settings(self._describe(ref.job_name))

    def describe_many(self, job_names: list[str]) -> dict[str, JobState]:
        """States of many jobs in few calls: from ``ListTrainingJobs`` pages, a describe only where needed.

        A job listed as ``InProgress``, ``Stopping`` or ``Completed`` is taken from the list. One listed as
        ``Failed`` or ``Stopped`` is described once, for its ``FailureReason``; so is a named job the list
        does not show (one that does not exist gets the service's error). A wait on a thousand jobs thus
        costs a few list pages per poll and nothing more when a job completes.
        """
        self._created = {name: self._created[name] for name in job_names if name in self._created}
        listed = self._listed(set(job_names))
        return {name: listed[name] if name in listed else self.describe(self.ref(name)) for name in job_names}

    def _listed(self, wanted: set[str]) -> dict[str, JobState]:
        """The ``wanted`` jobs' states from the list, following pages until each was seen or none is left.

        SageMaker takes a window of ``MaxResults`` jobs (newest first here) and would only then apply a
        ``StatusEquals`` filter, so listing every status costs no extra page and shows the jobs that just
        ended. Once every wanted job's creation time is known, the list starts there
        (``CreationTimeAfter``) instead of at the account's first job. Failed and stopped jobs are seen but
        left out: their describe has the reason.
        """
        request: dict[str, Any] = {"MaxResults": 100, "SortBy": "CreationTime", "SortOrder": "Descending"}
        if wanted and wanted <= self._created.keys():
            request["CreationTimeAfter"] = min(self._created[name] for name in wanted) - timedelta(seconds=1)
        found: dict[str, JobState] = {}
        seen: set[str] = set()
        while wanted - seen:
            with aws_errors("ListTrainingJobs"):
                page = self.clients.sagemaker.list_training_jobs(**request)
            rows = [row for row in page.get("TrainingJobSummaries", []) if row.get("TrainingJobName") in wanted]
            found.update(self._listed_states(rows))
            seen.update(str(row["TrainingJobName"]) for row in rows)
            if not page.get("NextToken"):
                break
            request["NextToken"] = page["NextToken"]
        return found

    def _listed_states(self, rows: list[dict[str, Any]]) -> dict[str, JobState]:
        """The states of listed jobs that need no describe (not failed or stopped); creation times noted."""
        for row in rows:
            if isinstance(row.get("CreationTime"), datetime):
                self._created[row["TrainingJobName"]] = row["CreationTime"]
        mapped = map_training_job_page(rows)
        secondary = {str(row["TrainingJobName"]): row.get("SecondaryStatus") for row in rows}
        return {
            name: JobState(status, raw, None, None if secondary[name] is None else str(secondary[name]))
            for name, (status, raw) in mapped.items()
            if status is not JobStatus.FAILED
        }

    def stop(self, ref: JobRef) -> None:
        try:
            with aws_errors("StopTrainingJob"):
                self.clients.sagemaker.stop_training_job(TrainingJobName=ref.job_name)
        except AwsCallError as exc:
            if error_code(exc) != "ValidationException" or self.describe(ref).status is JobStatus.IN_PROGRESS:
                raise


def request_fingerprint(request: dict[str, Any]) -> tuple[Any, ...]:
    """What identifies a CreateTrainingJob request, read alike from the request and from its describe."""
    algorithm, output = request.get("AlgorithmSpecification") or {}, request.get("OutputDataConfig") or {}
    resources, stopping = request.get("ResourceConfig") or {}, request.get("StoppingCondition") or {}
    channels = sorted(
        (str(c.get("ChannelName")), str(((c.get("DataSource") or {}).get("S3DataSource") or {}).get("S3Uri")))
        for c in request.get("InputDataConfig") or []
    )
    return (
        request.get("TrainingJobName"),
        request.get("RoleArn"),
        algorithm.get("TrainingImage"),
        dict(request.get("HyperParameters") or {}),
        channels,
        output.get("S3OutputPath"),
        resources.get("InstanceType"),
        resources.get("InstanceCount"),
        stopping.get("MaxRuntimeInSeconds"),
    )


def job_state(answer: dict[str, Any]) -> JobState:
    """A ``DescribeTrainingJob`` answer as a JobState."""
    raw = str(answer["TrainingJobStatus"])
    reason = answer.get("FailureReason")
    secondary = answer.get("SecondaryStatus")
    return JobState(
        map_sagemaker_status(raw),
        raw,
        None if reason is None else str(reason),
        None if secondary is None else str(secondary),
    )


def _settings(answer: dict[str, Any]) -> JobSettings:
    """A ``DescribeTrainingJob`` answer's output location and runtime limit."""
    seconds = (answer.get("StoppingCondition") or {}).get("MaxRuntimeInSeconds")
    return JobSettings(str(answer["OutputDataConfig"]["S3OutputPath"]), None if seconds is None else int(seconds))


def ensure_bucket(clients: AwsClients, bucket: str) -> None:
    """Create ``bucket`` in the clients' region when it does not exist."""
    if bucket_exists(clients.s3, bucket) is not False:
        return
    region = clients.region_name
    config = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    with aws_errors("CreateBucket"):
        clients.s3.create_bucket(Bucket=bucket, **config)


class SMTJRuntimeManager(RuntimeManager):
    """Runs Nova jobs as SageMaker Training Jobs.

    :param instance_type: the ML instance type, e.g. ``ml.p5.48xlarge``.
    :param instance_count: how many instances; must be one the recipe allows.
    :param execution_role: IAM role ARN or name the job runs as; the caller's own role when omitted.
    :param max_job_runtime: ``MaxRuntimeInSeconds`` (default 86400, at most 28 days).
    :param tags: tags put on each training job (none by default).
    :param clients: the AWS clients to use; built from the default boto3 session when omitted.
    :param allow_cross_account: let the job run as a role (or call a function a recipe names) in another
        account than the caller's; refused by default.
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
        allow_cross_account: bool = False,
    ) -> None:
        super().__init__(instance_type, instance_count, clients, allow_cross_account=allow_cross_account)
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

    @property
    def jobs(self) -> TrainingJobs:
        return TrainingJobs(self.clients)

    def role_arn(self) -> str:
        """The execution role ARN, resolved once."""
        if self._role_arn is None:
            self._role_arn = resolve_execution_role(self.clients, self.execution_role)
        return self._role_arn

    def plan(self, spec: JobSpec, *, create_bucket: str | None = None) -> RuntimePlan:
        """The CreateTrainingJob request for ``spec`` (role look-up at most; nothing is created)."""
        check_job_name(spec.job_name)
        parsed = yaml.safe_load(spec.recipe)
        if not isinstance(parsed, dict):
            raise ConfigurationError("recipe must be the YAML text of a mapping")
        channels = []
        if spec.data_s3_path:
            data = str(S3Uri.parse(spec.data_s3_path, "data_s3_path"))
            channels.append(_channel("train", data, spec.input_s3_data_type))
        validation = (parsed.get("run") or {}).get("validation_data_s3_path")
        if validation:
            channels.append(_channel("validation", str(S3Uri.parse(validation, "validation_s3_path")), "Converse"))
        recipe_uri = recipe_s3_uri(spec.output_s3_path, spec.job_name)
        channels.append(_channel("recipe", recipe_uri.rsplit("/", 1)[0] + "/", "S3Prefix"))
        output = check_shape(
            str(S3Uri.parse(spec.output_s3_path, "output_s3_path")), "output_s3_path", "sagemaker", "S3Uri"
        )
        request: dict[str, Any] = {
            "TrainingJobName": spec.job_name,
            "HyperParameters": hyperparameters(parsed),
            "AlgorithmSpecification": {"TrainingInputMode": "File", "TrainingImage": spec.image_uri},
            "RoleArn": self.role_arn(),
            "InputDataConfig": channels,
            "OutputDataConfig": {"S3OutputPath": output},
            "ResourceConfig": {
                "InstanceType": self.instance_type,
                "InstanceCount": spec.instance_count or self.instance_count,
                "VolumeSizeInGB": VOLUME_SIZE_GB,
            },
            "StoppingCondition": {"MaxRuntimeInSeconds": self.max_job_runtime},
            "TensorBoardOutputConfig": {"S3OutputPath": output},
        }
        self.check_accounts({"execution_role": request["RoleArn"]})
        if self.tags:
            request["Tags"] = [{"Key": k, "Value": v} for k, v in self.tags.items()]
        return RuntimePlan(spec, request, recipe_uri, create_bucket)

    def start(self, plan: RuntimePlan) -> JobRef:
        return self.jobs.start(plan)

    def describe(self, ref: JobRef) -> JobState:
        return self.jobs.describe(ref)

    def stop(self, ref: JobRef) -> None:
        self.jobs.stop(ref)

    def exists(self, job_name: str) -> bool:
        return self.jobs.exists(job_name)
