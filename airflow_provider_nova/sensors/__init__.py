"""Airflow sensors for Nova jobs and deployments; importing them loads neither boto3 nor the core."""

from __future__ import annotations

from airflow_provider_nova.sensors.deployment import NovaDeploymentSensor
from airflow_provider_nova.sensors.job import NovaJobSensor

__all__ = ["NovaDeploymentSensor", "NovaJobSensor"]
