"""No lost and no duplicate training jobs when Airflow's own processes fail or users act, in a real Airflow.

The scheduler, triggerer, dag-processor and api-server run as processes (SQLite, LocalExecutor)
against the stand-in, as in production: a worker is killed mid-wait, the triggerer is restarted and
killed, a deferred task is marked failed or cleared, a running task is cleared, and
``CreateTrainingJob`` is throttled and its answer lost. After each, the stand-in's accepted
``CreateTrainingJob`` calls and the jobs it holds are counted: one per logical job, and a job
whose task was stopped by a user is stopped too.

One Airflow serves the whole module; the tests run one after the other and count what each added.
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

DAGS = Path(__file__).parent / "dags"
IN_WORKER, DEFERRED = "nova_wait_in_worker", "nova_wait_deferred"
T = TypeVar("T")
# What this module's Airflow changes from AirflowStack's settings, so that faults are noticed in seconds:
FAST_DETECTION = {
    # a task whose worker died is failed (and retried) 20 s after its last heartbeat, not 5 minutes
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "20",
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "2",
    # a killed triggerer's triggers go to the next triggerer 10 s after its last heartbeat, not 30
    "AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD": "10",
    "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",  # triggered runs only
    "AWS_EC2_METADATA_DISABLED": "true",
}


def until(check: Callable[[], T | None], what: str, timeout: float = 180, every: float = 1) -> T:
    """Ask ``check`` every ``every`` seconds until it returns something; that."""
    deadline = time.monotonic() + timeout
    while (found := check()) is None or found is False:
        if time.monotonic() > deadline:
            raise TimeoutError(f"not within {timeout:.0f} s: {what}")
        time.sleep(every)
    return found


class StandIn:
    """The stand-in as the tests see it: its control API, and its training jobs through SageMaker's own API."""

    def __init__(self, endpoint_url: str, control: Any, credentials: dict[str, str]) -> None:
        import boto3

        self.control = control
        self.credentials = credentials
        self.sagemaker = boto3.client(
            "sagemaker",
            endpoint_url=endpoint_url,
            region_name="us-east-1",
            aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=credentials["AWS_SESSION_TOKEN"],
        )

    def jobs(self) -> dict[str, str]:
        """Every training job the stand-in holds, by name: its status."""
        pages = self.sagemaker.get_paginator("list_training_jobs").paginate()
        return {j["TrainingJobName"]: j["TrainingJobStatus"] for page in pages for j in page["TrainingJobSummaries"]}

    def status(self, name: str) -> str:
        return str(self.sagemaker.describe_training_job(TrainingJobName=name)["TrainingJobStatus"])

    def creates(self) -> int:
        """``CreateTrainingJob`` calls the stand-in accepted so far."""
        return int(self.control.calls().get("CreateTrainingJob", 0))


class Ledger:
    """What one test added to the stand-in: the new jobs and the accepted ``CreateTrainingJob`` calls."""

    def __init__(self, stand_in: StandIn) -> None:
        self.stand_in = stand_in
        self.jobs_before = set(stand_in.jobs())
        self.creates_before = stand_in.creates()

    def new_jobs(self) -> dict[str, str]:
        return {n: s for n, s in self.stand_in.jobs().items() if n not in self.jobs_before}

    def creates(self) -> int:
        return self.stand_in.creates() - self.creates_before

    def the_new_job(self) -> str:
        """The one job this test's run started, once it exists."""
        names = until(lambda: list(self.new_jobs()) or None, "the task started its training job", timeout=120)
        assert len(names) == 1, names
        return names[0]


@pytest.fixture(scope="module")
def stand_in(sandbox: Any, baseline: dict[str, str]) -> StandIn:
    """A fresh stand-in account for the module: the SFT data, and the role the jobs run as."""
    from airflow_provider_nova.sandbox import SandboxControl, rehearsal

    control = SandboxControl(sandbox.endpoint_url)
    seeded = control.reset_account(baseline, "NovaCustomizationRole", rehearsal.SAGEMAKER_TRUST)
    return StandIn(sandbox.endpoint_url, control, seeded["credentials"])


@pytest.fixture(scope="module")
def airflow(stand_in: StandIn, sandbox: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Airflow's four services on this module's DAGs, the ``aws_default`` connection on the stand-in account."""
    from airflow_provider_nova.sandbox import rehearsal
    from airflow_provider_nova.sandbox.airflow_stack import AirflowStack

    conn = rehearsal.airflow_connection(sandbox.endpoint_url, stand_in.credentials)
    env = {"AIRFLOW_CONN_AWS_DEFAULT": json.dumps(conn), **FAST_DETECTION}
    with AirflowStack(tmp_path_factory.mktemp("airflow"), DAGS, env) as stack:
        stack.api.wait_for_dag(IN_WORKER)
        stack.api.wait_for_dag(DEFERRED)
        yield stack


@pytest.fixture
def ledger(stand_in: StandIn) -> Iterator[Ledger]:
    try:
        yield Ledger(stand_in)
    finally:
        stand_in.control.clear_faults()


def train(airflow: Any, dag_id: str, run_id: str) -> dict[str, Any]:
    ti: dict[str, Any] = airflow.api.task_instance(dag_id, run_id, "train")
    return ti


def in_state(airflow: Any, dag_id: str, run_id: str, state: str, try_number: int = 1) -> dict[str, Any] | None:
    ti = train(airflow, dag_id, run_id)
    return ti if ti["state"] == state and ti["try_number"] == try_number else None


def run_end(airflow: Any, dag_id: str, run_id: str, timeout: float = 180) -> str:
    return str(airflow.api.wait_for_run(dag_id, run_id, timeout))


def kill_worker(task_pid: int) -> list[int]:
    """SIGKILL the LocalExecutor worker running a task and the task process: a worker lost with no goodbye."""
    import psutil

    task = psutil.Process(task_pid)
    worker = task.parent()
    assert worker is not None and "LocalExecutor" in " ".join(worker.cmdline()), worker
    for process in (worker, task):
        process.send_signal(signal.SIGKILL)
    psutil.wait_procs([worker, task], timeout=10)
    return [worker.pid, task.pid]


def test_a_killed_worker_s_retry_reattaches_to_the_same_job(airflow: Any, stand_in: StandIn, ledger: Ledger) -> None:
    stand_in.control.set_job_seconds(3600)  # ends when the test says so
    run_id = airflow.api.trigger(IN_WORKER, {})
    first = until(lambda: in_state(airflow, IN_WORKER, run_id, "running"), "the task runs")
    job = ledger.the_new_job()
    kill_worker(int(first["pid"]))

    retry = until(lambda: in_state(airflow, IN_WORKER, run_id, "running", try_number=2), "the retry runs", 120)
    assert retry["pid"] != first["pid"]
    assert stand_in.status(job) == "InProgress"  # the lost worker's job ran on
    time.sleep(3)  # the retry has found the job and waits on it
    stand_in.control.complete_job(job)

    assert run_end(airflow, IN_WORKER, run_id) == "success"
    assert airflow.api.xcom(IN_WORKER, run_id, "train")["job_name"] == job
    assert ledger.new_jobs() == {job: "Completed"} and ledger.creates() == 1


def test_a_restarted_and_a_killed_triggerer_resume_the_deferred_wait(
    airflow: Any, stand_in: StandIn, ledger: Ledger
) -> None:
    stand_in.control.set_job_seconds(3600)
    run_id = airflow.api.trigger(DEFERRED, {})
    until(lambda: in_state(airflow, DEFERRED, run_id, "deferred"), "the task deferred")
    job = ledger.the_new_job()

    airflow.stop_component("triggerer")  # SIGTERM: a restart, as a deployment does it
    assert stand_in.status(job) == "InProgress"  # the trigger's cleanup left the job alone
    airflow.start_component("triggerer")
    time.sleep(5)
    airflow.stop_component("triggerer", signal.SIGKILL)  # a crash: no cleanup at all
    airflow.start_component("triggerer")  # takes the dead one's triggers after its health check threshold
    assert stand_in.status(job) == "InProgress" and train(airflow, DEFERRED, run_id)["state"] == "deferred"
    stand_in.control.complete_job(job)

    assert run_end(airflow, DEFERRED, run_id) == "success"
    ti = train(airflow, DEFERRED, run_id)
    assert ti["try_number"] == 1  # resumed from deferral, not retried
    assert airflow.api.xcom(DEFERRED, run_id, "train")["job_name"] == job
    assert ledger.new_jobs() == {job: "Completed"} and ledger.creates() == 1


def test_marking_a_deferred_task_failed_stops_its_job(airflow: Any, stand_in: StandIn, ledger: Ledger) -> None:
    stand_in.control.set_job_seconds(3600)
    run_id = airflow.api.trigger(DEFERRED, {})
    until(lambda: in_state(airflow, DEFERRED, run_id, "deferred"), "the task deferred")
    job = ledger.the_new_job()
    time.sleep(2)  # the triggerer runs the trigger

    airflow.api.set_task_state(DEFERRED, run_id, "train", "failed")

    until(lambda: stand_in.status(job) in ("Stopping", "Stopped"), f"{job} is stopped", 60)
    assert run_end(airflow, DEFERRED, run_id) == "failed"
    assert train(airflow, DEFERRED, run_id)["state"] == "failed"
    time.sleep(3)  # nothing starts another job
    assert list(ledger.new_jobs()) == [job] and ledger.creates() == 1


@pytest.mark.parametrize("dag_id, waiting", [(DEFERRED, "deferred"), (IN_WORKER, "running")])
def test_clearing_a_waiting_task_stops_its_job_and_starts_one_anew(
    airflow: Any, stand_in: StandIn, ledger: Ledger, dag_id: str, waiting: str
) -> None:
    stand_in.control.set_job_seconds(3600)
    run_id = airflow.api.trigger(dag_id, {})
    until(lambda: in_state(airflow, dag_id, run_id, waiting), f"the task is {waiting}")
    first = ledger.the_new_job()
    time.sleep(2)  # the wait is under way (in the triggerer, or polling in the worker)

    airflow.api.clear_task(dag_id, run_id, "train")

    until(lambda: stand_in.status(first) in ("Stopping", "Stopped"), f"{first} is stopped", 90)
    second = until(lambda: [n for n in ledger.new_jobs() if n != first] or None, "the cleared task's new job", 120)
    assert second == [f"{first}-2"]  # one new job, under the next free name
    stand_in.control.complete_job(second[0])

    assert run_end(airflow, dag_id, run_id) == "success"
    assert airflow.api.xcom(dag_id, run_id, "train")["job_name"] == second[0]
    assert ledger.new_jobs() == {first: "Stopped", second[0]: "Completed"} and ledger.creates() == 2


def test_a_throttled_create_whose_answer_was_lost_is_found_not_made_twice(
    airflow: Any, stand_in: StandIn, ledger: Ledger
) -> None:
    stand_in.control.set_job_seconds(8)
    failed_before = int(stand_in.control.calls().get("CreateTrainingJob.failed", 0))
    stand_in.control.throttle("CreateTrainingJob", count=2)  # refused twice, then:
    stand_in.control.lose_response("CreateTrainingJob", count=1)  # made, but its answer never arrives

    run_id = airflow.api.trigger(DEFERRED, {})

    assert run_end(airflow, DEFERRED, run_id) == "success"
    assert train(airflow, DEFERRED, run_id)["try_number"] == 1  # botocore's retries, not Airflow's
    job = airflow.api.xcom(DEFERRED, run_id, "train")["job_name"]
    assert ledger.new_jobs() == {job: "Completed"} and ledger.creates() == 1
    refused = int(stand_in.control.calls().get("CreateTrainingJob.failed", 0)) - failed_before
    assert refused == 3  # throttled twice, then the retry of the lost one refused with ResourceInUse


def test_no_task_or_trigger_log_of_these_runs_holds_a_secret(airflow: Any, stand_in: StandIn) -> None:
    """The real workers' and triggerer's logs of every run above (kills, restarts and faults included)."""
    import re

    secrets = {"secret key": stand_in.credentials["AWS_SECRET_ACCESS_KEY"]}
    secrets["session token"] = stand_in.credentials["AWS_SESSION_TOKEN"]
    signing = re.compile(r"X-Amz-(?:Signature|Credential|Security-Token)=|AWS4-HMAC-SHA256 Credential=", re.I)
    logs = [p for p in airflow.home.rglob("*.log") if p.is_file()]
    task_logs = [p for p in logs if "task_id=train" in str(p)]
    assert len(task_logs) >= 8 and any(".trigger." in p.name for p in task_logs)  # worker tries and trigger logs
    found = []
    for path in logs:
        text = path.read_text(encoding="utf-8", errors="replace")
        found += [f"{path}: {name}" for name, value in secrets.items() if value in text]
        found += [f"{path}: {marker}" for marker in set(signing.findall(text))]
    assert found == []
