"""Shared fixtures: the local AWS stand-in on loopback, and credentials that can never reach AWS."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest

# Fake credentials and no shared config: a test that forgot the stand-in fails, it never reaches AWS.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",  # discard port until the stand-in is started
    }
)
os.environ.pop("AWS_PROFILE", None)


@pytest.fixture(scope="session")
def sandbox() -> Iterator[object]:
    """The local AWS stand-in, started once per test session on a free loopback port."""
    from airflow_provider_nova.sandbox import NovaSandbox

    server = NovaSandbox(port=0, job_seconds=3600).start()
    os.environ["AWS_ENDPOINT_URL"] = server.endpoint_url
    try:
        yield server
    finally:
        server.stop()
        os.environ["AWS_ENDPOINT_URL"] = "http://127.0.0.1:9"


@pytest.fixture
def aws(sandbox: object) -> object:
    """AwsClients for us-east-1 pointed at the stand-in."""
    from airflow_provider_nova.core.aws import AwsClients

    return AwsClients(region_name="us-east-1", endpoint_url=sandbox.endpoint_url)  # type: ignore[attr-defined]


@pytest.fixture
def control(sandbox: object) -> object:
    """The stand-in's control API (complete or fail a job on demand)."""
    from airflow_provider_nova.sandbox import SandboxControl

    return SandboxControl(sandbox.endpoint_url)  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def baseline() -> dict[str, str]:
    """What every fresh account holds: SFT rows in ``s3://my-bucket``, built once per session."""
    import json

    from airflow_provider_nova.sandbox import rehearsal

    rows = "".join(json.dumps(row) + "\n" for row in rehearsal.SAMPLE_SFT_ROWS)
    return {"s3://my-bucket/training-data/train.jsonl": rows}


@pytest.fixture
def account(
    sandbox: object, control: object, baseline: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """A fresh stand-in account: ``s3://my-bucket`` with SFT data, and the process running as a role.

    The caller's credentials are those of an assumed IAM role, as on an Airflow worker or in a
    SageMaker notebook, so runtimes find their execution role without being told. The stand-in
    forgets everything and re-seeds this in one control call, so no test sees another's state.
    """
    from airflow_provider_nova.sandbox import rehearsal

    seeded = control.reset_account(baseline, "NovaCustomizationRole", rehearsal.SAGEMAKER_TRUST)  # type: ignore[attr-defined]
    for key, value in seeded["credentials"].items():
        monkeypatch.setenv(key, value)
    return {"role_arn": seeded["role_arn"], "endpoint_url": sandbox.endpoint_url}  # type: ignore[attr-defined]


@pytest.fixture
def faults(control: object) -> Iterator[object]:
    """The stand-in's control API for injecting faults (``throttle``, ``drop``, ``lose_response``, ...).

    Every fault still pending when the test ends is cleared.
    """
    try:
        yield control
    finally:
        control.clear_faults()  # type: ignore[attr-defined]


@pytest.fixture
def instant_backoff(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """botocore's retries without their waits: returns the backoff delays botocore chose, in order."""
    from botocore.retries.standard import ExponentialBackoff

    chosen: list[float] = []
    delay_amount = ExponentialBackoff.delay_amount

    def no_wait(self: ExponentialBackoff, context: object) -> float:
        chosen.append(delay_amount(self, context))
        return 0.0

    monkeypatch.setattr(ExponentialBackoff, "delay_amount", no_wait)
    return chosen


class FakeTime:
    """A clock and a sleep for code that takes them: sleeping moves the clock on, then runs ``hooks``."""

    def __init__(self) -> None:
        self.now = 1_700_000_000.0
        self.sleeps: list[float] = []
        self.hooks: list[Callable[[], object]] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        for hook in self.hooks:
            hook()

    async def async_sleep(self, seconds: float) -> None:
        self.sleep(seconds)


@pytest.fixture
def fake_time() -> FakeTime:
    """A fresh ``FakeTime`` (``clock``, ``sleep``, ``async_sleep``, the ``sleeps`` made, ``hooks`` run on each)."""
    return FakeTime()
