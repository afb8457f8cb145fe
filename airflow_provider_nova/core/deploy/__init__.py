"""Deploy a trained Nova checkpoint to Amazon Bedrock: on-demand or provisioned throughput.

``plan`` checks the inputs and settles the names before any call; ``BedrockDeployer`` runs the
resumable steps (custom model, then deployment or throughput) and ``deploy`` composes them.
"""

from __future__ import annotations

from airflow_provider_nova.core.deploy.bedrock import BedrockDeployer
from airflow_provider_nova.core.deploy.plan import NAME_PATTERN, DeployPlan, check_bedrock_name, default_names
from airflow_provider_nova.core.deploy.resources import BASE_MODEL_TAG
from airflow_provider_nova.core.deploy.results import DeploymentError, DeploymentResult, EndpointInfo, Started

__all__ = [
    "BASE_MODEL_TAG",
    "NAME_PATTERN",
    "BedrockDeployer",
    "DeployPlan",
    "DeploymentError",
    "DeploymentResult",
    "EndpointInfo",
    "Started",
    "check_bedrock_name",
    "default_names",
]
