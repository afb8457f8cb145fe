"""Runtime managers: where Nova jobs run, behind one seam (plan, start, describe, stop)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_nova.core.enums import Platform
from airflow_provider_nova.core.errors import UnsupportedError
from airflow_provider_nova.core.runtimes.base import JobSpec, RuntimeManager, RuntimePlan
from airflow_provider_nova.core.runtimes.smhp import SMHPRuntimeManager
from airflow_provider_nova.core.runtimes.smtj import SMTJRuntimeManager, TrainingJobs

if TYPE_CHECKING:
    from airflow_provider_nova.core.aws import AwsClients

__all__ = ["JobSpec", "RuntimeManager", "RuntimePlan", "SMHPRuntimeManager", "SMTJRuntimeManager", "jobs_for"]

# The job service of each platform: follows a job by its JobRef with only the clients.
JOB_SERVICES: dict[Platform, Any] = {Platform.SMTJ: TrainingJobs}


def jobs_for(platform: Platform, clients: AwsClients) -> TrainingJobs:
    """The service that describes and stops ``platform``'s jobs."""
    service = JOB_SERVICES.get(platform)
    if service is None:
        raise UnsupportedError(f"following {platform.value} jobs is not available in this release")
    jobs: TrainingJobs = service(clients)
    return jobs
