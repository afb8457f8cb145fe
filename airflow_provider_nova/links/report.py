"""The "Evaluation report" link: the provider's Airflow plugin page that renders an evaluation's report.

The page (``/nova/report/<dag_id>/<run_id>/<task_id>``, see ``airflow_provider_nova.ui``) renders
the report from the task's XCom, so the api-server needs no AWS access. The URL starts with
``[api] base_url`` when it is set, so it also works behind a path prefix.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote

from airflow.sdk import BaseOperatorLink

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator
    from airflow.sdk.types import TaskInstanceKey

REPORT_ROUTE = "/nova/report"


def report_url(dag_id: str, run_id: str, task_id: str, map_index: int = -1, base_url: str | None = None) -> str:
    """The plugin's report page of one task instance, each part URL-escaped."""
    if base_url is None:
        from airflow.sdk.configuration import conf

        base_url = conf.get("api", "base_url", fallback="") or ""
    path = "/".join(quote(part, safe="") for part in (dag_id, run_id, task_id))
    suffix = f"?map_index={map_index}" if map_index >= 0 else ""
    return f"{base_url.rstrip('/')}{REPORT_ROUTE}/{path}{suffix}"


class EvaluationReportLink(BaseOperatorLink):
    """The evaluation's HTML report (metrics, and the baseline's beside them), once the evaluation finished."""

    name = "Evaluation report"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        from airflow.sdk.execution_time.xcom import XCom

        result = XCom.get_value(key="return_value", ti_key=ti_key)
        if not isinstance(result, dict) or "metrics" not in result:
            return ""  # still running, or failed: no report yet
        return report_url(ti_key.dag_id, ti_key.run_id, ti_key.task_id, ti_key.map_index)
