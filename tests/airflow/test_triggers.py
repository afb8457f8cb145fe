"""NovaJobTrigger against the stand-in over loopback: one event per wait, one shared poll for many waits."""

from __future__ import annotations

import asyncio
import importlib
import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from airflow_provider_nova.core import JobFailedError, JobStatus, NovaError, Platform, WaitTimeoutError
from airflow_provider_nova.core.runtimes import jobs_for
from airflow_provider_nova.core.runtimes.smtj import TrainingJobs
from airflow_provider_nova.triggers import NovaJobTrigger, check_event
from airflow_provider_nova.triggers._poller import pollers

FAST = 0.05  # seconds between polls in these tests
NO_RETRIES = {"retries": {"mode": "standard", "total_max_attempts": 1}}  # a refused call reaches the poller


def trigger(job: dict[str, str], conn: str | None, **kwargs: Any) -> NovaJobTrigger:
    return NovaJobTrigger(job, aws_conn_id=conn, **{"poll_interval": FAST, **kwargs})


async def first_event(trig: NovaJobTrigger) -> dict[str, Any]:
    """The trigger's event; it must be its only one."""
    events = [event.payload async for event in trig.run()]
    assert len(events) == 1
    payload: dict[str, Any] = events[0]
    return payload


def run(trig: NovaJobTrigger) -> dict[str, Any]:
    return asyncio.run(first_event(trig))


def status_of(aws: Any, name: str) -> str:
    return str(aws.sagemaker.describe_training_job(TrainingJobName=name)["TrainingJobStatus"])


def test_serialize_gives_json_primitives_that_rebuild_the_same_trigger() -> None:
    job = {"platform": "SMTJ", "job_name": "j", "region": "eu-west-1"}
    trig = NovaJobTrigger(
        job, aws_conn_id="c", region_name="eu-west-1", verify=False, botocore_config=NO_RETRIES, poll_interval=30
    )
    classpath, kwargs = trig.serialize()
    module, _, name = classpath.rpartition(".")
    rebuilt = getattr(importlib.import_module(module), name)(**json.loads(json.dumps(kwargs)))
    assert rebuilt.serialize() == (classpath, kwargs)
    assert kwargs == {
        "job": job,
        "aws_conn_id": "c",
        "region_name": "eu-west-1",
        "verify": False,
        "botocore_config": NO_RETRIES,
        "poll_interval": 30,
        "timeout": None,
        "stop_on_kill": True,
    }


@pytest.mark.parametrize(("poll_interval", "timeout"), [(0, None), (-1, None), (5, 0), ("5", None)])
def test_a_bad_interval_or_timeout_is_refused_when_built(poll_interval: Any, timeout: Any) -> None:
    with pytest.raises(NovaError, match="must be a positive number"):
        NovaJobTrigger({}, poll_interval=poll_interval, timeout=timeout)


def test_a_completed_job_is_one_success_event(aws_conn: str, start_smtj_job: Callable[..., Any], control: Any) -> None:
    job = start_smtj_job("trig-done")
    control.complete_job("trig-done")
    event = run(trigger(job, aws_conn))
    assert event == {
        "status": "success",
        "job": job,
        "state": {"status": "COMPLETED", "raw": "Completed", "reason": None, "secondary": "Completed"},
        "message": "SMTJ job trig-done completed",
    }
    assert check_event(event).status is JobStatus.COMPLETED


def test_a_failed_job_is_a_failed_event_with_the_services_reason(
    aws_conn: str, start_smtj_job: Callable[..., Any], control: Any
) -> None:
    job = start_smtj_job("trig-failed")

    async def scenario() -> dict[str, Any]:
        waiting = asyncio.create_task(first_event(trigger(job, aws_conn)))
        await asyncio.sleep(3 * FAST)  # the trigger sees it running first
        assert not waiting.done()
        await asyncio.to_thread(control.fail_job, "trig-failed", "AlgorithmError: loss is NaN")
        return await waiting

    event = asyncio.run(scenario())
    assert event["status"] == "failed"
    assert event["state"]["reason"] == "AlgorithmError: loss is NaN"
    assert event["message"] == "job trig-failed ended Failed: AlgorithmError: loss is NaN"
    with pytest.raises(JobFailedError) as info:
        check_event(event)
    assert (info.value.job_id, info.value.status, info.value.reason) == (
        "trig-failed",
        "Failed",
        "AlgorithmError: loss is NaN",
    )


def test_a_stopped_job_is_a_failure_never_a_success(
    aws_conn: str, start_smtj_job: Callable[..., Any], aws: Any
) -> None:
    job = start_smtj_job("trig-stopped")
    jobs_for(Platform.SMTJ, aws).stop(jobs_for(Platform.SMTJ, aws).ref("trig-stopped"))
    event = run(trigger(job, aws_conn))
    assert (event["status"], event["state"]["raw"]) == ("failed", "Stopped")
    with pytest.raises(JobFailedError, match="ended Stopped"):
        check_event(event)


def test_a_wait_past_its_timeout_is_one_timeout_event_and_the_job_keeps_running(
    aws_conn: str, start_smtj_job: Callable[..., Any], control: Any, aws: Any
) -> None:
    job = start_smtj_job("trig-slow")
    other = start_smtj_job("trig-other")

    async def scenario() -> dict[str, Any]:
        waiting = asyncio.create_task(first_event(trigger(other, aws_conn)))
        while not control.calls().get("ListTrainingJobs"):  # the shared poller is connected and polling
            await asyncio.sleep(FAST)
        event = await first_event(trigger(job, aws_conn, timeout=10 * FAST))
        await asyncio.to_thread(control.complete_job, "trig-other")
        assert (await waiting)["status"] == "success"
        return event

    event = asyncio.run(scenario())
    assert event["status"] == "timeout"
    assert event["state"]["raw"] == "InProgress"
    assert event["waited_seconds"] >= 10 * FAST
    assert event["message"].startswith("SMTJ job trig-slow still InProgress after")
    with pytest.raises(WaitTimeoutError, match="trig-slow still InProgress"):
        check_event(event)
    assert status_of(aws, "trig-slow") == "InProgress"


def test_a_missing_job_is_an_error_event_and_does_not_disturb_the_other_waits(
    aws_conn: str, start_smtj_job: Callable[..., Any], control: Any
) -> None:
    job = start_smtj_job("trig-real")
    missing = {**job, "job_name": "never-started"}

    async def scenario() -> list[dict[str, Any]]:
        real = asyncio.create_task(first_event(trigger(job, aws_conn)))
        error = await first_event(trigger(missing, aws_conn))
        assert not real.done()
        await asyncio.to_thread(control.complete_job, "trig-real")
        return [error, await real]

    error, real = asyncio.run(scenario())
    assert error["status"] == "error" and error["state"] is None
    assert "never-started" in error["message"] and "ValidationException" in error["message"]
    with pytest.raises(NovaError, match="ValidationException"):
        check_event(error)
    assert real["status"] == "success"


def test_a_job_reference_that_cannot_be_followed_is_an_error_event(aws_conn: str) -> None:
    event = run(trigger({"platform": "SMHP", "job_name": "hp", "region": "us-east-1"}, aws_conn))
    assert event["status"] == "error" and "needs cluster_name and namespace" in event["message"]
    event = run(trigger({"job_name": "no-platform"}, aws_conn))
    assert event["status"] == "error" and "not a job reference" in event["message"]


def test_many_waits_share_one_list_call_per_interval_and_completed_jobs_need_no_describe(
    aws_conn: str, start_smtj_job: Callable[..., Any], control: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    jobs = [start_smtj_job(f"shared-{i}") for i in range(20)]
    rounds: list[list[str]] = []
    real = TrainingJobs.describe_many

    def counted(self: TrainingJobs, names: list[str]) -> Any:
        rounds.append(names)
        return real(self, names)

    monkeypatch.setattr(TrainingJobs, "describe_many", counted)
    before = control.calls()

    async def scenario() -> tuple[list[dict[str, Any]], float]:
        started = time.monotonic()
        waits = [asyncio.create_task(first_event(trigger(job, aws_conn))) for job in jobs]
        await asyncio.sleep(5 * FAST)
        assert len(pollers()) == 1  # one poller for the 20 waits
        for i in range(20):
            await asyncio.to_thread(control.complete_job, f"shared-{i}")
            if i % 5 == 4:
                await asyncio.sleep(2 * FAST)
        events = await asyncio.gather(*waits)
        assert pollers() == {}  # the last wait stopped the poller
        return events, time.monotonic() - started

    events, elapsed = asyncio.run(scenario())

    assert [e["status"] for e in events] == ["success"] * 20
    calls = control.calls()
    lists = calls["ListTrainingJobs"] - before.get("ListTrainingJobs", 0)
    assert lists == len(rounds)  # one list call per poll round, for all 20 waits
    assert 3 <= len(rounds) <= elapsed / FAST + 2
    assert rounds[0] == sorted(j["job_name"] for j in jobs)
    # a completed job is settled from the list page that shows it: no describe at all
    assert calls.get("DescribeTrainingJob", 0) - before.get("DescribeTrainingJob", 0) == 0


def test_a_transient_error_is_retried_at_the_next_interval_without_failing_the_wait(
    aws_conn: str, start_smtj_job: Callable[..., Any], control: Any
) -> None:
    job = start_smtj_job("trig-throttled")
    before = control.calls()
    control.fail_next("ListTrainingJobs", "ThrottlingException", count=2)
    control.fail_next("DescribeTrainingJob", "InternalFailure", count=1, status=500)

    async def scenario() -> dict[str, Any]:
        waiting = asyncio.create_task(first_event(trigger(job, aws_conn, botocore_config=NO_RETRIES)))
        while control.calls().get("ListTrainingJobs", 0) < 1:  # the two throttled polls, then a good one
            await asyncio.sleep(FAST)
        await asyncio.to_thread(control.fail_job, "trig-throttled", "AlgorithmError: injected")
        return await waiting  # a failed job is described for its reason: the first describe is a 500

    event = asyncio.run(scenario())
    assert event["status"] == "failed" and "AlgorithmError: injected" in event["message"]
    calls = control.calls()
    assert calls["ListTrainingJobs.failed"] == 2
    assert calls["DescribeTrainingJob.failed"] - before.get("DescribeTrainingJob.failed", 0) == 1


def test_on_kill_stops_the_job_and_cleanup_does_not(
    aws_conn: str, start_smtj_job: Callable[..., Any], aws: Any
) -> None:
    job = start_smtj_job("trig-killed")
    kept = start_smtj_job("trig-kept")

    async def cancel_then(trig: NovaJobTrigger, finish: Callable[[], Any]) -> None:
        waiting = asyncio.create_task(first_event(trig))
        await asyncio.sleep(2 * FAST)
        waiting.cancel()  # what the triggerer does first, for a user's action and a restart alike
        with pytest.raises(asyncio.CancelledError):
            await waiting
        await finish()
        assert pollers() == {}

    killed = trigger(job, aws_conn)
    asyncio.run(cancel_then(killed, killed.on_kill))
    assert status_of(aws, "trig-killed") == "Stopped"
    restarted = trigger(kept, aws_conn)
    asyncio.run(cancel_then(restarted, restarted.cleanup))
    assert status_of(aws, "trig-kept") == "InProgress"


@pytest.mark.parametrize(
    "event",
    [
        None,
        {},
        {"status": "maybe"},
        {"status": "success", "state": None},
        {"status": "success", "state": {"status": "FAILED", "raw": "Failed"}},
        {"status": "failed", "state": {"status": "LOST"}},
    ],
)
def test_a_malformed_event_is_a_nova_error(event: Any) -> None:
    with pytest.raises(NovaError):
        check_event(event)
