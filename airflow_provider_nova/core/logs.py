"""Read a job's CloudWatch log lines."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_nova.core.aws import aws_errors, error_code
from airflow_provider_nova.core.errors import AwsCallError, ConfigurationError

if TYPE_CHECKING:
    from airflow_provider_nova.core.aws import AwsClients

TRAINING_LOG_GROUP = "/aws/sagemaker/TrainingJobs"


def training_job_log_lines(
    clients: AwsClients, job_name: str, limit: int | None = None, start_from_head: bool = False
) -> list[str]:
    """The log lines of a training job across its streams, oldest first.

    :param limit: at most this many lines: the first ones with ``start_from_head``, else the last.
    """
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1):
        raise ConfigurationError(f"limit must be a positive integer or None, got {limit!r}")
    events: list[dict[str, Any]] = []
    for stream in _streams(clients, job_name):
        events.extend(_events(clients, stream))
    events.sort(key=lambda e: (e["timestamp"], e.get("ingestionTime", 0)))
    lines = [str(e["message"]).rstrip("\n") for e in events]
    if limit is not None:
        lines = lines[:limit] if start_from_head else lines[-limit:]
    return lines


def _streams(clients: AwsClients, job_name: str) -> list[str]:
    names: list[str] = []
    kwargs: dict[str, Any] = {"logGroupName": TRAINING_LOG_GROUP, "logStreamNamePrefix": f"{job_name}/"}
    try:
        while True:
            with aws_errors("DescribeLogStreams"):
                page = clients.logs.describe_log_streams(**kwargs)
            names += [s["logStreamName"] for s in page.get("logStreams", [])]
            if not page.get("nextToken"):
                return names
            kwargs["nextToken"] = page["nextToken"]
    except AwsCallError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            return []
        raise


def _events(clients: AwsClients, stream: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"logGroupName": TRAINING_LOG_GROUP, "logStreamName": stream, "startFromHead": True}
    while True:
        with aws_errors("GetLogEvents"):
            page = clients.logs.get_log_events(**kwargs)
        events += page.get("events", [])
        token = page.get("nextForwardToken")
        if not page.get("events") or token == kwargs.get("nextToken"):
            return events
        kwargs["nextToken"] = token
