"""The demo's progress display: one line per task state change of a DAG run, read from the REST API.

A deferred task says that it waits in the triggerer, holding no worker slot, and on which job or
Bedrock resource (read from the console-link fields the operator stored before deferring).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airflow_provider_nova.sandbox.airflow_api import AirflowApi

FINISHED_RUN = ("success", "failed")
# The XCom keys the operators' console links persist before deferring; what each one names.
WAITED_ON = (
    ("nova_sagemaker_training_job", "job_name", "SageMaker training job"),
    ("nova_bedrock_deployment", "arn", "Bedrock deployment"),
    ("nova_bedrock_custom_model", "model_arn", "Bedrock custom model"),
)


@dataclass
class RunResult:
    """How a followed run ended: its state, each task's last state, and the failed tasks' log files."""

    run_id: str
    state: str
    seconds: float
    tasks: dict[str, str] = field(default_factory=dict)
    failed: dict[str, Path] = field(default_factory=dict)


class RunFollower:
    """Follows one DAG run to its end, printing each task's state changes.

    :param api: the api-server's REST API.
    :param logs: the Airflow home's ``logs`` folder (to name the log file of a failed task).
    :param out: where lines go (``print`` by default).
    """

    def __init__(
        self,
        api: AirflowApi,
        logs: Path,
        out: Callable[[str], None] = print,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.api, self.logs, self.out, self.sleep, self.clock = api, logs, out, sleep, clock

    def follow(self, dag_id: str, run_id: str, poll: float = 0.5, timeout: float = 900) -> RunResult:
        """Print state changes until the run ends (or ``timeout`` seconds pass: TimeoutError)."""
        seen: dict[str, tuple[str, int]] = {}
        started = self.clock()
        while self.clock() - started < timeout:
            run = self.api.run(dag_id, run_id)
            for ti in self.api.task_instances(dag_id, run_id):
                self._report(dag_id, run_id, ti, seen)
            if run["state"] in FINISHED_RUN:
                return self._result(dag_id, run_id, str(run["state"]), self.clock() - started)
            self.sleep(poll)
        raise TimeoutError(f"{dag_id} {run_id} did not end within {timeout:.0f} s")

    def _report(self, dag_id: str, run_id: str, ti: dict[str, Any], seen: dict[str, tuple[str, int]]) -> None:
        task_id, state, attempt = str(ti["task_id"]), str(ti["state"] or "none"), int(ti["try_number"])
        before = seen.get(task_id, ("none", 0))
        if state == "none" or before == (state, attempt):
            return
        seen[task_id] = (state, attempt)
        detail = self._detail(dag_id, run_id, ti, before[0])
        self.out(f"{time.strftime('%H:%M:%S')}  {task_id:<18} {state:<16} {detail}".rstrip())

    def _detail(self, dag_id: str, run_id: str, ti: dict[str, Any], before: str) -> str:
        state = ti["state"]
        if before == "deferred" and state != "failed":
            return "the wait is over: back to a worker to finish"
        if state == "deferred":
            return f"waiting in the triggerer (no worker slot held) on {self.waited_on(dag_id, run_id, ti)}"
        if state == "success" and ti.get("duration") is not None:
            return f"after {float(ti['duration']):.1f} s"
        if state == "up_for_retry":
            return f"attempt {ti['try_number']} failed, retried after the DAG's retry_delay; log: {self.log_file(dag_id, run_id, ti)}"
        if state == "failed":
            return f"attempt {ti['try_number']}; log: {self.log_file(dag_id, run_id, ti)}"
        return ""

    def waited_on(self, dag_id: str, run_id: str, ti: dict[str, Any]) -> str:
        """What a deferred task waits for, as its operator stored it for its console link."""
        for key, name_field, kind in WAITED_ON:
            fields = self.api.xcom(dag_id, run_id, str(ti["task_id"]), key)
            if isinstance(fields, dict) and fields.get(name_field):
                return f"{kind} {fields[name_field]}"
        trigger = ti.get("trigger") or {}
        return f"trigger {str(trigger.get('classpath', '?')).rsplit('.', 1)[-1]}"

    def log_file(self, dag_id: str, run_id: str, ti: dict[str, Any]) -> Path:
        """Where the task's log is (Airflow's default log file layout)."""
        return self.logs / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={ti['task_id']}" / (
            f"attempt={ti['try_number']}.log"
        )  # fmt: skip

    def _result(self, dag_id: str, run_id: str, state: str, seconds: float) -> RunResult:
        result = RunResult(run_id, state, seconds)
        for ti in self.api.task_instances(dag_id, run_id):
            result.tasks[str(ti["task_id"])] = str(ti["state"])
            if ti["state"] == "failed":
                result.failed[str(ti["task_id"])] = self.log_file(dag_id, run_id, ti)
        return result


def decision_line(api: AirflowApi, dag_id: str, run_id: str) -> str | None:
    """What the run decided, from the ``decide`` task's ``scores`` XCom; None when it did not decide."""
    scores = api.xcom(dag_id, run_id, "decide", "scores")
    if not isinstance(scores, dict):
        return None
    verdict = "deployed the new model" if scores.get("deploy") else "kept the deployed model"
    new, old = float(scores["new"]), float(scores["deployed"])
    return f"{scores['metric']}: fine-tuned {new:.4f} vs deployed {old:.4f} -> {verdict}"
