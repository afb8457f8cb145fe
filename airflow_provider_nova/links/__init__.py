"""Links for Nova tasks: the SageMaker training job, its logs, the Bedrock model, its deployment, the evaluation report.

Importing this package loads only ``airflow.sdk`` and the standard library.
"""

from __future__ import annotations

from airflow_provider_nova.links.base import NovaConsoleLink, console_domain
from airflow_provider_nova.links.bedrock import BedrockCustomModelLink, BedrockDeploymentLink
from airflow_provider_nova.links.report import EvaluationReportLink, report_url
from airflow_provider_nova.links.sagemaker import (
    SageMakerTrainingJobLink,
    TrainingJobLogsLink,
    persist_training_job_links,
)

__all__ = [
    "BedrockCustomModelLink",
    "BedrockDeploymentLink",
    "EvaluationReportLink",
    "NovaConsoleLink",
    "SageMakerTrainingJobLink",
    "TrainingJobLogsLink",
    "console_domain",
    "persist_training_job_links",
    "report_url",
]
