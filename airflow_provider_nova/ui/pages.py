"""The retraining history page as HTML (pure): one section per DAG, a chart of the metric and a table of runs.

Links are relative to the page (``/nova/history``) so they work under any ``[api] base_url`` path:
``report/...`` opens the evaluation report, ``../dags/...`` the run in the Airflow UI (top window,
since the UI shows this page in a frame).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from html import escape
from urllib.parse import quote

from airflow_provider_nova.core.report import ChartPoint, format_metric, html_document, line_chart_svg
from airflow_provider_nova.ui.history import DagHistory, RunSummary

TITLE = "Nova retraining"
DEPLOYED = {True: "yes", False: "no", None: "\u2014"}


def history_page(histories: Sequence[DagHistory]) -> str:
    """The whole page; ``histories`` are the DAGs the user may read."""
    intro = (
        "<p>Each retraining run of the DAGs that use the Nova operators: the jobs it ran, the fine-tuned "
        "model's evaluation metric beside the deployed (baseline) model's, and whether it deployed.</p>"
    )
    if not histories:
        body = '<p class="muted">No DAG you may read uses the Nova operators yet.</p>'
    else:
        body = "\n".join(dag_section(h) for h in histories)
    return html_document(TITLE, f"<h1>{TITLE}</h1>\n{intro}\n{body}")


def dag_section(history: DagHistory) -> str:
    metric = history.metric or "metric"
    dag = escape(history.dag_id)
    points = [ChartPoint(r.run_id, _when(r.start) or r.run_id, r.new, r.baseline) for r in reversed(history.runs)]
    head = (
        "<tr><th>Run</th><th>Started</th><th>State</th><th>Duration</th><th>Jobs</th>"
        f"<th>{escape(metric)}: fine-tuned</th><th>{escape(metric)}: deployed</th><th>Deployed</th><th>Assets updated</th><th>Report</th></tr>"
    )
    rows = "".join(run_row(history.dag_id, r) for r in history.runs)
    return (
        f'<section data-dag-id="{dag}"><h2><a href="../dags/{_q(history.dag_id)}" target="_top">{dag}</a></h2>\n'
        f"{line_chart_svg(points, metric)}\n"
        f'<table class="nova-history">{head}{rows}</table></section>'
    )


def run_row(dag_id: str, run: RunSummary) -> str:
    jobs = "<br>".join(f"{escape(task)}: <code>{escape(job)}</code>" for task, job in run.jobs) or "\u2014"
    report = "\u2014"
    if run.report_task:
        suffix = f"?map_index={run.report_map_index}" if run.report_map_index >= 0 else ""
        href = f"report/{_q(dag_id)}/{_q(run.run_id)}/{_q(run.report_task)}{suffix}"
        report = f'<a href="{escape(href)}">{escape(run.report_task)}</a>'
    run_link = f'<a href="../dags/{_q(dag_id)}/runs/{_q(run.run_id)}" target="_top">{escape(run.run_id)}</a>'
    cells = [
        f'<td data-field="run">{run_link}</td>',
        f'<td data-field="start">{escape(_when(run.start) or chr(0x2014))}</td>',
        f'<td data-field="state">{escape(run.state or chr(0x2014))}</td>',
        f'<td data-field="duration" class="num">{_duration(run.duration)}</td>',
        f'<td data-field="jobs">{jobs}</td>',
        f'<td data-field="metric-new" class="num">{format_metric(run.new)}</td>',
        f'<td data-field="metric-deployed" class="num">{format_metric(run.baseline)}</td>',
        f'<td data-field="deployed">{DEPLOYED[run.deployed]}</td>',
        f'<td data-field="assets">{"<br>".join(escape(uri) for uri in run.assets) or chr(0x2014)}</td>',
        f'<td data-field="report">{report}</td>',
    ]
    return f'<tr data-run-id="{escape(run.run_id)}">{"".join(cells)}</tr>'


def _q(part: str) -> str:
    return quote(part, safe="")


def _when(moment: datetime | None) -> str | None:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else None


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "\u2014"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"
