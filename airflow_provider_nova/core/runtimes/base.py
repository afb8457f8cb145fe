"""What every runtime manager offers: one seam for a job's life.

``plan(spec)`` builds the exact request and creates nothing; ``start(plan)`` sends that request
and returns a ``JobRef``; ``describe(ref)`` returns a ``JobState``; ``stop(ref)`` stops the job.
The spec's ``execute()`` and ``cleanup()`` are ``start(plan(...))`` and ``stop(...)``.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from airflow_provider_nova.core.errors import ConfigurationError
from airflow_provider_nova.core.formats import arn_account, check_same_account, check_shape
from airflow_provider_nova.core.lifecycle import JobRef

if TYPE_CHECKING:
    from collections.abc import Mapping

    from airflow_provider_nova.core.aws import AwsClients
    from airflow_provider_nova.core.enums import Platform
    from airflow_provider_nova.core.lifecycle import JobState

_INSTANCE_TYPE = re.compile(r"ml\.[a-z0-9]+\.[a-z0-9]+")
# SageMaker's TrainingJobName pattern, with its 63-character limit checked separately.
JOB_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9])*")
JOB_NAME_MAX = 63


def check_instance(instance_type: Any, instance_count: Any) -> None:
    """Reject an instance type or count that no SageMaker job could use."""
    if not isinstance(instance_type, str) or not _INSTANCE_TYPE.fullmatch(instance_type):
        raise ConfigurationError(f"instance_type must look like 'ml.p5.48xlarge', got {instance_type!r}")
    if not isinstance(instance_count, int) or isinstance(instance_count, bool) or instance_count < 1:
        raise ConfigurationError(f"instance_count must be a positive integer, got {instance_count!r}")


def check_job_name(job_name: Any) -> str:
    """Return ``job_name`` when SageMaker accepts it as a job name."""
    if not isinstance(job_name, str) or not JOB_NAME.fullmatch(job_name) or len(job_name) > JOB_NAME_MAX:
        raise ConfigurationError(
            f"job_name {job_name!r} is not a valid SageMaker job name: use 1-{JOB_NAME_MAX} letters, digits and "
            "hyphens, starting and ending with a letter or digit"
        )
    return check_shape(job_name, "job_name", "sagemaker", "TrainingJobName")


def name_taken(job_name: str, region: str) -> str:
    return (
        f"a training job named {job_name!r} already exists in {region}; job names are unique per account and "
        "region: choose another job_name (nothing was uploaded or started)"
    )


@dataclass(frozen=True)
class JobSpec:
    """What a job runs: the rendered recipe, its image, its data and where its output goes.

    :param instance_count: instances for this job when not the runtime's own count (evaluation runs on one).
    """

    job_name: str
    data_s3_path: str | None
    output_s3_path: str
    image_uri: str
    recipe: str
    input_s3_data_type: str = "Converse"
    instance_count: int | None = None
    init_image_uri: str | None = None  # HyperPod: the init container's image, from the payload template


@dataclass(frozen=True)
class RuntimePlan:
    """The exact request a runtime will send, and what it writes first (nothing exists yet).

    :param recipe_uri: where ``start`` uploads the rendered recipe (None: the recipe travels in the request).
    :param create_bucket: a bucket ``start`` creates when missing (the SageMaker default bucket).
    """

    spec: JobSpec
    request: dict[str, Any]
    recipe_uri: str | None
    create_bucket: str | None = None

    @property
    def job_name(self) -> str:
        return self.spec.job_name


class RuntimeManager(ABC):
    """Runs Nova jobs on one kind of infrastructure."""

    platform: ClassVar[Platform]
    OPT_IN: ClassVar[str] = "allow_cross_account"

    def __init__(
        self,
        instance_type: str,
        instance_count: int,
        clients: AwsClients | None,
        *,
        allow_cross_account: bool = False,
    ) -> None:
        check_instance(instance_type, instance_count)
        if not isinstance(allow_cross_account, bool):
            raise ConfigurationError(f"allow_cross_account must be True or False, got {allow_cross_account!r}")
        self._instance_type = instance_type
        self._instance_count = instance_count
        self._clients = clients
        self.allow_cross_account = allow_cross_account

    def check_accounts(self, arns: Mapping[str, str | None]) -> None:
        """Refuse a role or function ARN in another account than the caller's, unless ``allow_cross_account``.

        :param arns: ``{where it came from: ARN}``; the caller's account is only asked for when an ARN names one.
        """
        if self.allow_cross_account or not any(arn_account(arn) for arn in arns.values() if arn):
            return
        check_same_account(arns, self.clients.account_id(), allowed=False, opt_in=self.OPT_IN)

    @property
    def instance_type(self) -> str:
        return self._instance_type

    @property
    def instance_count(self) -> int:
        return self._instance_count

    @property
    def clients(self) -> AwsClients:
        """The AWS clients, built from the default boto3 session on first use."""
        if self._clients is None:
            from airflow_provider_nova.core.aws import AwsClients

            self._clients = AwsClients()
        return self._clients

    def ref(self, job_name: str) -> JobRef:
        """The reference of a job of this runtime, by name."""
        return JobRef(self.platform, check_job_name(job_name), self.clients.region_name)

    def role_arn(self) -> str:
        """The role jobs of this runtime run as, for reuse by Bedrock deployment."""
        raise ConfigurationError(f"pass role_arn: {type(self).__name__} has no execution role to reuse")

    @abstractmethod
    def plan(self, spec: JobSpec, *, create_bucket: str | None = None) -> RuntimePlan:
        """Build the exact request for ``spec``; read-only look-ups at most, nothing is created."""

    @abstractmethod
    def start(self, plan: RuntimePlan) -> JobRef:
        """Send the planned request; a job of the same name is refused before anything is written."""

    @abstractmethod
    def describe(self, ref: JobRef) -> JobState:
        """The job's state now."""

    @abstractmethod
    def stop(self, ref: JobRef) -> None:
        """Stop the job; a job that already ended is left as it is."""

    @abstractmethod
    def exists(self, job_name: str) -> bool:
        """True when a job of this name exists (names are unique per account and region)."""

    def default_bucket(self) -> str:
        """``sagemaker-<region>-<account>``, the SageMaker SDK's default bucket (``start`` creates it when missing)."""
        return f"sagemaker-{self.clients.region_name}-{self.clients.account_id()}"

    def log_lines(self, job_name: str, limit: int | None = None, start_from_head: bool = False) -> list[str]:
        """The job's log lines, oldest first: its CloudWatch streams (a SageMaker training job's)."""
        from airflow_provider_nova.core.logs import training_job_log_lines

        return training_job_log_lines(self.clients, job_name, limit, start_from_head)

    def check_name_free(self, job_name: str) -> None:
        """Refuse a job name that is already taken, before anything is written."""
        if self.exists(job_name):
            raise ConfigurationError(name_taken(job_name, self.clients.region_name))

    def execute(
        self,
        job_name: str,
        data_s3_path: str | None,
        output_s3_path: str,
        image_uri: str,
        recipe: str,
        input_s3_data_type: str = "Converse",
    ) -> str:
        """Start a job and return its id (the spec's method: ``start(plan(...))``)."""
        spec = JobSpec(job_name, data_s3_path, output_s3_path, image_uri, recipe, input_s3_data_type)
        return self.start(self.plan(spec)).job_name

    def cleanup(self, job_name: str) -> None:
        """Stop the job (the spec's method: ``stop(ref(job_name))``)."""
        self.stop(self.ref(job_name))
