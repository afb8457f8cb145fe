"""The job-lifecycle seam: status mappings, JobRef and JobState, one wait helper, many jobs in one call."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from airflow_provider_nova.core import (
    ConfigurationError,
    JobStatus,
    Model,
    NovaModelCustomizer,
    Platform,
    SMTJRuntimeManager,
    TrainingMethod,
    UnknownStatusError,
    WaitTimeoutError,
)
from airflow_provider_nova.core.lifecycle import JobRef, JobState, wait_for
from airflow_provider_nova.core.runtimes import jobs_for
from airflow_provider_nova.core.status import (
    TABLES,
    map_custom_model_status,
    map_deployment_status,
    map_pytorchjob,
    map_sagemaker_status,
    map_throughput_status,
    map_training_job_page,
)

IN, OK, FAIL = JobStatus.IN_PROGRESS, JobStatus.COMPLETED, JobStatus.FAILED


@pytest.mark.parametrize(
    ("mapping", "expected"),
    [
        (map_sagemaker_status, {"InProgress": IN, "Stopping": IN, "Completed": OK, "Failed": FAIL, "Stopped": FAIL}),
        (map_custom_model_status, {"Creating": IN, "Active": OK, "Failed": FAIL}),
        (map_deployment_status, {"Creating": IN, "Updating": IN, "Active": OK, "Failed": FAIL}),
        (map_throughput_status, {"Creating": IN, "Updating": IN, "InService": OK, "Failed": FAIL}),
    ],
)
def test_each_resource_maps_its_states_and_refuses_unknown_ones(mapping: Any, expected: dict[str, JobStatus]) -> None:
    assert {raw: mapping(raw) for raw in expected} == expected
    for unknown in ("Deleting", "", None, "inprogress"):
        with pytest.raises(UnknownStatusError, match=r"unknown .* status") as info:
            mapping(unknown)
        assert info.value.raw == str(unknown)
    assert len(TABLES) == 5


def _job(*conditions: tuple[str, str, str]) -> dict[str, Any]:
    return {"status": {"conditions": [{"type": t, "status": s, "message": m} for t, s, m in conditions]}}


def test_a_pytorchjob_state_is_its_latest_true_condition() -> None:
    assert map_pytorchjob({}) == (IN, "Pending", None)
    assert map_pytorchjob(_job(("Created", "True", ""))) == (IN, "Created", None)
    assert map_pytorchjob(_job(("Created", "True", ""), ("Running", "True", ""))) == (IN, "Running", None)
    restarting = _job(("Created", "True", ""), ("Running", "False", ""), ("Restarting", "True", "pod evicted"))
    assert map_pytorchjob(restarting) == (IN, "Restarting", None)
    done = _job(("Created", "True", ""), ("Running", "False", ""), ("Succeeded", "True", "done"))
    assert map_pytorchjob(done) == (OK, "Succeeded", None)
    failed = _job(("Created", "True", ""), ("Failed", "True", "OOMKilled"), ("Running", "True", ""))
    assert map_pytorchjob(failed) == (FAIL, "Failed", "OOMKilled")  # a final condition wins over a stale one
    with pytest.raises(UnknownStatusError, match="Kubeflow PyTorchJob"):
        map_pytorchjob(_job(("Paused", "True", "")))


def test_a_page_of_summaries_maps_in_one_go() -> None:
    page = [
        {"TrainingJobName": "a", "TrainingJobStatus": "InProgress"},
        {"TrainingJobName": "b", "TrainingJobStatus": "Stopped"},
    ]
    assert map_training_job_page(page) == {"a": (IN, "InProgress"), "b": (FAIL, "Stopped")}
    with pytest.raises(UnknownStatusError):
        map_training_job_page([{"TrainingJobName": "c", "TrainingJobStatus": "Paused"}])


def test_job_ref_and_state_are_plain_json() -> None:
    ref = JobRef(Platform.SMTJ, "my-job", "us-east-1")
    assert JobRef.from_json(json.loads(json.dumps(ref.to_json()))) == ref
    state = JobState(FAIL, "Failed", "AlgorithmError: boom", "Failed")
    assert json.loads(json.dumps(state.to_json())) == {
        "status": "FAILED",
        "raw": "Failed",
        "reason": "AlgorithmError: boom",
        "secondary": "Failed",
    }
    for bad in ({}, {"platform": "EC2", "job_name": "x", "region": "r"}, {"platform": "SMTJ"}):
        with pytest.raises(ConfigurationError, match="not a job reference"):
            JobRef.from_json(bad)


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_wait_returns_the_final_state_and_reports_each_change() -> None:
    states = iter([JobState(IN, "InProgress", secondary=s) for s in ("Starting", "Starting", "Training")])
    final = JobState(OK, "Completed", secondary="Completed")
    seen: list[JobState] = []
    time = FakeTime()
    result = wait_for(
        lambda: next(states, final), "job j", poll_seconds=30, sleep=time.sleep, clock=time.clock, on_change=seen.append
    )
    assert result == final
    assert [s.secondary for s in seen] == ["Starting", "Training", "Completed"]
    assert time.slept == [30, 30, 30]


def test_wait_gives_up_with_one_timeout_error_and_never_sleeps_past_it() -> None:
    time = FakeTime()
    with pytest.raises(WaitTimeoutError, match=r"job j still InProgress after 100s; it keeps running") as info:
        wait_for(
            lambda: JobState(IN, "InProgress"),
            "job j",
            poll_seconds=30,
            timeout_seconds=100,
            sleep=time.sleep,
            clock=time.clock,
        )
    assert isinstance(info.value, TimeoutError)
    assert time.slept == [30, 30, 30, 10]


@pytest.mark.parametrize("bad", [0, -1, math.nan, math.inf, "5", True, None])
def test_a_bad_poll_interval_is_refused_before_the_first_call(bad: Any) -> None:
    with pytest.raises(ConfigurationError, match="poll_seconds must be a positive number"):
        wait_for(lambda: pytest.fail("called"), "x", poll_seconds=bad)


def test_many_jobs_take_one_list_call_and_a_describe_only_when_one_failed(
    account: dict[str, str], control: Any, aws: Any
) -> None:
    infra = SMTJRuntimeManager("ml.p5.48xlarge", 2, clients=aws)
    customizer = NovaModelCustomizer(
        Model.NOVA_MICRO, TrainingMethod.SFT_LORA, infra, "s3://my-bucket/training-data/", "s3://my-bucket/out/"
    )
    names = [f"many-{i}" for i in range(3)]
    for name in names:
        customizer.train(name)
    control.fail_job("many-1", "AlgorithmError: injected")
    calls: list[str] = []
    aws.sagemaker.meta.events.register("before-call", lambda model, **_: calls.append(model.name))

    states = jobs_for(Platform.SMTJ, aws).describe_many(names)

    assert states["many-0"] == states["many-2"] == JobState(IN, "InProgress", None, "Starting")
    assert states["many-1"] == JobState(FAIL, "Failed", "AlgorithmError: injected", "Failed")
    assert calls == ["ListTrainingJobs", "DescribeTrainingJob"]
