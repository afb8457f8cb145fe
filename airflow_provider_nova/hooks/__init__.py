"""Airflow hooks: ``NovaHook`` hands the core clients built from an ``aws`` connection."""

from __future__ import annotations

from airflow_provider_nova.hooks.nova import NovaHook

__all__ = ["NovaHook"]
