"""Airflow operators for Nova customization; importing them loads neither boto3 nor the core."""

from __future__ import annotations

from airflow_provider_nova.operators.base import NovaBaseOperator

__all__ = ["NovaBaseOperator"]
