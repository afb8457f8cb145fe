"""One mapping from the services' raw job states to JobStatus."""

from __future__ import annotations

from airflow_provider_nova.core.enums import JobStatus
from airflow_provider_nova.core.errors import NovaError

# SageMaker training job states. Stopping is still running (and billed); a stopped job is never a success.
SAGEMAKER_STATES = {
    "InProgress": JobStatus.IN_PROGRESS,
    "Stopping": JobStatus.IN_PROGRESS,
    "Completed": JobStatus.COMPLETED,
    "Failed": JobStatus.FAILED,
    "Stopped": JobStatus.FAILED,
}


def map_sagemaker_status(raw: str) -> JobStatus:
    """Map a SageMaker ``TrainingJobStatus``; an unknown state is an error, never 'in progress'."""
    try:
        return SAGEMAKER_STATES[raw]
    except KeyError:
        raise NovaError(
            f"unknown SageMaker training job status {raw!r}; known: {', '.join(SAGEMAKER_STATES)}"
        ) from None
