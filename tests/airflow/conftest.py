"""Fixtures of the Airflow layer's tests: an ``aws`` connection to the stand-in, as an environment variable."""

from __future__ import annotations

import json
import os

import pytest


@pytest.fixture
def aws_conn(account: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> str:
    """``aws_default`` pointing at a fresh stand-in account, with the credentials ``account`` put in the environment."""
    extra = {
        "aws_session_token": os.environ["AWS_SESSION_TOKEN"],
        "region_name": "us-east-1",
        "endpoint_url": account["endpoint_url"],
    }
    conn = {
        "conn_type": "aws",
        "login": os.environ["AWS_ACCESS_KEY_ID"],
        "password": os.environ["AWS_SECRET_ACCESS_KEY"],
        "extra": extra,
    }
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", json.dumps(conn))
    return "aws_default"
