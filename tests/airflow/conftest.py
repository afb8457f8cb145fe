"""The ``aws_default`` connection pointed at the stand-in, and a task context as a worker hands one over."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

import pytest


@pytest.fixture
def aws_conn(account: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> str:
    """``aws_default`` as an env connection: the account's credentials, us-east-1, the stand-in's endpoint."""
    from airflow_provider_nova.sandbox.rehearsal import airflow_connection

    conn = airflow_connection(account["endpoint_url"], dict(os.environ))
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", json.dumps(conn))
    return "aws_default"


@dataclass
class StateStore:
    """The task state store's get/set, kept in a dict (the worker's accessor sends them to the API server)."""

    values: dict[str, Any] = field(default_factory=dict)

    def get(self, key: str, default: Any = None) -> Any:
        return json.loads(json.dumps(self.values[key])) if key in self.values else default

    def set(self, key: str, value: Any, **_: Any) -> None:
        self.values[key] = json.loads(json.dumps(value))


@dataclass
class TaskInstance:
    dag_id: str = "retrain"
    run_id: str = "manual__2026-11-26T00:00:00+00:00"
    task_id: str = "train"
    map_index: int = -1
    try_number: int = 1
    pushed: dict[str, Any] = field(default_factory=dict)

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value


@pytest.fixture
def context() -> dict[str, Any]:
    return {"ti": TaskInstance(), "task_state_store": StateStore()}


@pytest.fixture
def start_smtj_job(account: dict[str, str], aws: Any) -> Any:
    """Start an SFT training job on the stand-in through the core; returns its ``JobRef`` JSON."""
    from airflow_provider_nova.core import Model, NovaModelCustomizer, SMTJRuntimeManager, TrainingMethod

    infra = SMTJRuntimeManager("ml.p5.48xlarge", 2, clients=aws)
    customizer = NovaModelCustomizer(
        Model.NOVA_MICRO, TrainingMethod.SFT_LORA, infra, "s3://my-bucket/training-data/", "s3://my-bucket/out/"
    )

    def start(name: str) -> dict[str, str]:
        customizer.train(name)
        return infra.jobs.ref(name).to_json()

    return start
