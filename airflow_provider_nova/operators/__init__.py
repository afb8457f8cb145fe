"""Airflow operators for Nova customization; importing them loads neither boto3 nor the core."""

from __future__ import annotations

from airflow_provider_nova.operators.base import NovaBaseOperator
from airflow_provider_nova.operators.batch import NovaBatchInferenceOperator
from airflow_provider_nova.operators.deploy import NovaDeployOperator
from airflow_provider_nova.operators.evaluate import NovaEvaluateOperator
from airflow_provider_nova.operators.job import NovaJobOperator
from airflow_provider_nova.operators.prepare import NovaPrepareDatasetOperator
from airflow_provider_nova.operators.train import NovaTrainOperator

__all__ = [
    "NovaBaseOperator",
    "NovaBatchInferenceOperator",
    "NovaDeployOperator",
    "NovaEvaluateOperator",
    "NovaJobOperator",
    "NovaPrepareDatasetOperator",
    "NovaTrainOperator",
]
