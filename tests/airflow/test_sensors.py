"""NovaJobSensor against the stand-in: pokes, and the deferral through NovaJobTrigger and back."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
from airflow.sdk.exceptions import TaskDeferred

from airflow_provider_nova.core import ConfigurationError, JobFailedError
from airflow_provider_nova.sensors import NovaJobSensor
from airflow_provider_nova.triggers import NovaJobTrigger


def sensor(name: str, **kwargs: Any) -> NovaJobSensor:
    return NovaJobSensor(task_id="wait", job_name=name, **{"poke_interval": 0.05, **kwargs})


def test_job_name_the_hyperpod_place_and_the_aws_parameters_are_templated() -> None:
    assert NovaJobSensor.template_fields == (
        "aws_conn_id",
        "cluster_name",
        "job_name",
        "namespace",
        "region_name",
        "verify",
    )


def test_poke_is_false_while_running_and_true_with_the_state_once_completed(
    aws_conn: str, start_smtj_job: Callable[..., Any], control: Any
) -> None:
    start_smtj_job("sensed")
    watch = sensor("sensed")
    assert watch.poke({}) is False
    control.complete_job("sensed")
    done = watch.poke({})
    assert done.is_done and done.xcom_value["status"] == "COMPLETED"
    assert sensor("sensed", platform="smtj").execute({})["raw"] == "Completed"  # poke mode, first poke done


def test_poke_fails_the_task_with_the_services_reason(
    aws_conn: str, start_smtj_job: Callable[..., Any], control: Any
) -> None:
    start_smtj_job("sensed-failed")
    control.fail_job("sensed-failed", "AlgorithmError: out of memory")
    with pytest.raises(JobFailedError, match="ended Failed: AlgorithmError: out of memory") as info:
        sensor("sensed-failed").poke({})
    assert info.value.reason == "AlgorithmError: out of memory"


def test_deferred_it_waits_on_the_trigger_and_resumes_with_its_event(
    aws_conn: str, start_smtj_job: Callable[..., Any], control: Any, aws: Any
) -> None:
    job = start_smtj_job("sensed-deferred")
    watch = sensor("sensed-deferred", deferrable=True, timeout=600)
    with pytest.raises(TaskDeferred) as info:
        watch.execute({})
    trigger = info.value.trigger
    assert isinstance(trigger, NovaJobTrigger) and info.value.method_name == "execute_complete"
    kwargs = trigger.serialize()[1]
    assert (kwargs["job"], kwargs["timeout"], kwargs["poll_interval"]) == (job, 600, 0.05)
    assert kwargs["aws_conn_id"] == aws_conn and kwargs["stop_on_kill"] is False

    async def wait() -> dict[str, Any]:
        waiting = asyncio.create_task(anext(aiter(trigger.run())))
        await asyncio.sleep(0.2)
        await asyncio.to_thread(control.complete_job, "sensed-deferred")
        return (await waiting).payload

    event = asyncio.run(wait())
    assert watch.execute_complete({}, event)["status"] == "COMPLETED"

    asyncio.run(trigger.on_kill())  # a sensor only watches: killing it leaves the job alone
    failed = {**event, "status": "failed", "state": {**event["state"], "status": "FAILED", "raw": "Stopped"}}
    with pytest.raises(JobFailedError, match="ended Stopped"):
        watch.execute_complete({}, failed)


def test_a_job_that_cannot_be_followed_is_refused_before_deferring(aws_conn: str) -> None:
    with pytest.raises(ConfigurationError, match="HyperPod job reference needs cluster_name and namespace"):
        sensor("hp-job", platform="SMHP", deferrable=True).execute({})
    with pytest.raises(ValueError, match="platform must be one of SMTJ, SMHP"):
        sensor("x", platform="EC2").poke({})


def test_importing_the_sensors_loads_no_boto3_and_deferrable_follows_the_config() -> None:
    code = (
        "import sys, airflow.sdk\n"
        "before = set(sys.modules)\n"
        "from airflow_provider_nova.sensors import NovaJobSensor\n"
        "heavy = ('boto3', 'botocore', 'yaml', 'pydantic', 'msgspec', 'airflow_provider_nova.core')\n"
        "bad = sorted(m for m in set(sys.modules) - before if m.startswith(heavy))\n"
        "print(','.join(bad) or 'clean', NovaJobSensor(task_id='t', job_name='j').deferrable)"
    )
    env = {**os.environ, "AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE": "True"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.split() == ["clean", "True"]
