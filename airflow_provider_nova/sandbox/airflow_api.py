"""A small client of a local Airflow 3's REST API (``/api/v2``), logged in through the simple auth manager.

One HTTP call per question instead of one ``airflow`` CLI process (seconds each): what the demo
uses to trigger runs and follow their task instances.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any


class AirflowApiError(RuntimeError):
    """The api-server answered with an HTTP error."""

    def __init__(self, method: str, path: str, status: int, body: str) -> None:
        super().__init__(f"{method} {path} answered {status}: {body[:500]}")
        self.status = status


class AirflowApi:
    """The REST API of the api-server at ``url`` (loopback), as ``username``.

    :param url: the api-server's address, e.g. ``http://127.0.0.1:8080``.
    :param password: the user's password in the simple auth manager's passwords file.
    """

    def __init__(self, url: str, username: str = "admin", password: str = "admin", timeout: float = 30) -> None:  # noqa: S107
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"the api-server's address must be an http(s) URL, got {url!r}")
        self.url = url.rstrip("/")
        self.username = username
        self.password = password
        self.timeout = timeout
        self._token: str | None = None

    def token(self) -> str:
        """A JWT from ``POST /auth/token`` (cached; renewed when the api-server refuses it)."""
        if self._token is None:
            body = {"username": self.username, "password": self.password}
            answer = self._call("POST", "/auth/token", body, authorize=False)
            self._token = str(answer["access_token"])
        return self._token

    def get(self, path: str, **params: Any) -> Any:
        query = f"?{urllib.parse.urlencode(params, doseq=True)}" if params else ""
        return self._call("GET", path + query)

    def post(self, path: str, body: dict[str, Any]) -> Any:
        return self._call("POST", path, body)

    def patch(self, path: str, body: dict[str, Any]) -> Any:
        return self._call("PATCH", path, body)

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None, *, authorize: bool = True) -> Any:
        try:
            return self._send(method, path, body, authorize)
        except AirflowApiError as exc:
            if exc.status != 401 or not authorize:
                raise
            self._token = None  # expired: log in again, once
            return self._send(method, path, body, authorize)

    def _send(self, method: str, path: str, body: dict[str, Any] | None, authorize: bool) -> Any:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if authorize:
            headers["Authorization"] = f"Bearer {self.token()}"
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)  # noqa: S310 - http(s) checked
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - http(s) checked
                raw = response.read()
        except urllib.error.HTTPError as exc:
            raise AirflowApiError(method, path, exc.code, exc.read().decode(errors="replace")) from None
        return json.loads(raw) if raw else None

    # -- what the demo asks ---------------------------------------------------------------------
    def has_dag(self, dag_id: str) -> bool:
        """Whether the dag-processor has parsed ``dag_id`` (the scheduler knows it)."""
        try:
            self.get(f"/api/v2/dags/{_q(dag_id)}")
        except AirflowApiError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def import_errors(self) -> list[dict[str, Any]]:
        """The DAG files that failed to parse: ``filename`` and ``stack_trace`` each."""
        rows: list[dict[str, Any]] = self.get("/api/v2/importErrors")["import_errors"]
        return rows

    def plugin_names(self) -> list[str]:
        """The names of the Airflow plugins the api-server loaded."""
        return [str(p["name"]) for p in self.get("/api/v2/plugins", limit=100)["plugins"]]

    def unpause(self, dag_id: str) -> None:
        """Let the scheduler run the DAG (a DAG may be created paused)."""
        self.patch(f"/api/v2/dags/{_q(dag_id)}", {"is_paused": False})

    def trigger(self, dag_id: str, conf: dict[str, Any]) -> str:
        """Trigger a run now (no logical date); its run id."""
        answer = self.post(f"/api/v2/dags/{_q(dag_id)}/dagRuns", {"logical_date": None, "conf": conf})
        return str(answer["dag_run_id"])

    def run(self, dag_id: str, run_id: str) -> dict[str, Any]:
        """The run: ``state``, ``start_date``, ``end_date``, ..."""
        run: dict[str, Any] = self.get(f"/api/v2/dags/{_q(dag_id)}/dagRuns/{_q(run_id)}")
        return run

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        """The run's task instances: ``task_id``, ``state``, ``try_number``, ``trigger``, ..."""
        answer = self.get(f"/api/v2/dags/{_q(dag_id)}/dagRuns/{_q(run_id)}/taskInstances", limit=100)
        rows: list[dict[str, Any]] = answer["task_instances"]
        return rows

    def wait_for_dag(self, dag_id: str, timeout: float = 180) -> None:
        """Until the dag-processor has parsed ``dag_id``."""
        deadline = time.monotonic() + timeout
        while not self.has_dag(dag_id):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{dag_id} was not parsed within {timeout:.0f} s: {self.import_errors()}")
            time.sleep(1)

    def run_to_end(self, dag_id: str, conf: dict[str, Any], timeout: float = 300) -> tuple[str, str]:
        """Trigger a run and wait for it to end: its run id and final state."""
        run_id = self.trigger(dag_id, conf)
        return run_id, self.wait_for_run(dag_id, run_id, timeout)

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 300) -> str:
        """Until the run ends; its final state (``success`` or ``failed``)."""
        deadline = time.monotonic() + timeout
        while (state := str(self.run(dag_id, run_id)["state"])) not in ("success", "failed"):
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{dag_id} {run_id} is still {state} after {timeout:.0f} s: {self.task_states(dag_id, run_id)}"
                )
            time.sleep(1)
        return state

    def run_ids(self, dag_id: str) -> list[str]:
        """The DAG's run ids, newest first."""
        answer = self.get(f"/api/v2/dags/{_q(dag_id)}/dagRuns", order_by="-run_after", limit=100)
        return [str(run["dag_run_id"]) for run in answer["dag_runs"]]

    def wait_for_any_run(self, dag_id: str, timeout: float = 120) -> str:
        """Until ``dag_id`` has a run (scheduled by an Asset, say); the newest run's id."""
        deadline = time.monotonic() + timeout
        while not (run_ids := self.run_ids(dag_id)):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{dag_id} had no run within {timeout:.0f} s")
            time.sleep(1)
        return run_ids[0]

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str]:
        """Each task's state in the run (``"none"`` for one not scheduled yet)."""
        return {str(ti["task_id"]): str(ti["state"] or "none") for ti in self.task_instances(dag_id, run_id)}

    def task_instance(self, dag_id: str, run_id: str, task_id: str) -> dict[str, Any]:
        """One task instance: ``state``, ``try_number``, ``pid`` (its task process while it runs), ..."""
        ti: dict[str, Any] = self.get(f"/api/v2/dags/{_q(dag_id)}/dagRuns/{_q(run_id)}/taskInstances/{_q(task_id)}")
        return ti

    def set_task_state(self, dag_id: str, run_id: str, task_id: str, state: str) -> None:
        """Mark a task instance ``failed``, ``success`` or ``skipped``, as the UI's "Mark as" does."""
        self.patch(f"/api/v2/dags/{_q(dag_id)}/dagRuns/{_q(run_id)}/taskInstances/{_q(task_id)}", {"new_state": state})

    def clear_task(self, dag_id: str, run_id: str, task_id: str) -> None:
        """Clear one task instance of a run, as the UI's "Clear" does (a running one is stopped and run again)."""
        body = {"dry_run": False, "dag_run_id": run_id, "task_ids": [task_id], "only_failed": False}
        self.post(f"/api/v2/dags/{_q(dag_id)}/clearTaskInstances", body)

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value") -> Any:
        """The value a task pushed under ``key``; None when there is none."""
        path = f"/api/v2/dags/{_q(dag_id)}/dagRuns/{_q(run_id)}/taskInstances/{_q(task_id)}/xcomEntries/{_q(key)}"
        try:
            return self.get(path)["value"]
        except AirflowApiError as exc:
            if exc.status == 404:
                return None
            raise


def _q(part: str) -> str:
    return urllib.parse.quote(part, safe="")
