"""The plugin's FastAPI app, mounted by Airflow's api-server at ``/nova``.

Every route needs an Airflow login: Airflow's own security dependencies read the JWT from the
``Authorization: Bearer`` header or the UI's ``_token`` cookie (401 without one, 403 for an invalid
one), and the auth manager decides what the user may read. The history lists only the DAGs whose
runs and XComs the user may read; a report needs read access to the DAG's XComs.
"""

from __future__ import annotations

from typing import Annotated

from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity, DagDetails
from airflow.api_fastapi.common.db.common import SessionDep
from airflow.api_fastapi.core_api.security import GetUserDep, requires_access_dag
from fastapi import Depends, FastAPI, HTTPException, Query
from fastapi.responses import HTMLResponse

from airflow_provider_nova.core.report import evaluation_report_from_result
from airflow_provider_nova.ui import pages, store
from airflow_provider_nova.ui.history import assemble

READ_XCOMS = Depends(requires_access_dag("GET", DagAccessEntity.XCOM))


def readable_dag_ids(user: GetUserDep) -> set[str]:
    """The DAGs whose runs, task instances and XComs ``user`` may read."""
    manager = get_auth_manager()
    readable = manager.get_authorized_dag_ids(user=user, method="GET")
    return {
        dag_id
        for dag_id in readable
        if all(
            manager.is_authorized_dag(method="GET", access_entity=entity, details=DagDetails(id=dag_id), user=user)
            for entity in (DagAccessEntity.RUN, DagAccessEntity.TASK_INSTANCE, DagAccessEntity.XCOM)
        )
    }


def create_app() -> FastAPI:
    app = FastAPI(title="Nova retraining", docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/history", response_class=HTMLResponse)
    def history(
        session: SessionDep,
        readable: Annotated[set[str], Depends(readable_dag_ids)],
        metric: str | None = None,
        runs: Annotated[int, Query(ge=1, le=500)] = 50,
    ) -> HTMLResponse:
        """The retraining history of every DAG that uses the Nova operators (and that the user may read)."""
        dag_ids = [d for d in store.nova_dag_ids(session) if d in readable]
        histories = assemble(*store.history_rows(session, dag_ids, runs), metric=metric or None)
        return HTMLResponse(pages.history_page(histories))

    @app.get("/report/{dag_id}/{run_id}/{task_id}", response_class=HTMLResponse, dependencies=[READ_XCOMS])
    def report(dag_id: str, run_id: str, task_id: str, session: SessionDep, map_index: int = -1) -> HTMLResponse:
        """The evaluation report of one task instance, rendered from its XCom (no AWS call)."""
        result = store.return_value(session, dag_id, run_id, task_id, map_index)
        if not isinstance(result, dict) or not isinstance(result.get("metrics"), dict):
            raise HTTPException(404, f"No finished Nova evaluation for {dag_id} / {run_id} / {task_id}")
        return HTMLResponse(evaluation_report_from_result(result))

    return app
