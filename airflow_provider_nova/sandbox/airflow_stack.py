"""A real Airflow 3 on this machine: api-server, scheduler, dag-processor and triggerer as processes.

SQLite, the LocalExecutor and a small parallelism. Everything listens on 127.0.0.1 only: the
api-server is started with ``--host 127.0.0.1`` and the scheduler and triggerer with
``--skip-serve-logs`` (their log servers would listen on every interface); ``airflow standalone``
can do neither. Tasks reach the execution API at ``[api] base_url``; every component shares one
JWT secret; the simple auth manager reads its users and passwords from the Airflow home.

Used by the tests that need the scheduler and the triggerer as they run in production (deferral,
retries, kills). Not a production deployment.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from airflow_provider_nova.sandbox.airflow_api import AirflowApi

COMPONENTS = {
    "api-server": ["api-server", "--host", "127.0.0.1", "--port", "{port}"],
    "scheduler": ["scheduler", "--skip-serve-logs"],
    "dag-processor": ["dag-processor"],
    "triggerer": ["triggerer", "--skip-serve-logs"],
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int) -> bool:
    """Whether nothing listens on ``127.0.0.1:port`` (so the api-server can bind it).

    Connections of an earlier server still closing (TIME_WAIT) do not count: the api-server binds with
    ``SO_REUSEADDR`` too.
    """
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


# The example DAGs retry after 5 minutes, as a weekly production DAG should; a rehearsal retries sooner.
PRODUCTION_RETRY_DELAY = '"retry_delay": timedelta(minutes=5)'


def rehearsal_dag_copy(source: Path, folder: Path, retry_delay_seconds: int = 5) -> Path:
    """Copy the DAG file ``source`` into ``folder``, its ``retry_delay`` shortened; the copy's path.

    Airflow 3.3 can fail a resumed deferrable task when the scheduler drains the executor's stale
    "success" of the try that deferred after the resumed try has started (apache/airflow#72716, not
    fixed in a release yet); it happens when a trigger fires within seconds, as on the stand-in, and
    the task's retry re-attaches to the finished job. A 5-minute retry delay would stall the rehearsal.
    """
    text = source.read_text(encoding="utf-8")
    if "retry_delay" in text and PRODUCTION_RETRY_DELAY not in text:
        raise ValueError(f"{source} sets retry_delay but not as {PRODUCTION_RETRY_DELAY}: update rehearsal_dag_copy")
    folder.mkdir(parents=True, exist_ok=True)
    copy = folder / source.name
    copy.write_text(
        text.replace(PRODUCTION_RETRY_DELAY, f'"retry_delay": timedelta(seconds={retry_delay_seconds})'),
        encoding="utf-8",
    )
    return copy


class AirflowStack:
    """Airflow's four services for one Airflow home, started and stopped together.

    :param home: the Airflow home (created); its SQLite database is migrated on ``start``.
    :param dags_folder: the DAG files the dag-processor parses.
    :param env: extra environment for every process (connections as ``AIRFLOW_CONN_*``, ...).
    :param password: the ``admin`` user's password for the UI.
    :param port: the api-server's (and UI's) port on 127.0.0.1; a free one when not given.
    """

    def __init__(
        self,
        home: Path,
        dags_folder: Path,
        env: Mapping[str, str] | None = None,
        *,
        password: str = "admin",  # noqa: S107 - a local UI login
        port: int | None = None,
    ) -> None:
        self.home = Path(home)
        self.dags_folder = Path(dags_folder)
        self.port = port or free_port()
        self.password = password
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.env = self._environment(dict(env or {}))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _environment(self, extra: dict[str, str]) -> dict[str, str]:
        self.home.mkdir(parents=True, exist_ok=True)
        users = self.home / "simple_auth_manager_passwords.json"
        users.write_text(json.dumps({"admin": self.password}), encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW__")}
        env.update(
            AIRFLOW_HOME=str(self.home),
            AIRFLOW__CORE__DAGS_FOLDER=str(self.dags_folder),
            AIRFLOW__CORE__LOAD_EXAMPLES="False",
            AIRFLOW__CORE__EXECUTOR="LocalExecutor",
            AIRFLOW__CORE__PARALLELISM="4",
            AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION="False",
            AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"{self.url}/execution/",
            AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="admin:admin",
            AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE=str(users),
            AIRFLOW__API__BASE_URL=self.url,
            AIRFLOW__API__PORT=str(self.port),
            AIRFLOW__API__HOST="127.0.0.1",
            AIRFLOW__API__WORKERS="1",
            AIRFLOW__API_AUTH__JWT_SECRET=secrets.token_urlsafe(32),
            AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL="5",
            AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL="10",
            AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC="1",
            AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC="1",
            AIRFLOW__LOGGING__LOGGING_LEVEL="INFO",
        )
        env.update(extra)
        return env

    def airflow(self, *args: str, timeout: float = 300) -> str:
        """Run an ``airflow`` CLI command against this home; its standard output."""
        done = subprocess.run(  # noqa: S603 - our own airflow executable
            [str(Path(sys.executable).with_name("airflow")), *args],
            env=self.env, capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"airflow {' '.join(args)} failed: {done.stderr[-3000:]}")
        return done.stdout

    def start(self) -> AirflowStack:
        self.airflow("db", "migrate")
        logs = self.home / "process-logs"
        logs.mkdir(exist_ok=True)
        for name, args in COMPONENTS.items():
            self.start_component(name, [a.format(port=self.port) for a in args], logs)
        self._wait_for_api()
        return self

    def start_component(self, name: str, args: list[str] | None = None, logs: Path | None = None) -> None:
        """Start (or restart) one service; its output goes to ``process-logs/<name>.log``."""
        args = args or [a.format(port=self.port) for a in COMPONENTS[name]]
        log = open((logs or self.home / "process-logs") / f"{name}.log", "ab")  # noqa: SIM115 - owned by the process
        self.processes[name] = subprocess.Popen(  # noqa: S603 - our own airflow executable
            [str(Path(sys.executable).with_name("airflow")), *args],
            env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip

    def stop_component(self, name: str, sig: int = signal.SIGTERM, timeout: float = 60) -> None:
        """Stop one service by its process group (its own children too)."""
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, sig)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(30)

    def stop(self) -> None:
        for name in list(self.processes):
            self.stop_component(name)

    def __enter__(self) -> AirflowStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _wait_for_api(self, timeout: float = 180) -> None:
        import urllib.request

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"airflow {name} exited with {process.returncode}; see {self.home}/process-logs")
            try:
                with urllib.request.urlopen(f"{self.url}/api/v2/monitor/health", timeout=5):  # noqa: S310 - loopback
                    return
            except OSError:
                time.sleep(1)
        raise RuntimeError(f"the api-server did not answer on {self.url} within {timeout:.0f} s")

    @cached_property
    def api(self) -> AirflowApi:
        """The api-server's REST API, as ``admin``: trigger runs, follow them, act on task instances."""
        from airflow_provider_nova.sandbox.airflow_api import AirflowApi

        return AirflowApi(self.url, password=self.password)
