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
from pathlib import Path
from typing import Any

from airflow_provider_nova.sandbox import rehearsal
from airflow_provider_nova.sandbox.airflow_api import AirflowApi

DAG_ID = "nova_weekly_retraining"
CONF = {"poll_interval": 2}  # the stand-in's jobs take seconds; poll them every 2 s instead of every minute
# What the DAG reads: its `raw_data` Param's default and its batch-inference input (example_dags/).
RAW_DATA = "s3://my-bucket/raw/support-conversations.jsonl"
PROMPTS = "s3://my-bucket/nova/batch/prompts.jsonl"
RAW_ROWS = rehearsal.SUPPORT_CONVERSATIONS


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
        state = str(api.run(dag_id, run_id)["state"])
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
    api = AirflowApi(env["NOVA_API_SERVER_URL"], "admin", password)
    api.wait_for_dag(DAG_ID, timeout=300)
    api.unpause(DAG_ID)
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
