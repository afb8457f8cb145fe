"""What every runtime manager offers: start a job, describe it, stop it."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any

from airflow_provider_nova.core.errors import ConfigurationError

if TYPE_CHECKING:
    from airflow_provider_nova.core.aws import AwsClients
    from airflow_provider_nova.core.enums import JobStatus, Platform

_INSTANCE_TYPE = re.compile(r"^ml\.[a-z0-9]+\.[a-z0-9]+$")
JOB_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")


def check_instance(instance_type: Any, instance_count: Any) -> None:
    """Reject an instance type or count that no SageMaker job could use."""
    if not isinstance(instance_type, str) or not _INSTANCE_TYPE.match(instance_type):
        raise ConfigurationError(f"instance_type must look like 'ml.p5.48xlarge', got {instance_type!r}")
    if not isinstance(instance_count, int) or isinstance(instance_count, bool) or instance_count < 1:
        raise ConfigurationError(f"instance_count must be a positive integer, got {instance_count!r}")


def check_job_name(job_name: Any) -> str:
    """Return ``job_name`` when SageMaker accepts it as a job name."""
    if not isinstance(job_name, str) or not JOB_NAME.match(job_name):
        raise ConfigurationError(
            f"job_name {job_name!r} is not a valid SageMaker job name: use 1-63 letters, digits and hyphens, "
            "starting with a letter or digit, with no consecutive-hyphen runs at the end"
        )
    return job_name


class RuntimeManager(ABC):
    """Runs Nova jobs on one kind of infrastructure."""

    platform: Platform

    def __init__(self, instance_type: str, instance_count: int, clients: AwsClients | None) -> None:
        check_instance(instance_type, instance_count)
        self._instance_type = instance_type
        self._instance_count = instance_count
        self._clients = clients

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

    @abstractmethod
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
        """Start a job and return its id."""

    @abstractmethod
    def status(self, job_id: str) -> tuple[JobStatus, str]:
        """Return the job's mapped and raw status."""

    @abstractmethod
    def cleanup(self, job_name: str) -> None:
        """Stop the job."""
