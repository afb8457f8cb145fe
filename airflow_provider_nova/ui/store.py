"""What the history is made of, read from Airflow's metadata database: no store of the provider's own.

The DAGs with a task instance of a Nova operator (the ``operator`` column holds the class name),
their newest runs, those runs' Nova task instances, the tasks' return values (XCom) and the
Asset events the runs produced. Imported by the api-server only (it needs Airflow's models).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from airflow_provider_nova.ui.history import NOVA_OPERATORS, AssetEventRow, RunRow, TaskRow, XComRow

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

RETURN_VALUE = "return_value"


def nova_dag_ids(session: Session) -> list[str]:
    """The DAGs that ran a Nova operator's task."""
    from airflow.models.taskinstance import TaskInstance

    query = select(TaskInstance.dag_id).where(TaskInstance.operator.in_(NOVA_OPERATORS)).distinct()
    return sorted(session.scalars(query))


def history_rows(
    session: Session, dag_ids: Collection[str], runs_per_dag: int
) -> tuple[list[RunRow], list[TaskRow], list[XComRow], list[AssetEventRow]]:
    """The newest ``runs_per_dag`` runs of each DAG, and their Nova tasks, return values and Asset events."""
    from airflow.models.dagrun import DagRun

    runs: list[RunRow] = []
    for dag_id in dag_ids:
        query = select(DagRun).where(DagRun.dag_id == dag_id).order_by(DagRun.run_after.desc()).limit(runs_per_dag)
        runs += [RunRow(r.dag_id, r.run_id, _text(r.state), r.start_date, r.end_date) for r in session.scalars(query)]
    keys = {(r.dag_id, r.run_id) for r in runs}
    tasks = _tasks(session, dag_ids, keys)
    return runs, tasks, _return_values(session, tasks), _asset_events(session, dag_ids, keys)


def _tasks(session: Session, dag_ids: Collection[str], keys: set[tuple[str, str]]) -> list[TaskRow]:
    from airflow.models.taskinstance import TaskInstance

    query = select(
        TaskInstance.dag_id,
        TaskInstance.run_id,
        TaskInstance.task_id,
        TaskInstance.map_index,
        TaskInstance.operator,
        TaskInstance.state,
        TaskInstance.start_date,
    ).where(TaskInstance.dag_id.in_(dag_ids), TaskInstance.operator.in_(NOVA_OPERATORS))
    return [TaskRow(*row[:5], _text(row[5]), row[6]) for row in session.execute(query) if (row[0], row[1]) in keys]


def _return_values(session: Session, tasks: list[TaskRow]) -> list[XComRow]:
    from airflow.models.xcom import XComModel

    wanted = {(t.dag_id, t.run_id, t.task_id, t.map_index) for t in tasks}
    if not wanted:
        return []
    query = select(XComModel).where(
        XComModel.dag_id.in_({t.dag_id for t in tasks}),
        XComModel.task_id.in_({t.task_id for t in tasks}),
        XComModel.key == RETURN_VALUE,
    )
    rows = []
    for xcom in session.scalars(query):
        key = (xcom.dag_id, xcom.run_id, xcom.task_id, xcom.map_index)
        if key in wanted:
            rows.append(XComRow(*key, XComModel.deserialize_value(xcom)))
    return rows


def _asset_events(session: Session, dag_ids: Collection[str], keys: set[tuple[str, str]]) -> list[AssetEventRow]:
    from airflow.models.asset import AssetEvent, AssetModel

    query = (
        select(AssetEvent.source_dag_id, AssetEvent.source_run_id, AssetModel.uri)
        .join(AssetModel, AssetModel.id == AssetEvent.asset_id)
        .where(AssetEvent.source_dag_id.in_(dag_ids))
    )
    return [AssetEventRow(str(d), str(r), u) for d, r, u in session.execute(query) if (d, r) in keys]


def return_value(session: Session, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> Any:
    """One task instance's return value; None when it has none."""
    from airflow.models.xcom import XComModel

    query = select(XComModel).where(
        XComModel.dag_id == dag_id,
        XComModel.run_id == run_id,
        XComModel.task_id == task_id,
        XComModel.map_index == map_index,
        XComModel.key == RETURN_VALUE,
    )
    xcom = session.scalars(query).first()
    return None if xcom is None else XComModel.deserialize_value(xcom)


def _text(state: Any) -> str | None:
    return None if state is None else str(getattr(state, "value", state))
