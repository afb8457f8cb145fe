"""Runtime managers: where Nova jobs run."""

from __future__ import annotations

from airflow_provider_nova.core.runtimes.base import RuntimeManager
from airflow_provider_nova.core.runtimes.smhp import SMHPRuntimeManager
from airflow_provider_nova.core.runtimes.smtj import SMTJRuntimeManager

__all__ = ["RuntimeManager", "SMHPRuntimeManager", "SMTJRuntimeManager"]
