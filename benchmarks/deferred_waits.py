"""Benchmark a thousand deferred SageMaker training waits in one real Airflow triggerer.

N training jobs (default 1,000) are created in the local AWS stand-in, and N task instances of one
DAG run are written, through Airflow's ORM, in state ``deferred`` with one trigger row each, as a
deferring task leaves them. Then ONE ``airflow triggerer --skip-serve-logs`` process (SQLite, bound
to nothing) runs the waits until every task instance has left ``deferred``. Two phases in one run,
each with its own fresh jobs of the same spec and its own fresh triggerer process, against the same
stand-in process:

* ``nova``: our ``NovaJobTrigger`` (waits with the same connection parameters share one poll per
  interval: ``ListTrainingJobs`` pages, a hundred jobs a page, and a describe only for a job that
  failed or was stopped);
* ``amazon``: the amazon provider's ``SageMakerTrigger(job_type="training")`` (one
  ``DescribeTrainingJob`` per job per interval, through aiobotocore).

Both use the ``aws_default`` connection (an ``AIRFLOW_CONN_AWS_DEFAULT`` pointing at the stand-in)
and the same poll interval. For each it prints AWS calls per job-hour (the stand-in's accepted calls
by operation while the triggerer ran, over the job-hours waited: the sum over tasks of deferral to
resume), CPU seconds per job-hour and peak RSS of the triggerer's process tree (psutil, sampled each
second), the status latency and the worker slots held.

Every job ends ``--job-seconds`` after the deferral, the ends spread evenly over the last two poll
intervals in shuffled order, so that they fall at every phase of the polls: the benchmark completes
each at its time through the stand-in's control API (not an AWS call, not counted), and the stand-in
records that moment as the job's ``TrainingEndTime``. Status latency is measured from that
``TrainingEndTime`` to the task instance's ``scheduled_dttm``, which the triggerer sets when it hands
the trigger's event back (``handle_event_submit``: the task instance leaves ``deferred`` for
``scheduled``). No scheduler runs, so the task instances stay ``scheduled`` and that timestamp is not
overwritten; for the same reason no worker runs: "worker slots held" counts the task instances seen
``running`` while waiting.

Why its own venv: the amazon trigger needs aiobotocore, and aiobotocore 3.10.0 (the newest) requires
botocore<1.43.118 while the provider pins botocore 1.44.8. The provider does not depend on
aiobotocore. ``make bench-deferred`` builds ``benchmarks/.venv-aiobotocore`` from
``.ci/constraints.txt`` with the overrides in ``benchmarks/constraints-aiobotocore.txt`` (aiobotocore
3.10.0, boto3/botocore 1.43.117) and runs BOTH phases there, so the figures compare like with like.
``--only nova`` runs in the project's own venv too.

    make bench-deferred [DEFERRED_ARGS="--jobs 100"]
    python benchmarks/deferred_waits.py [--jobs 1000] [--poll-interval 30] [--job-seconds 180] [--only nova]

The default run takes about ten minutes on a 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from airflow_provider_nova.sandbox.airflow_stack import AirflowStack, free_port  # noqa: E402

PHASES = ("nova", "amazon")
LABELS = {"nova": "NovaJobTrigger", "amazon": "amazon SageMakerTrigger"}
SHORT = {"DescribeTrainingJob": "Describe", "ListTrainingJobs": "List"}
GOAL = 50.0
STAND_IN_JOB_SECONDS = (
    7 * 86400
)  # jobs end when the benchmark completes them, never by themselves  # at least this many times fewer AWS calls than the amazon trigger
REGION = "us-east-1"
BUCKET = "nova-bench"
DAG_FILE = """
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG

for phase in {phases!r}:
    with DAG(f"deferred_waits_{{phase}}", schedule=None, catchup=False):
        for i in range({jobs}):
            EmptyOperator(task_id=f"wait_{{i:05d}}")
"""


@dataclass
class Result:
    """What one phase measured."""

    name: str
    jobs: int
    calls: dict[str, int] = field(default_factory=dict)
    job_hours: float = 0.0
    cpu_seconds: float = 0.0  # triggerer tree, from deferral to the last resume
    startup_cpu: float = 0.0  # triggerer tree, from its start until it was idle (before any deferral)
    peak_rss: int = 0
    idle_rss: int = 0
    latencies: list[float] = field(default_factory=list)
    events: Counter[str] = field(default_factory=Counter)
    states: Counter[str] = field(default_factory=Counter)
    max_running: int = 0
    max_deferred: int = 0


# -- processes ----------------------------------------------------------------------------------
def tree(pid: int) -> list[Any]:
    import psutil

    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def usage(pid: int) -> tuple[float, int]:
    """CPU seconds (user + system, reaped children too) and RSS bytes of ``pid``'s process tree."""
    import psutil

    cpu, rss = 0.0, 0
    for process in tree(pid):
        try:
            times = process.cpu_times()
            cpu += times.user + times.system + times.children_user + times.children_system
            rss += process.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return cpu, rss


def start_stand_in(workdir: Path, job_seconds: float) -> tuple[subprocess.Popen[bytes], str]:
    """The stand-in in its own process (so the benchmark's polling does not slow it); its endpoint."""
    from airflow_provider_nova.sandbox import SandboxControl

    port = free_port()
    log = open(workdir / "stand-in.log", "ab")  # noqa: SIM115 - owned by the process
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, (str(REPO), os.environ.get("PYTHONPATH"))))}
    process = subprocess.Popen(
        [sys.executable, "-m", "airflow_provider_nova.sandbox", "--port", str(port), "--job-seconds", str(job_seconds)],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the stand-in exited with {process.returncode}; see {workdir}/stand-in.log")
        try:
            SandboxControl(endpoint).health()
            return process, endpoint
        except OSError:
            time.sleep(0.5)
    raise RuntimeError("the stand-in did not answer within 120 s")


def stop_process(process: subprocess.Popen[bytes] | None) -> None:
    """Stop a process we started, and its children, by its process group (its pid)."""
    if process is None or process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(30)


# -- the stand-in's account and jobs ----------------------------------------------------------------
def seed_account(control: Any) -> dict[str, Any]:
    """A fresh account: a bucket with training data and a recipe, and a SageMaker execution role."""
    from airflow_provider_nova.sandbox import rehearsal

    rows = "".join(json.dumps(row) + "\n" for row in rehearsal.SAMPLE_SFT_ROWS)
    objects = {f"s3://{BUCKET}/train/train.jsonl": rows, f"s3://{BUCKET}/recipe/recipe.yaml": "run:\n  name: bench\n"}
    return control.reset_account(objects, "NovaBenchRole", rehearsal.SAGEMAKER_TRUST)


def sagemaker_client(endpoint: str, credentials: dict[str, str]) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "sagemaker",
        region_name=REGION,
        endpoint_url=endpoint,
        aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=credentials["AWS_SESSION_TOKEN"],
        config=Config(max_pool_connections=8, retries={"mode": "standard"}),
    )


def training_request(name: str, role_arn: str) -> dict[str, Any]:
    def channel(name: str, prefix: str) -> dict[str, Any]:
        source = {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/{prefix}/"}
        return {"ChannelName": name, "DataSource": {"S3DataSource": source}}

    return {
        "TrainingJobName": name,
        "RoleArn": role_arn,
        "AlgorithmSpecification": {"TrainingImage": "nova-fine-tune:SM-TJ-SFT-latest", "TrainingInputMode": "File"},
        "InputDataConfig": [channel("train", "train"), channel("recipe", "recipe")],
        "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/output/"},
        "ResourceConfig": {"InstanceType": "ml.p5.48xlarge", "InstanceCount": 1, "VolumeSizeInGB": 100},
        "StoppingCondition": {"MaxRuntimeInSeconds": 86400},
    }


def create_jobs(client: Any, names: list[str], role_arn: str) -> None:
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda name: client.create_training_job(**training_request(name, role_arn)), names))


def end_schedule(names: list[str], start: float, args: argparse.Namespace) -> list[tuple[float, str]]:
    """When each job ends (epoch): spread evenly over the last ``spread`` seconds of ``--job-seconds``.

    The spread is two poll intervals (at most half the job time), so job ends fall at every phase of
    the shared poll and of each amazon trigger's own; the jobs end in a shuffled order, since the
    triggers start (and so poll) in the order of ``names``.
    """
    spread = min(2 * args.poll_interval, args.job_seconds / 2)
    first = start + args.job_seconds - spread
    shuffled = random.Random(7).sample(names, len(names))
    return [(first + spread * i / max(1, len(names) - 1), name) for i, name in enumerate(shuffled)]


def finish_jobs(control: Any, schedule: list[tuple[float, str]], stop: threading.Event) -> None:
    """Complete each job at its time through the stand-in's control API (not an AWS call)."""
    for at, name in schedule:
        if stop.wait(max(0.0, at - time.time())):
            return
        control.complete_job(name)


def end_times(client: Any, prefix: str) -> dict[str, float]:
    """Each job's ``TrainingEndTime`` (epoch seconds) in the stand-in."""
    ended: dict[str, float] = {}
    for page in client.get_paginator("list_training_jobs").paginate(NameContains=prefix, MaxResults=100):
        for row in page["TrainingJobSummaries"]:
            if "TrainingEndTime" in row:
                ended[row["TrainingJobName"]] = row["TrainingEndTime"].timestamp()
    return ended


# -- Airflow ------------------------------------------------------------------------------------
def make_stack(workdir: Path, jobs: int, connection: dict[str, Any]) -> AirflowStack:
    """An Airflow home with the benchmark's DAGs serialized; nothing started yet."""
    dags = workdir / "dags"
    dags.mkdir(parents=True, exist_ok=True)
    (dags / "deferred_waits.py").write_text(DAG_FILE.format(phases=PHASES, jobs=jobs), encoding="utf-8")
    env = {
        "AIRFLOW_CONN_AWS_DEFAULT": json.dumps(connection),
        "AIRFLOW__TRIGGERER__CAPACITY": str(max(jobs, 1000)),
        "AIRFLOW__TRIGGERER__MAX_TRIGGER_TO_SELECT_PER_LOOP": str(max(jobs, 50)),  # one triggerer takes them all
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        "PYTHONPATH": os.pathsep.join(filter(None, (str(REPO), os.environ.get("PYTHONPATH")))),
    }
    stack = AirflowStack(workdir / "airflow", dags, env)
    stack.airflow("db", "migrate", timeout=600)
    stack.airflow("dags", "reserialize", timeout=600)
    (stack.home / "process-logs").mkdir(exist_ok=True)
    os.environ.update(stack.env)  # the ORM below reads this home's database
    return stack


def make_trigger(phase: str, job_name: str, poll: float) -> Any:
    if phase == "nova":
        from airflow_provider_nova.core.enums import Platform
        from airflow_provider_nova.core.lifecycle import JobRef
        from airflow_provider_nova.triggers.job import NovaJobTrigger

        job = JobRef(Platform.SMTJ, job_name, REGION).to_json()
        return NovaJobTrigger(job, aws_conn_id="aws_default", poll_interval=poll)
    from airflow.providers.amazon.aws.triggers.sagemaker import SageMakerTrigger

    return SageMakerTrigger(
        job_name=job_name, job_type="training", waiter_delay=int(poll), waiter_max_attempts=10_000,
        aws_conn_id="aws_default",
    )  # fmt: skip


def defer_all(dag_id: str, run_id: str, triggers: dict[str, Any]) -> float:
    """One DAG run whose task instances are all ``deferred`` on ``triggers`` (by task id); when (epoch)."""
    from airflow.models.dagbag import DBDagBag
    from airflow.models.trigger import Trigger
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState, TaskInstanceState
    from airflow.utils.types import DagRunTriggeredByType, DagRunType

    with create_session() as session:
        dag = DBDagBag().get_latest_version_of_dag(dag_id, session=session)
        now = datetime.now(timezone.utc)
        run = dag.create_dagrun(
            run_id=run_id, logical_date=now, data_interval=(now, now), run_after=now, run_type=DagRunType.MANUAL,
            triggered_by=DagRunTriggeredByType.TEST, state=DagRunState.RUNNING, start_date=now, session=session,
        )  # fmt: skip
        for ti in run.get_task_instances(session=session):
            row = Trigger.from_object(triggers[ti.task_id])
            session.add(row)
            session.flush()
            ti.state, ti.trigger_id, ti.try_number = TaskInstanceState.DEFERRED, row.id, 1
            ti.next_method, ti.next_kwargs, ti.start_date = "execute_complete", {}, now
            ti.scheduled_dttm = None
    return now.timestamp()


def state_counts(dag_id: str, run_id: str) -> Counter[str]:
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import func, select

    with create_session() as session:
        query = (
            select(TaskInstance.state, func.count())
            .where(TaskInstance.dag_id == dag_id, TaskInstance.run_id == run_id)
            .group_by(TaskInstance.state)
        )
        return Counter({str(state): int(n) for state, n in session.execute(query)})


def resumed(dag_id: str, run_id: str) -> dict[str, tuple[str, float | None, str]]:
    """By task id: state, when the triggerer handed the event back (epoch), the event's status."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.sdk.serde import deserialize
    from airflow.utils.session import create_session
    from sqlalchemy import select

    out: dict[str, tuple[str, float | None, str]] = {}
    with create_session() as session:
        query = select(TaskInstance.task_id, TaskInstance.state, TaskInstance.scheduled_dttm, TaskInstance.next_kwargs)
        for task_id, state, at, kwargs in session.execute(
            query.where(TaskInstance.dag_id == dag_id, TaskInstance.run_id == run_id)
        ):
            event = (deserialize(kwargs) if kwargs else {}).get("event") or {}
            status = str(event.get("status", "none")) if isinstance(event, dict) else "none"
            out[task_id] = (str(state), at.timestamp() if at and str(state) == "scheduled" else None, status)
    return out


def wait_until_idle(stack: AirflowStack, seconds: float = 240) -> None:
    """Until the triggerer's job heartbeats (it is up and polling for triggers), then a few seconds more."""
    from airflow.jobs.job import Job
    from airflow.utils.session import create_session
    from sqlalchemy import select

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        process = stack.processes["triggerer"]
        if process.poll() is not None:
            raise RuntimeError(f"the triggerer exited with {process.returncode}; see {stack.home}/process-logs")
        with create_session() as session:
            query = select(Job.id).where(Job.job_type == "TriggererJob", Job.state == "running")
            if session.execute(query.where(Job.hostname.is_not(None))).first() is not None:
                time.sleep(2)
                return
        time.sleep(1)
    raise RuntimeError(f"the triggerer did not start within {seconds:.0f} s")


# -- one phase ----------------------------------------------------------------------------------
def run_phase(phase: str, args: argparse.Namespace, stack: AirflowStack, client: Any, ctx: dict[str, Any]) -> Result:
    result = Result(phase, args.jobs)
    prefix, dag_id = f"dw-{phase}-{int(time.time())}", f"deferred_waits_{phase}"
    names = {f"wait_{i:05d}": f"{prefix}-{i:05d}" for i in range(args.jobs)}
    stack.start_component("triggerer")
    pid = stack.processes["triggerer"].pid
    started = time.monotonic()
    wait_until_idle(stack)
    result.startup_cpu, result.idle_rss = usage(pid)
    print(f"[{phase}] triggerer up in {time.monotonic() - started:.0f} s; creating {args.jobs} jobs", flush=True)
    create_jobs(client, list(names.values()), ctx["role_arn"])
    triggers = {task: make_trigger(phase, name, args.poll_interval) for task, name in names.items()}
    before = ctx["control"].calls()
    cpu_before, _ = usage(pid)
    deferred_at = defer_all(dag_id, prefix, triggers)
    print(f"[{phase}] {args.jobs} task instances deferred; waiting", flush=True)
    stop = threading.Event()
    schedule = end_schedule(list(names.values()), deferred_at, args)
    finisher = threading.Thread(target=finish_jobs, args=(ctx["control"], schedule, stop), daemon=True)
    finisher.start()
    try:
        watch(result, dag_id, prefix, pid, deadline=time.monotonic() + args.job_seconds + 4 * args.poll_interval + 300)
    finally:
        stop.set()
        finisher.join()
    result.cpu_seconds = usage(pid)[0] - cpu_before
    stack.stop_component("triggerer")
    after = ctx["control"].calls()
    result.calls = {op: after.get(op, 0) - before.get(op, 0) for op in sorted(after) if after[op] != before.get(op, 0)}
    settle(result, resumed(dag_id, prefix), end_times(client, prefix), names, deferred_at)
    return result


def watch(result: Result, dag_id: str, run_id: str, pid: int, deadline: float) -> None:
    """Sample the triggerer's memory and the task states each second until no task instance is deferred."""
    while time.monotonic() < deadline:
        counts = state_counts(dag_id, run_id)
        result.peak_rss = max(result.peak_rss, usage(pid)[1])
        result.max_running = max(result.max_running, counts.get("running", 0))
        result.max_deferred = max(result.max_deferred, counts.get("deferred", 0))
        if counts.get("deferred", 0) == 0:
            return
        time.sleep(1)
    print(f"[{result.name}] gave up waiting: {dict(state_counts(dag_id, run_id))}", flush=True)


def settle(
    result: Result,
    rows: dict[str, tuple[str, float | None, str]],
    ended: dict[str, float],
    names: dict[str, str],
    deferred_at: float,
) -> None:
    for task, (state, at, status) in rows.items():
        result.states[state] += 1
        result.events[status] += 1
        if at is None:
            continue
        result.job_hours += (at - deferred_at) / 3600
        if names[task] in ended:
            result.latencies.append(at - ended[names[task]])


# -- report -------------------------------------------------------------------------------------
def per_job_hour(result: Result, value: float) -> float:
    return value / result.job_hours if result.job_hours > 0 else float("nan")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def rows_of(result: Result) -> dict[str, str]:
    calls = sum(result.calls.values())
    by_op = ", ".join(f"{SHORT.get(op, op)} {n}" for op, n in result.calls.items()) or "none"
    lat = result.latencies
    return {
        "task instances resumed / deferred": f"{result.states.get('scheduled', 0)} / {result.jobs}",
        "trigger events": ", ".join(f"{k} {v}" for k, v in sorted(result.events.items())),
        "job-hours waited": f"{result.job_hours:.2f}",
        "AWS calls (total)": f"{calls}",
        "  by operation": by_op,
        "AWS calls per job-hour": f"{per_job_hour(result, calls):.1f}",
        "CPU s per job-hour": f"{per_job_hour(result, result.cpu_seconds):.1f}",
        "  CPU s while waiting": f"{result.cpu_seconds:.1f}",
        "  CPU s triggerer start": f"{result.startup_cpu:.1f}",
        "peak RSS (MiB)": f"{result.peak_rss / 2**20:.0f}",
        "  idle RSS before (MiB)": f"{result.idle_rss / 2**20:.0f}",
        "latency median (s)": f"{statistics.median(lat):.1f}" if lat else "n/a",
        "latency p95 (s)": f"{percentile(lat, 0.95):.1f}",
        "latency max (s)": f"{max(lat):.1f}" if lat else "n/a",
        "worker slots held (max running TIs)": f"{result.max_running}",
        "max deferred TIs at once": f"{result.max_deferred}",
    }


def report(results: dict[str, Result], args: argparse.Namespace) -> bool:
    print(
        f"\n{args.jobs} training waits per trigger, jobs ending {args.job_seconds:g} s after deferral (the last "
        f"{min(2 * args.poll_interval, args.job_seconds / 2):g} s spread), poll interval "
        f"{args.poll_interval:g} s, one triggerer process each; python {sys.version.split()[0]}, "
        f"{os.cpu_count()} cores"
    )
    print(
        "latency: job end (its TrainingEndTime in the stand-in) to task resume (the TI's scheduled_dttm, set by "
        "the triggerer as it hands the event back: the TI leaves deferred)\n"
    )
    table = {name: rows_of(result) for name, result in results.items()}
    print(f"{'':38}" + "".join(f"{LABELS[name]:>26}" for name in table))
    for label in next(iter(table.values())):
        print(f"{label:38}" + "".join(f"{table[name][label]:>26}" for name in table))
    if set(results) != set(PHASES):
        return True
    return verdict(results["nova"], results["amazon"])


def verdict(nova: Result, amazon: Result) -> bool:
    ours, theirs = sum(nova.calls.values()), sum(amazon.calls.values())
    ratio = per_job_hour(amazon, theirs) / per_job_hour(nova, ours) if ours else float("inf")
    same = all(
        ours_q <= theirs_q + max(2.0, 0.1 * theirs_q)
        for ours_q, theirs_q in (
            (statistics.median(nova.latencies or [0]), statistics.median(amazon.latencies or [0])),
            (percentile(nova.latencies, 0.95), percentile(amazon.latencies, 0.95)),
        )
    )
    met = ratio >= GOAL and same and nova.max_running == 0 and amazon.max_running == 0
    print(f"\nAWS calls per job-hour, amazon / nova: {ratio:.1f}x fewer with NovaJobTrigger")
    print(
        f"goal: at least {GOAL:.0f}x fewer AWS calls at the same status latency (median and p95 no more than "
        f"max(2 s, 10 %) above amazon's), no worker slot held: {'met' if met else 'NOT met'}"
    )
    return met


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=1000, help="concurrent training waits per trigger")
    parser.add_argument("--poll-interval", type=float, default=30, help="seconds between status polls (both)")
    parser.add_argument(
        "--job-seconds",
        type=float,
        default=180,
        help="seconds from deferral to each job's end (ends spread over the last two poll intervals)",
    )
    parser.add_argument("--only", choices=PHASES, help="run one phase only")
    parser.add_argument("--workdir", type=Path, help="keep the Airflow home and logs here (a temp dir otherwise)")
    args = parser.parse_args(argv)
    if args.jobs < 1 or args.poll_interval < 1 or args.job_seconds < 1:
        parser.error("--jobs, --poll-interval and --job-seconds must be at least 1")
    phases = [args.only] if args.only else list(PHASES)
    with tempfile.TemporaryDirectory(prefix="deferred-waits-") as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        results = run(phases, args, workdir)
    met = report(results, args)
    return 0 if met or args.only else 1


def run(phases: list[str], args: argparse.Namespace, workdir: Path) -> dict[str, Result]:
    from airflow_provider_nova.sandbox import SandboxControl, rehearsal

    stand_in, stack = None, None
    try:
        stand_in, endpoint = start_stand_in(workdir, STAND_IN_JOB_SECONDS)
        control = SandboxControl(endpoint)
        seeded = seed_account(control)
        connection = rehearsal.airflow_connection(endpoint, seeded["credentials"], REGION)
        print(f"stand-in on {endpoint}; preparing the Airflow home in {workdir}", flush=True)
        stack = make_stack(workdir, args.jobs, connection)
        client = sagemaker_client(endpoint, seeded["credentials"])
        ctx = {"control": control, "role_arn": seeded["role_arn"]}
        return {phase: run_phase(phase, args, stack, client, ctx) for phase in phases}
    finally:
        if stack is not None:
            stack.stop()
        stop_process(stand_in)


if __name__ == "__main__":
    sys.exit(main())
