"""The ``nova-demo`` service of docker/compose.yaml: seed the stand-in, run the weekly retraining DAG, follow it.

It starts once the stand-in and Airflow's services are healthy, then

1. gives the stand-in's account what ``nova_weekly_retraining`` reads (raw support conversations and
   batch-inference prompts in ``s3://my-bucket``) and the IAM role the ``aws_default`` connection
   assumes (``role_arn`` in the connection's extra);
2. logs in to the api-server, waits until the dag-processor has parsed the DAG, unpauses and triggers it;
3. prints each task's state as it changes (deferred waits run in the triggerer) until the run ends.

It exits 0 when the run succeeded. Everything it needs comes from the environment compose gives it.
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from airflow_provider_nova.sandbox import rehearsal

DAG_ID = "nova_weekly_retraining"
CONF = {"poll_interval": 2}  # the stand-in's jobs take seconds; poll them every 2 s instead of every minute
# What the DAG reads: its `raw_data` Param's default and its batch-inference input (example_dags/).
RAW_DATA = "s3://my-bucket/raw/support-conversations.jsonl"
PROMPTS = "s3://my-bucket/nova/batch/prompts.jsonl"
RAW_ROWS = [
    {"question": f"How do I reset my password ({n})?", "answer": f"Open Settings, then Security ({n})."}
    for n in range(12)
]


def seed(endpoint_url: str, role_arn: str) -> None:
    """Give the stand-in's account the DAG's inputs and the role the connection assumes (idempotent)."""
    rehearsal.use_stand_in(endpoint_url)
    role_name = role_arn.rsplit("/", 1)[-1]
    created = rehearsal.create_role(endpoint_url, role_name)
    if created != role_arn:
        raise SystemExit(f"the stand-in made role {created}, but the aws_default connection assumes {role_arn}")
    rehearsal.put_jsonl(endpoint_url, RAW_DATA, RAW_ROWS)
    rehearsal.put_jsonl(endpoint_url, PROMPTS, rehearsal.SAMPLE_GEN_QA_ROWS)


def connection_role(conn_json: str) -> str:
    """The ``role_arn`` of an ``AIRFLOW_CONN_*`` JSON connection."""
    role = json.loads(conn_json).get("extra", {}).get("role_arn")
    if not role:
        raise SystemExit("AIRFLOW_CONN_AWS_DEFAULT has no extra.role_arn: the stand-in's role to assume")
    return str(role)


class AirflowApi:
    """The api-server's public REST API; ``login`` first (the simple auth manager's user and password)."""

    def __init__(self, url: str) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"the api-server URL must be http(s), got {url!r}")
        self.url = url.rstrip("/")
        self.token = ""

    def login(self, username: str, password: str) -> AirflowApi:
        answer = self._call("POST", "/auth/token", {"username": username, "password": password})
        self.token = str(answer["access_token"])
        return self

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        data = json.dumps(body).encode() if body else None
        request = urllib.request.Request(self.url + path, method=method, data=data)  # noqa: S310 - http(s) only
        request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("Authorization", f"Bearer {self.token}")
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - scheme checked in __init__
            answer: dict[str, Any] = json.loads(response.read() or b"{}")
        return answer

    def wait_for_dag(self, dag_id: str, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                self._call("GET", f"/api/v2/dags/{dag_id}")
                return
            except urllib.error.HTTPError as error:
                if error.code != 404 or time.monotonic() > deadline:
                    raise
            time.sleep(3)

    def trigger(self, dag_id: str, conf: dict[str, Any]) -> str:
        self._call("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": False})
        run = self._call("POST", f"/api/v2/dags/{dag_id}/dagRuns", {"logical_date": None, "conf": conf})
        return str(run["dag_run_id"])

    def run_state(self, dag_id: str, run_id: str) -> str:
        return str(self._call("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}")["state"])

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str) -> Any:
        path = f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/{key}"
        value = self._call("GET", path)["value"]
        return json.loads(value) if isinstance(value, str) else value

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str]:
        rows = self._call("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances")["task_instances"]
        return {str(row["task_id"]): str(row["state"] or "none") for row in rows}


def follow(api: AirflowApi, dag_id: str, run_id: str, poll: float = 3, timeout: float = 1800) -> str:
    """Print each task's state change until the run ends; its final state."""
    seen: dict[str, str] = {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for task, state in api.task_states(dag_id, run_id).items():
            if seen.get(task, "none") != state:
                note = " (waiting in the triggerer, no worker slot held)" if state == "deferred" else ""
                print(f"{time.strftime('%H:%M:%S')}  {task:<18} {state}{note}", flush=True)
                seen[task] = state
        state = api.run_state(dag_id, run_id)
        if state in ("success", "failed"):
            return state
        time.sleep(poll)
    raise SystemExit(f"{dag_id} {run_id} did not end within {timeout:.0f} s")


def decision(scores: dict[str, Any]) -> str:
    """The ``decide`` task's ``scores`` XCom in one line."""
    verdict = "deployed the new model" if scores["deploy"] else "kept the deployed model"
    return f"{scores['metric']}: new {scores['new']:.4f}, deployed {scores['deployed']:.4f} -> {verdict}"


def main() -> int:
    env = os.environ
    seed(env["NOVA_STAND_IN_URL"], connection_role(env["AIRFLOW_CONN_AWS_DEFAULT"]))
    print(f"stand-in seeded: {RAW_DATA}, {PROMPTS}", flush=True)
    password = json.loads(Path(env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"]).read_text())["admin"]
    api = AirflowApi(env["NOVA_API_SERVER_URL"]).login("admin", password)
    api.wait_for_dag(DAG_ID)
    run_id = api.trigger(DAG_ID, CONF)
    ui = env["AIRFLOW__API__BASE_URL"]
    print(f"triggered {DAG_ID} {run_id}; the UI: {ui}/dags/{DAG_ID} (user admin, password {password})", flush=True)
    state = follow(api, DAG_ID, run_id)
    if state == "success":
        print(decision(api.xcom(DAG_ID, run_id, "decide", "scores")), flush=True)
    print(f"{DAG_ID} {run_id}: {state}. The UI stays up at {ui} until the containers stop.", flush=True)
    return 0 if state == "success" else 1


if __name__ == "__main__":
    sys.exit(main())
