"""Airflow triggers: wait for Nova jobs in the triggerer, sharing one status poll per connection."""

from __future__ import annotations

from airflow_provider_nova.triggers.job import NovaJobTrigger, check_event

__all__ = ["NovaJobTrigger", "check_event"]
