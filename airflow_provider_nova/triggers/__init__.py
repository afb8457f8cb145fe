"""Airflow triggers: wait for Nova jobs and deployments in the triggerer, sharing one status poll per connection."""

from __future__ import annotations

from airflow_provider_nova.triggers.deployment import NovaDeploymentTrigger, check_deployment_event
from airflow_provider_nova.triggers.job import NovaJobTrigger, check_event

__all__ = ["NovaDeploymentTrigger", "NovaJobTrigger", "check_deployment_event", "check_event"]
