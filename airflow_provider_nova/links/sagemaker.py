"""Console links to a SageMaker training job and to its CloudWatch logs (training, evaluation, batch inference)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from airflow_provider_nova.links.base import CONSOLE, NovaConsoleLink

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator, Context

TRAINING_JOB_LOG_GROUP = "/aws/sagemaker/TrainingJobs"


class SageMakerTrainingJobLink(NovaConsoleLink):
    """The training job's page in the SageMaker console (field ``job_name``)."""

    name = "SageMaker training job"
    key = "nova_sagemaker_training_job"
    format_str = CONSOLE + "/sagemaker/home?region={region_name}#/jobs/{job_name}"


def console_escape(text: str) -> str:
    """Escape ``text`` for the CloudWatch console's URL fragment: percent-escaping with ``$`` for ``%``."""
    return quote(text, safe="").replace("%", "$")


class TrainingJobLogsLink(NovaConsoleLink):
    """The training job's log streams in the CloudWatch Logs console (field ``job_name``).

    SageMaker writes a job's logs to the ``/aws/sagemaker/TrainingJobs`` group, one stream per
    instance named ``<job name>/algo-<n>-<epoch>``; the link filters the group's streams on
    ``<job name>/``, so a job whose name extends this one's does not show. The console reads its
    fragment escaped twice, the second time with ``$`` for ``%`` (``/`` in the group name is ``$252F``).
    """

    name = "Training job logs"
    key = "nova_training_job_logs"
    format_str = CONSOLE + "/cloudwatch/home?region={region_name}#logsV2:log-groups/log-group/{log_group_view}"

    def url_values(self, fields: dict[str, Any]) -> dict[str, str]:
        values = super().url_values(fields)
        if "job_name" in values:
            view = (
                quote(TRAINING_JOB_LOG_GROUP, safe="")
                + "?logStreamNameFilter="
                + quote(f"{fields['job_name']}/", safe="")
            )
            values["log_group_view"] = console_escape(view)
        return values


def persist_training_job_links(
    context: Context, operator: BaseOperator, *, region_name: str | None, aws_partition: str | None, job_name: str
) -> None:
    """Persist the training job link and its logs link (for a training, evaluation or batch inference job)."""
    for link in (SageMakerTrainingJobLink, TrainingJobLogsLink):
        link.persist(context, operator, region_name, aws_partition, job_name=job_name)
