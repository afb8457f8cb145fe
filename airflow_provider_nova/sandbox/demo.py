"""``make demo``: the weekly retraining example DAG in a real Airflow 3, on the local AWS stand-in (not AWS).

Starts the stand-in on loopback with the raw support conversations and batch prompts the DAG reads,
then Airflow's api-server, scheduler, dag-processor and triggerer as separate processes (SQLite,
LocalExecutor, everything on 127.0.0.1), its ``aws_default`` connection pointing at the stand-in.
Triggers ``nova_weekly_retraining`` and prints each task state change until the run ends (the waits
run deferred in the triggerer), then the UI's address and login, and keeps everything up until
Ctrl-C (or SIGTERM), when it stops every process it started.

The Airflow home (``.demo/airflow`` in the repository unless ``--home``) is made afresh on each
start: the stand-in keeps its state in memory, so the runs of a previous demo refer to jobs and
checkpoints that no longer exist.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import secrets
import shutil
import signal
import sys
import time
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path
from types import FrameType

from airflow_provider_nova.sandbox import rehearsal
from airflow_provider_nova.sandbox.airflow_api import AirflowApi, AirflowApiError
from airflow_provider_nova.sandbox.airflow_stack import AirflowStack, free_port, port_is_free, rehearsal_dag_copy
from airflow_provider_nova.sandbox.demo_progress import RunFollower, RunResult, decision_line
from airflow_provider_nova.sandbox.server import BANNER, NovaSandbox

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_DAGS = REPO / "example_dags"
DAG_ID = "nova_weekly_retraining"
DAG_FILE = "nova_weekly_retraining.py"
MARKER = ".nova-demo-home"  # a home holding this file is the demo's own, removed on the next start
PREFERRED_PORT = 8080


class Stop(Exception):  # noqa: N818 - a signal, not an error
    """Ctrl-C or SIGTERM: stop everything."""


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise Stop(signal.Signals(signum).name)


def say(text: str = "") -> None:
    print(text, flush=True)


# -- the Airflow home -----------------------------------------------------------------------------
@contextlib.contextmanager
def home_lock(home: Path) -> Iterator[None]:
    """Hold ``<home>.lock`` so two demos never share (and wipe) one home."""
    home.parent.mkdir(parents=True, exist_ok=True)
    with open(home.parent / f"{home.name}.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SystemExit(f"another demo is running with the Airflow home {home}; stop it first") from None
        yield


def fresh_home(home: Path) -> Path:
    """Empty the demo's home (refusing a folder the demo did not make) and copy the DAG in; the DAG folder."""
    if home.exists() and any(home.iterdir()) and not (home / MARKER).exists():
        raise SystemExit(f"{home} is not empty and was not made by the demo; pick another --home")
    if not (EXAMPLE_DAGS / DAG_FILE).is_file():
        raise SystemExit(f"{EXAMPLE_DAGS / DAG_FILE} is missing: run the demo from a clone of the repository")
    shutil.rmtree(home, ignore_errors=True)
    dags = home / "dags"
    dags.mkdir(parents=True)
    (home / MARKER).write_text("made by python -m airflow_provider_nova.sandbox.demo; emptied on its next start\n")
    rehearsal_dag_copy(EXAMPLE_DAGS / DAG_FILE, dags)  # retries after seconds, not 5 minutes
    return dags


def ui_port(requested: int | None) -> int:
    """``--port`` when given (it must be free), else 8080 when free, else any free port."""
    if requested is not None:
        if not port_is_free(requested):
            raise SystemExit(f"port {requested} on 127.0.0.1 is taken; pick another --port")
        return requested
    return PREFERRED_PORT if port_is_free(PREFERRED_PORT) else free_port()


# -- the demo ---------------------------------------------------------------------------------------
class Demo:
    """The stand-in and Airflow for one demo, and the runs it triggered."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.home = Path(args.home).resolve()
        self.sandbox: NovaSandbox | None = None
        self.stack: AirflowStack | None = None
        self.results: list[RunResult] = []

    def start(self) -> AirflowApi:
        """The stand-in with the DAG's inputs, then Airflow with the DAG parsed; the REST API."""
        self.sandbox = NovaSandbox(job_seconds=self.args.job_seconds, bedrock_seconds=self.args.job_seconds)
        endpoint = self.sandbox.start().endpoint_url
        say(f"Local AWS stand-in on {endpoint} (jobs take {self.args.job_seconds:g} s there)")
        rehearsal.use_stand_in(endpoint)  # this process and Airflow's: throw-away credentials, never AWS
        rehearsal.seed_inputs(endpoint)
        say("  seeded s3://my-bucket/raw/support-conversations.jsonl and s3://my-bucket/nova/batch/prompts.jsonl")
        self.stack = AirflowStack(
            self.home, fresh_home(self.home), self._airflow_env(endpoint),
            password=secrets.token_urlsafe(9), port=ui_port(self.args.port),
        )  # fmt: skip
        say(
            f"Starting Airflow {version('apache-airflow')} in {self.home}: api-server, scheduler, dag-processor, triggerer"
        )
        began = time.monotonic()
        self.stack.start()
        say(
            f"  up in {time.monotonic() - began:.0f} s; api-server on {self.stack.url}; logs in {self.home}/process-logs"
        )
        api = self.stack.api
        self._wait_for_dag(api)
        return api

    def _airflow_env(self, endpoint: str) -> dict[str, str]:
        """``aws_default`` as an assumed role of the stand-in; only triggered runs (no weekly cron run)."""
        role = rehearsal.create_role(endpoint, "NovaCustomizationRole")
        connection = rehearsal.airflow_connection(endpoint, rehearsal.assume_role_env(endpoint, role))
        return {
            "AIRFLOW_CONN_AWS_DEFAULT": json.dumps(connection),
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
        }

    def _wait_for_dag(self, api: AirflowApi, timeout: float = 180) -> None:
        began = time.monotonic()
        while not api.has_dag(DAG_ID):
            errors = api.import_errors()
            if errors or time.monotonic() - began > timeout:
                detail = "".join(f"\n{e['filename']}:\n{e['stack_trace']}" for e in errors)
                raise RuntimeError(f"{DAG_ID} was not parsed within {time.monotonic() - began:.0f} s{detail}")
            time.sleep(1)
        say(f"  {DAG_ID} parsed after {time.monotonic() - began:.0f} s")

    def run_all(self, api: AirflowApi) -> None:
        """Trigger the runs one after another, following each to its end."""
        follower = RunFollower(api, self.home / "logs", out=say)
        conf = {"poll_interval": self.args.poll_interval}
        for number in range(1, self.args.runs + 1):
            run_id = api.trigger(DAG_ID, conf)
            say(f"\nRun {number} of {self.args.runs}: {DAG_ID} {run_id} (conf {json.dumps(conf)})")
            result = follower.follow(DAG_ID, run_id, poll=0.5)
            self.results.append(result)
            self._report(api, result)

    def _report(self, api: AirflowApi, result: RunResult) -> None:
        if result.state == "success":
            decided = decision_line(api, DAG_ID, result.run_id)
            say(f"Run {result.run_id} succeeded in {result.seconds:.0f} s" + (f": {decided}" if decided else ""))
            return
        say(f"Run {result.run_id} FAILED after {result.seconds:.0f} s")
        for task_id, log in result.failed.items():
            say(f"  task {task_id} failed; its log: {log}")

    def show_ui(self, api: AirflowApi) -> None:
        assert self.stack is not None
        url = self.stack.url
        say(f"\nAirflow UI: {url}  (user admin, password {self.stack.password})")
        if self.results:
            say(f"  the last run: {url}/dags/{DAG_ID}/runs/{self.results[-1].run_id}")
        if "nova" in api.plugin_names():  # the provider's plugin, when this version has it
            say(f"  retraining history: {url}/nova/history")

    def wait_for_stop(self) -> None:
        """Until Ctrl-C or SIGTERM (raised as Stop); a service that exits meanwhile is reported once."""
        assert self.stack is not None
        say("Everything listens on 127.0.0.1 only. Press Ctrl-C to stop Airflow and the stand-in.")
        reported: set[str] = set()
        while True:
            for name, process in self.stack.processes.items():
                if process.poll() is not None and name not in reported:
                    reported.add(name)
                    say(f"airflow {name} exited with {process.returncode}; see {self.home}/process-logs/{name}.log")
            time.sleep(1)

    def stop(self) -> None:
        """Stop every process started (Airflow's services by process group) and the stand-in."""
        if self.stack is not None:
            say("Stopping Airflow ...")
            self.stack.stop()
        if self.sandbox is not None:
            self.sandbox.stop()
        say("Stopped Airflow and the stand-in.")

    @property
    def succeeded(self) -> bool:
        return len(self.results) == self.args.runs and all(r.state == "success" for r in self.results)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m airflow_provider_nova.sandbox.demo", description=__doc__)
    parser.add_argument("--runs", type=int, default=1, help="runs to trigger one after another (default 1)")
    parser.add_argument("--exit-when-done", action="store_true", help="stop everything after the runs")
    parser.add_argument("--port", type=int, help="the UI's port on 127.0.0.1 (default 8080, or a free one)")
    parser.add_argument("--home", default=str(REPO / ".demo" / "airflow"), help="the Airflow home (made afresh)")
    # Not much shorter: Airflow 3.3 can fail a task whose wait ends within about a second or two of its
    # deferral (a stale executor event; apache/airflow#72716), and on a loaded machine a little more.
    parser.add_argument("--job-seconds", type=float, default=5.0, help="how long each job runs on the stand-in")
    parser.add_argument("--poll-interval", type=float, default=1.0, help="the DAG's poll_interval Param")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be 1 or more")
    return args


def main(argv: list[str] | None = None) -> int:
    """0 when every run succeeded (after Ctrl-C, or at once with ``--exit-when-done``); 1 when one failed;
    130 when stopped before the runs ended."""
    args = parse_args(argv)
    say(BANNER)
    demo = Demo(args)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _raise_stop)
    try:
        with home_lock(Path(args.home).resolve()):
            try:
                api = demo.start()
                demo.run_all(api)
                demo.show_ui(api)
                if not args.exit_when_done:
                    demo.wait_for_stop()
            except Stop as stop:
                say(f"\n{stop} received.")
            except (RuntimeError, AirflowApiError) as exc:  # Airflow did not start, or the DAG did not parse
                say(f"The demo could not go on: {exc}")
                return 1
            finally:
                for signum in (signal.SIGINT, signal.SIGTERM):
                    signal.signal(signum, signal.SIG_IGN)  # a second Ctrl-C must not cut the clean-up short
                demo.stop()
    except Stop:  # before the lock was taken
        return 130
    if len(demo.results) < args.runs:
        return 130
    return 0 if demo.succeeded else 1


if __name__ == "__main__":
    sys.exit(main())
