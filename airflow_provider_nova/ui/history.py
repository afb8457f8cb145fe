"""A DAG's retraining history assembled from rows Airflow already stores: runs, task instances, XComs, Asset events.

Pure functions over plain rows (``store`` reads them from the metadata database), so the rules are
tested without a database. Generic: a DAG is in the history when a task uses a Nova operator;
within a run, the fine-tuned model's score is the Nova evaluation that has a baseline (the first
evaluation otherwise), the deployed model's score is that baseline, and "deployed" is the state of
the run's Nova deploy task.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from airflow_provider_nova.core.report import flatten_metrics, headline_names

EVALUATE, DEPLOY = "NovaEvaluateOperator", "NovaDeployOperator"
NOVA_OPERATORS = (
    "NovaPrepareDatasetOperator",
    "NovaTrainOperator",
    EVALUATE,
    DEPLOY,
    "NovaBatchInferenceOperator",
)
DEPLOYED_STATES = {"success": True, "skipped": False, "failed": False, "upstream_failed": False, "removed": False}


@dataclass(frozen=True)
class RunRow:
    dag_id: str
    run_id: str
    state: str | None
    start: datetime | None
    end: datetime | None


@dataclass(frozen=True)
class TaskRow:
    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    operator: str | None
    state: str | None
    start: datetime | None


@dataclass(frozen=True)
class XComRow:
    """A Nova task's return value (its XCom ``return_value``)."""

    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    value: Any


@dataclass(frozen=True)
class AssetEventRow:
    dag_id: str
    run_id: str
    uri: str


@dataclass(frozen=True)
class RunSummary:
    """One row of the history: what ran, how it scored against the deployed model, whether it deployed."""

    run_id: str
    state: str | None
    start: datetime | None
    duration: float | None  # seconds
    jobs: tuple[tuple[str, str], ...]  # (task id, job or endpoint name)
    new: float | None  # the fine-tuned model's metric
    baseline: float | None  # the deployed (baseline) model's metric
    deployed: bool | None  # None: the DAG has no deploy task, or it has not decided yet
    report_task: str | None  # the evaluation whose report compares the two
    report_map_index: int = -1
    assets: tuple[str, ...] = ()


@dataclass(frozen=True)
class DagHistory:
    dag_id: str
    metric: str | None
    runs: tuple[RunSummary, ...]  # newest first


def assemble(
    runs: Iterable[RunRow],
    tasks: Iterable[TaskRow],
    xcoms: Iterable[XComRow],
    events: Iterable[AssetEventRow] = (),
    metric: str | None = None,
) -> list[DagHistory]:
    """One history per DAG (sorted by DAG id), its runs newest first; ``metric`` picks the charted metric."""
    by_run: dict[tuple[str, str], list[TaskRow]] = defaultdict(list)
    for task in tasks:
        by_run[task.dag_id, task.run_id].append(task)
    values = {(x.dag_id, x.run_id, x.task_id, x.map_index): x.value for x in xcoms}
    assets: dict[tuple[str, str], list[str]] = defaultdict(list)
    for event in events:
        assets[event.dag_id, event.run_id].append(event.uri)
    dags: dict[str, list[RunRow]] = defaultdict(list)
    for run in runs:
        dags[run.dag_id].append(run)
    histories = []
    for dag_id in sorted(dags):
        ordered = sorted(dags[dag_id], key=lambda r: (r.start is None, _stamp(r.start)), reverse=True)
        evaluations = {r.run_id: _evaluation(by_run[dag_id, r.run_id], values) for r in ordered}
        chosen = metric or _default_metric(e for e in evaluations.values() if e is not None)
        summaries = tuple(
            _summary(r, by_run[dag_id, r.run_id], values, evaluations[r.run_id], chosen, assets[dag_id, r.run_id])
            for r in ordered
        )
        histories.append(DagHistory(dag_id, chosen, summaries))
    return histories


def _evaluation(tasks: Sequence[TaskRow], values: Mapping[tuple[str, str, str, int], Any]) -> TaskEvaluation | None:
    """The run's evaluation of the fine-tuned model: the first Nova evaluation with a baseline, else the first one."""
    found = []
    for task in sorted(tasks, key=lambda t: (t.task_id, t.map_index)):
        value = values.get((task.dag_id, task.run_id, task.task_id, task.map_index))
        if task.operator == EVALUATE and isinstance(value, Mapping) and isinstance(value.get("metrics"), Mapping):
            found.append(TaskEvaluation(task.task_id, task.map_index, value))
    with_baseline = [e for e in found if isinstance(e.result.get("baseline"), Mapping)]
    return (with_baseline or found)[0] if found else None


@dataclass(frozen=True)
class TaskEvaluation:
    task_id: str
    map_index: int
    result: Mapping[str, Any]

    @property
    def metrics(self) -> dict[str, float]:
        return flatten_metrics(self.result.get("metrics"))

    @property
    def baseline_metrics(self) -> dict[str, float] | None:
        baseline = self.result.get("baseline")
        return flatten_metrics(baseline.get("metrics")) if isinstance(baseline, Mapping) else None


def _default_metric(evaluations: Iterable[TaskEvaluation]) -> str | None:
    """The first headline metric of the newest evaluation that has one."""
    for evaluation in evaluations:
        names = headline_names(evaluation.metrics)
        if names:
            return names[0]
    return None


def _summary(
    run: RunRow,
    tasks: Sequence[TaskRow],
    values: Mapping[tuple[str, str, str, int], Any],
    evaluation: TaskEvaluation | None,
    metric: str | None,
    assets: Sequence[str],
) -> RunSummary:
    baseline = evaluation.baseline_metrics if evaluation else None
    return RunSummary(
        run_id=run.run_id,
        state=run.state,
        start=run.start,
        duration=(run.end - run.start).total_seconds() if run.start and run.end else None,
        jobs=_jobs(tasks, values),
        new=evaluation.metrics.get(metric) if evaluation and metric else None,
        baseline=baseline.get(metric) if baseline is not None and metric else None,
        deployed=_deployed(tasks),
        report_task=evaluation.task_id if evaluation else None,
        report_map_index=evaluation.map_index if evaluation else -1,
        assets=tuple(sorted(set(assets))),
    )


def _jobs(tasks: Sequence[TaskRow], values: Mapping[tuple[str, str, str, int], Any]) -> tuple[tuple[str, str], ...]:
    """The SageMaker job (or Bedrock endpoint) each Nova task of the run ran, in the order the tasks started."""
    jobs = []
    for task in sorted(tasks, key=lambda t: (t.start is None, _stamp(t.start), t.task_id)):
        value = values.get((task.dag_id, task.run_id, task.task_id, task.map_index))
        name = (value.get("job_name") or value.get("endpoint_name")) if isinstance(value, Mapping) else None
        if isinstance(name, str) and name:
            jobs.append((task.task_id, name))
    return tuple(jobs)


def _deployed(tasks: Sequence[TaskRow]) -> bool | None:
    states = [DEPLOYED_STATES.get(t.state or "") for t in tasks if t.operator == DEPLOY]
    if any(s is True for s in states):
        return True
    if states and all(s is False for s in states):
        return False
    return None


def _stamp(moment: datetime | None) -> float:
    return moment.timestamp() if moment else 0.0
