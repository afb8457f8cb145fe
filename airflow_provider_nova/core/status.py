"""Pure mappings from the services' raw states to ``JobStatus``, one per resource kind.

Each works on one describe answer or on a page of summaries (``ListTrainingJobs``), so a poller
can follow many jobs with one call. An unknown raw state is an ``UnknownStatusError``, never
"still in progress".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from airflow_provider_nova.core.enums import JobStatus
from airflow_provider_nova.core.errors import UnknownStatusError

_IN, _OK, _FAIL = JobStatus.IN_PROGRESS, JobStatus.COMPLETED, JobStatus.FAILED

# SageMaker training job states. Stopping is still running (and billed); a stopped job is never a success.
SAGEMAKER_JOB = {"InProgress": _IN, "Stopping": _IN, "Completed": _OK, "Failed": _FAIL, "Stopped": _FAIL}
# Bedrock GetCustomModel modelStatus.
BEDROCK_CUSTOM_MODEL = {"Creating": _IN, "Active": _OK, "Failed": _FAIL}
# Bedrock GetCustomModelDeployment status.
BEDROCK_DEPLOYMENT = {"Creating": _IN, "Updating": _IN, "Active": _OK, "Failed": _FAIL}
# Bedrock GetProvisionedModelThroughput status.
BEDROCK_THROUGHPUT = {"Creating": _IN, "Updating": _IN, "InService": _OK, "Failed": _FAIL}

# Kubeflow PyTorchJob condition types (the job's current state is its latest condition whose status is "True").
PYTORCH_JOB = {
    "Created": _IN,
    "Running": _IN,
    "Restarting": _IN,
    "Suspended": _IN,
    "Succeeded": _OK,
    "Failed": _FAIL,
}
PENDING = "Pending"  # a PyTorchJob the training operator has not reported on yet

TABLES: dict[str, Mapping[str, JobStatus]] = {
    "SageMaker training job": SAGEMAKER_JOB,
    "Bedrock custom model": BEDROCK_CUSTOM_MODEL,
    "Bedrock custom model deployment": BEDROCK_DEPLOYMENT,
    "Bedrock provisioned throughput": BEDROCK_THROUGHPUT,
    "Kubeflow PyTorchJob": PYTORCH_JOB,
}


def _map(resource: str, raw: Any) -> JobStatus:
    table = TABLES[resource]
    try:
        return table[raw]
    except (KeyError, TypeError):
        raise UnknownStatusError(resource, str(raw), tuple(table)) from None


def map_sagemaker_status(raw: str) -> JobStatus:
    """Map a SageMaker ``TrainingJobStatus``."""
    return _map("SageMaker training job", raw)


def map_custom_model_status(raw: str) -> JobStatus:
    """Map a Bedrock custom model's ``modelStatus``."""
    return _map("Bedrock custom model", raw)


def map_deployment_status(raw: str) -> JobStatus:
    """Map a Bedrock custom model deployment's ``status``."""
    return _map("Bedrock custom model deployment", raw)


def map_throughput_status(raw: str) -> JobStatus:
    """Map a Bedrock provisioned throughput's ``status``."""
    return _map("Bedrock provisioned throughput", raw)


def map_training_job_page(summaries: Iterable[Mapping[str, Any]]) -> dict[str, tuple[JobStatus, str]]:
    """Map a page of ``ListTrainingJobs`` summaries to ``{job name: (status, raw)}``."""
    return {
        str(s["TrainingJobName"]): (map_sagemaker_status(s["TrainingJobStatus"]), str(s["TrainingJobStatus"]))
        for s in summaries
    }


def map_pytorchjob(job: Mapping[str, Any]) -> tuple[JobStatus, str, str | None]:
    """Map a PyTorchJob to ``(status, raw, reason)`` from its ``status.conditions``.

    The raw state is the type of the latest condition whose status is ``"True"`` (a terminal one,
    Succeeded or Failed, when present); ``Pending`` before the training operator set any. The reason
    is that condition's message when the job failed.
    """
    conditions = [c for c in ((job.get("status") or {}).get("conditions") or ()) if c.get("status") == "True"]
    if not conditions:
        return _IN, PENDING, None
    final = [c for c in conditions if c.get("type") in ("Succeeded", "Failed")]
    current = (final or conditions)[-1]
    raw = str(current.get("type"))
    status = _map("Kubeflow PyTorchJob", raw)
    reason = current.get("message") if status is _FAIL else None
    return status, raw, None if reason is None else str(reason)
