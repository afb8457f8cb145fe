"""Runtime managers: where Nova jobs run, behind one seam (plan, start, describe, stop)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_nova.core.enums import Platform
from airflow_provider_nova.core.errors import UnsupportedError
from airflow_provider_nova.core.runtimes.base import JobSpec, RuntimeManager, RuntimePlan
from airflow_provider_nova.core.runtimes.smhp import SMHPRuntimeManager
from airflow_provider_nova.core.runtimes.smtj import SMTJRuntimeManager, TrainingJobs, output_tar_uri

if TYPE_CHECKING:
    from airflow_provider_nova.core.aws import AwsClients

__all__ = [
    "JobSpec",
    "RuntimeManager",
    "RuntimePlan",
    "SMHPRuntimeManager",
    "SMTJRuntimeManager",
    "job_output_uri",
    "jobs_for",
]


def _hyperpod_jobs(clients: AwsClients) -> Any:
    from airflow_provider_nova.core.hyperpod.jobs import HyperPodJobs

    return HyperPodJobs(clients)


# The job service of each platform: follows a job by its JobRef with only the clients.
JOB_SERVICES: dict[Platform, Any] = {Platform.SMTJ: TrainingJobs, Platform.SMHP: _hyperpod_jobs}


def jobs_for(platform: Platform, clients: AwsClients) -> Any:
    """The service that describes and stops ``platform``'s jobs (``TrainingJobs`` or ``HyperPodJobs``)."""
    service = JOB_SERVICES.get(platform)
    if service is None:
        raise UnsupportedError(f"following {platform.value} jobs is not available in this release")
    return service(clients)


def job_output_uri(platform: Platform, output_s3_path: str, job_name: str, evaluation: bool = False) -> str:
    """Where a finished job's outputs are read from.

    SageMaker Training Jobs: ``<output>/<job>/output/output.tar.gz``. HyperPod: the prefix
    ``<output>/<job>/`` (training, with its ``manifest.json``), or ``<output>/<job>/eval-result/``
    (evaluation and batch inference), as the public Nova SDK reads them.
    """
    if platform is Platform.SMHP:
        from airflow_provider_nova.core.hyperpod.jobs import job_prefix

        return job_prefix(output_s3_path, job_name, *(("eval-result",) if evaluation else ()))
    return output_tar_uri(output_s3_path, job_name)
