"""No credential, session token, signature or presigned URL leaves an Airflow run of the example DAGs.

The core-level scans (tests/hyperpod/test_no_secrets_leak.py, tests/core/test_result_file_safety.py)
look at what the SDK produces; this one runs real DAGs with ``dag.test()`` in a fresh process whose
``aws_default`` connection carries the account's access key, secret and session token, with Airflow
logging at DEBUG, and scans everything the run left behind: what the process printed, the task log
files, the Airflow database (XComs, rendered template fields, the run's conf, Asset event extras,
...), every object in the stand-in's S3, and the text of a failed task's exception.

``dag.test()`` runs tasks in-process and writes no task log file: what a task logs is in what the
process printed. Airflow's own in-process supervisor lines that register secrets for masking are
left out (see ``AIRFLOW_DAG_TEST_MASK_SECRET``); everything else must be clean.
"""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
import time
import zlib
from pathlib import Path
from typing import Any

import pytest

DAGS = Path(__file__).parents[2] / "example_dags"
# What a leak looks like besides the secrets themselves: signed headers and presigned-URL queries.
MARKERS = re.compile(
    r"X-Amz-(?:Signature|Credential|Security-Token)=|AWS4-HMAC-SHA256 Credential=|k8s-aws-v1\.|Signature=[0-9a-f]{16}",
    re.IGNORECASE,
)
# Airflow's own dag.test() supervisor (InProcessSupervisorComms.send) logs every message a task sends it at DEBUG,
# the MaskSecret messages that register the connection's password and extra for masking included. Real workers
# talk to their supervisor over a socket that logs no message body; the provider cannot reach these lines.
AIRFLOW_DAG_TEST_MASK_SECRET = re.compile(r"^.*\bSending request\b.*\bmsg=MaskSecret\(.*$", re.MULTILINE)
WEEKLY_FAST = {"poll_interval": 0.2, "margin": -1.0, "instance_count": 2}  # margin -1: always deploy
RUN = """
import json, sys
from airflow.models.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1])
assert not bag.import_errors, bag.import_errors
run = bag.get_dag(sys.argv[2]).test(run_conf=json.loads(sys.argv[3]))
print("RUN " + json.dumps({"state": str(run.state), "run_id": run.run_id}))
"""


def secrets(env: dict[str, str]) -> dict[str, str]:
    """The credentials the Airflow process was given (in its ``aws_default`` connection)."""
    conn = json.loads(env["AIRFLOW_CONN_AWS_DEFAULT"])
    found = {
        "access key": conn["login"],
        "secret key": conn["password"],
        "session token": conn["extra"]["aws_session_token"],
    }
    assert all(len(value) >= 16 for value in found.values()), found  # real-looking, so a match means a leak
    return found


def leaks(env: dict[str, str], text: str, where: str) -> list[str]:
    """What of the secrets (or of signing material) ``text`` holds; the access key id alone is not a secret."""
    found = [f"{where}: {name}" for name, value in secrets(env).items() if name != "access key" and value in text]
    return found + [f"{where}: {marker!r}" for marker in sorted(set(MARKERS.findall(text)))]


def database_text(home: Path) -> dict[str, str]:
    """Every row of every table of the Airflow database, as text (compressed blobs expanded)."""
    texts: dict[str, str] = {}
    with sqlite3.connect(home / "airflow.db") as db:
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            rows = db.execute(f'SELECT * FROM "{table}"').fetchall()  # table names from sqlite_master
            texts[table] = "\n".join(" | ".join(_cell(cell) for cell in row) for row in rows)
    return texts


def _cell(cell: Any) -> str:
    if not isinstance(cell, bytes):
        return str(cell)
    try:
        return zlib.decompress(cell).decode(errors="replace")
    except zlib.error:
        return cell.decode(errors="replace")


def bucket_text(endpoint_url: str) -> dict[str, str]:
    """Every object of every bucket in the stand-in's S3: ``s3://bucket/key`` -> its text."""
    import boto3

    s3 = boto3.client("s3", endpoint_url=endpoint_url, region_name="us-east-1")
    texts: dict[str, str] = {}
    for bucket in s3.list_buckets()["Buckets"]:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket["Name"]):
            for item in page.get("Contents", []):
                body = s3.get_object(Bucket=bucket["Name"], Key=item["Key"])["Body"].read()
                texts[f"s3://{bucket['Name']}/{item['Key']}"] = _cell(body)
    return texts


def log_files(home: Path) -> dict[str, str]:
    return {str(p.relative_to(home)): p.read_text(errors="replace") for p in (home / "logs").rglob("*") if p.is_file()}


class DagRun:
    """``dag.test()`` of one DAG in a fresh process, what it prints going to a file (a pipe would fill up)."""

    def __init__(self, env: dict[str, str], file: str, dag_id: str, conf: dict[str, Any], printed: Path) -> None:
        self.printed = printed
        with printed.open("w") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-c", RUN, str(DAGS / file), dag_id, json.dumps(conf)],
                env=env, stdout=out, stderr=subprocess.STDOUT, text=True,
            )  # fmt: skip

    def running(self) -> bool:
        return self.process.poll() is None

    def finish(self) -> tuple[dict[str, Any], str]:
        """The run's state and id, and what the process printed (less Airflow's own MaskSecret lines)."""
        self.process.wait(timeout=600)
        output = AIRFLOW_DAG_TEST_MASK_SECRET.sub("", self.printed.read_text(errors="replace"))
        line = next((x for x in output.splitlines() if x.startswith("RUN ")), None)
        assert line is not None, output[-5000:]
        return json.loads(line[len("RUN ") :]), output


@pytest.fixture
def debug_env(airflow_env: dict[str, str], account: dict[str, str], control: Any) -> dict[str, str]:
    from airflow_provider_nova.sandbox.rehearsal import seed_inputs

    seed_inputs(account["endpoint_url"])
    control.set_job_seconds(1)
    control.set_bedrock_seconds(1)
    return {**airflow_env, "AIRFLOW__LOGGING__LOGGING_LEVEL": "DEBUG"}


def test_the_scan_finds_a_planted_secret(debug_env: dict[str, str]) -> None:
    """The scan is not blind: the connection the process was given is caught, in each form a leak takes."""
    secret = secrets(debug_env)
    planted = {
        "env": debug_env["AIRFLOW_CONN_AWS_DEFAULT"],
        "header": "{'Authorization': b'AWS4-HMAC-SHA256 Credential=AKIA/20250101/us-east-1/sts/aws4_request'}",
        "url": "https://b.s3.amazonaws.com/k?X-Amz-Credential=AKIA%2F1&X-Amz-Signature=abc",
        "token": f"X-Amz-Security-Token={secret['session token']}",
        "dag.test() MaskSecret line": AIRFLOW_DAG_TEST_MASK_SECRET.sub("", "a\nSending request x msg=MaskSecret(b)\nc"),
    }
    found = {where: bool(leaks(debug_env, text, where)) for where, text in planted.items()}
    assert found == {**dict.fromkeys(planted, True), "dag.test() MaskSecret line": False}
    assert leaks(debug_env, "nothing secret here", "clean") == []


def test_a_training_dag_the_weekly_dag_and_a_failed_run_leak_nothing(
    debug_env: dict[str, str], account: dict[str, str], control: Any, rehearsal_jobs: Any
) -> None:
    home = Path(debug_env["AIRFLOW_HOME"])
    printed = run_the_dags(debug_env, home, control, rehearsal_jobs)
    # control files: a secret where the scan looks is found there
    (home / "logs" / "planted").mkdir(parents=True)
    (home / "logs" / "planted" / "control.log").write_text(debug_env["AIRFLOW_CONN_AWS_DEFAULT"])
    _put(account["endpoint_url"], "s3://my-bucket/planted/control.json", debug_env["AIRFLOW_CONN_AWS_DEFAULT"])

    texts = {**printed, **log_files(home)}
    database = database_text(home)
    texts.update({f"table {table}": text for table, text in database.items()})
    texts.update(bucket_text(account["endpoint_url"]))
    assert "Making request for OperationModel" in printed["printed (sft)"]  # botocore's DEBUG lines are in
    assert "ClientError: the training data is malformed" in printed["printed (failed)"]  # the failed task's error
    assert all(database[t] for t in ("xcom", "rendered_task_instance_fields", "dag_run", "asset_event"))
    assert any(key.endswith("/output/report.html") for key in texts)  # the weekly evaluation's report
    found = [hit for where, text in texts.items() for hit in leaks(debug_env, text, where)]
    planted = ["logs/planted/control.log", "s3://my-bucket/planted/control.json"]
    assert found == [f"{where}: {name}" for where in planted for name in ("secret key", "session token")]


def run_the_dags(env: dict[str, str], home: Path, control: Any, rehearsal_jobs: Any) -> dict[str, str]:
    """The SFT DAG, the weekly DAG (train, evaluate, deploy, batch inference), then the SFT DAG whose job fails."""
    sft = {"poll_seconds": 0.2, "overrides": {"max_epochs": 3, "lr": 1e-5}}
    run, printed = DagRun(env, "nova_sft_training.py", "nova_sft_training", sft, home / "sft.out").finish()
    assert run["state"] == "success", printed[-5000:]
    weekly = DagRun(env, "nova_weekly_retraining.py", "nova_weekly_retraining", WEEKLY_FAST, home / "weekly.out")
    weekly_run, printed_weekly = weekly.finish()
    assert weekly_run["state"] == "success", printed_weekly[-5000:]
    control.set_job_seconds(600)
    failing_conf = {**sft, "output_s3_path": "s3://my-bucket/failing/"}
    failing = DagRun(env, "nova_sft_training.py", "nova_sft_training", failing_conf, home / "failed.out")
    control.fail_job(_running_job(rehearsal_jobs, failing), "ClientError: the training data is malformed")
    failed, printed_failed = failing.finish()
    assert failed["state"] == "failed", printed_failed[-5000:]
    return {"printed (sft)": printed, "printed (weekly)": printed_weekly, "printed (failed)": printed_failed}


def _put(endpoint_url: str, uri: str, text: str) -> None:
    import boto3

    bucket, _, key = uri.removeprefix("s3://").partition("/")
    boto3.client("s3", endpoint_url=endpoint_url, region_name="us-east-1").put_object(Bucket=bucket, Key=key, Body=text)


def _running_job(rehearsal_jobs: Any, run: DagRun, timeout: float = 120) -> str:
    """The name of the first training job in progress, once the run started it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert run.running(), run.finish()[1][-5000:]
        running = [name for name, status in rehearsal_jobs().items() if status == "InProgress"]
        if running:
            return running[0]
        time.sleep(0.2)
    raise AssertionError("no training job started")
