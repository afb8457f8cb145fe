"""Fixtures of the Airflow layer's tests: an ``aws`` connection to the stand-in, and running jobs."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

import pytest


@pytest.fixture
def aws_conn(account: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> str:
    """``aws_default``: an Airflow ``aws`` connection (from the environment) to the stand-in, as the account's role."""
    conn = {
        "conn_type": "aws",
        "login": os.environ["AWS_ACCESS_KEY_ID"],
        "password": os.environ["AWS_SECRET_ACCESS_KEY"],
        "extra": {
            "aws_session_token": os.environ["AWS_SESSION_TOKEN"],
            "region_name": "us-east-1",
            "endpoint_url": account["endpoint_url"],
        },
    }
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", json.dumps(conn))
    return "aws_default"


@pytest.fixture
def start_smtj_job(account: dict[str, str], aws: Any) -> Callable[[str], dict[str, str]]:
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
