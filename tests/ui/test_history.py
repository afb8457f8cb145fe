"""The retraining history assembled from rows as Airflow stores them, and the page drawn from it."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from airflow_provider_nova.ui.history import AssetEventRow, RunRow, TaskRow, XComRow, assemble
from airflow_provider_nova.ui.pages import history_page

DAG = "retrain"
T0 = datetime(2026, 1, 5, 8, 0, tzinfo=timezone.utc)


def metrics(accuracy: float) -> dict[str, object]:
    return {"results": {"all": {"accuracy": accuracy, "accuracy_stderr": 0.01}}}


def weekly_run(n: int, new: float, old: float, deploy: str) -> tuple[RunRow, list[TaskRow], list[XComRow]]:
    """One run of a retraining DAG: train, evaluate the deployed model, evaluate the new one against it, deploy."""
    run_id, start = f"manual__{n}", T0 + timedelta(days=7 * n)
    run = RunRow(DAG, run_id, "success", start, start + timedelta(minutes=3, seconds=5))
    ops = [
        ("train", "NovaTrainOperator", "success", {"job_name": f"train-{n}", "status": "COMPLETED"}),
        ("evaluate_deployed", "NovaEvaluateOperator", "success", {"job_name": f"old-{n}", "metrics": metrics(old)}),
        (
            "evaluate_new",
            "NovaEvaluateOperator",
            "success",
            {
                "job_name": f"new-{n}",
                "metrics": metrics(new),
                "baseline": {"job_name": f"old-{n}", "metrics": metrics(old)},
            },
        ),
        ("deploy", "NovaDeployOperator", deploy, {"endpoint_name": f"bot-{n}"} if deploy == "success" else None),
    ]
    tasks = [
        TaskRow(DAG, run_id, t, -1, op, state, start + timedelta(seconds=i)) for i, (t, op, state, _) in enumerate(ops)
    ]
    xcoms = [XComRow(DAG, run_id, t, -1, value) for t, _, _, value in ops if value is not None]
    return run, tasks, xcoms


def history_of(*runs: tuple[RunRow, list[TaskRow], list[XComRow]], **kwargs: object) -> list:
    return assemble(
        [r for r, _, _ in runs], [t for _, ts, _ in runs for t in ts], [x for _, _, xs in runs for x in xs], **kwargs
    )


def test_each_run_has_its_jobs_the_fine_tuned_and_deployed_scores_and_whether_it_deployed() -> None:
    (history,) = history_of(weekly_run(0, 0.61, 0.58, "success"), weekly_run(1, 0.55, 0.61, "skipped"))
    assert history.dag_id == DAG and history.metric == "accuracy"
    newest, oldest = history.runs
    assert (newest.run_id, oldest.run_id) == ("manual__1", "manual__0")
    assert (oldest.new, oldest.baseline, oldest.deployed) == (0.61, 0.58, True)
    assert (newest.new, newest.baseline, newest.deployed) == (0.55, 0.61, False)
    assert oldest.jobs == (
        ("train", "train-0"),
        ("evaluate_deployed", "old-0"),
        ("evaluate_new", "new-0"),
        ("deploy", "bot-0"),
    )
    assert oldest.duration == 185 and oldest.report_task == "evaluate_new"


def test_without_a_baseline_the_first_evaluation_is_the_fine_tuned_score() -> None:
    run = RunRow(DAG, "r1", "success", T0, None)
    tasks = [TaskRow(DAG, "r1", "eval", -1, "NovaEvaluateOperator", "success", T0)]
    (history,) = assemble([run], tasks, [XComRow(DAG, "r1", "eval", -1, {"metrics": metrics(0.7)})])
    (summary,) = history.runs
    assert (summary.new, summary.baseline, summary.deployed, summary.duration) == (0.7, None, None, None)


def test_a_run_that_failed_before_evaluating_has_no_scores() -> None:
    run = RunRow(DAG, "r1", "failed", T0, T0 + timedelta(seconds=30))
    tasks = [
        TaskRow(DAG, "r1", "train", -1, "NovaTrainOperator", "failed", T0),
        TaskRow(DAG, "r1", "deploy", -1, "NovaDeployOperator", "upstream_failed", None),
    ]
    (history,) = assemble([run], tasks, [])
    (summary,) = history.runs
    assert (summary.new, summary.baseline, summary.report_task, summary.deployed) == (None, None, None, False)
    assert history.metric is None


def test_another_metric_can_be_chosen_and_asset_events_are_listed() -> None:
    run, tasks, xcoms = weekly_run(0, 0.61, 0.58, "success")
    events = [AssetEventRow(DAG, run.run_id, "s3://b/ckpt"), AssetEventRow(DAG, run.run_id, "s3://b/ckpt")]
    (history,) = assemble([run], tasks, xcoms, events, metric="accuracy_stderr")
    assert history.metric == "accuracy_stderr" and history.runs[0].new == 0.01
    assert history.runs[0].assets == ("s3://b/ckpt",)
    assert '<td data-field="assets">s3://b/ckpt</td>' in history_page([history])


def test_dags_are_kept_apart() -> None:
    run, tasks, xcoms = weekly_run(0, 0.61, 0.58, "success")
    other = RunRow("other", run.run_id, "running", None, None)
    histories = assemble([run, other], tasks, xcoms)
    assert [h.dag_id for h in histories] == ["other", DAG]
    assert histories[0].runs[0].new is None and histories[1].runs[0].new == 0.61


def test_the_page_has_a_section_per_dag_a_row_and_a_point_per_run_with_four_decimals() -> None:
    page = history_page(history_of(weekly_run(0, 0.61234, 0.58, "success"), weekly_run(1, 0.55, 0.61, "skipped")))
    assert page.count('<section data-dag-id="retrain">') == 1
    assert re.findall(r'<tr data-run-id="([^"]+)"', page) == ["manual__1", "manual__0"]
    assert dict(re.findall(r'<circle class="nova-point" data-run-id="([^"]+)" data-value="([^"]+)"', page)) == {
        "manual__0": "0.6123",
        "manual__1": "0.5500",
    }
    row = re.search(r'<tr data-run-id="manual__0">(.*?)</tr>', page)
    assert row is not None
    cells = dict(re.findall(r'<td data-field="([\w-]+)"[^>]*>(.*?)</td>', row.group(1)))
    assert cells["metric-new"] == "0.6123" and cells["metric-deployed"] == "0.5800" and cells["deployed"] == "yes"
    assert cells["duration"] == "3m 05s" and cells["state"] == "success"
    assert "<code>train-0</code>" in cells["jobs"]
    assert 'href="report/retrain/manual__0/evaluate_new"' in cells["report"]


def test_the_page_escapes_ids_and_links_them_url_escaped() -> None:
    run_id = 'manual__2026-01-05T08:00:00+00:00<"x">'
    run = RunRow(DAG, run_id, "success", T0, T0)
    tasks = [TaskRow(DAG, run_id, "ev", -1, "NovaEvaluateOperator", "success", T0)]
    page = history_page(
        assemble([run], tasks, [XComRow(DAG, run_id, "ev", -1, {"job_name": "<j>", "metrics": {"a": 1}})])
    )
    assert '<"x">' not in page and "&lt;j&gt;" in page
    assert 'data-run-id="manual__2026-01-05T08:00:00+00:00&lt;&quot;x&quot;&gt;"' in page
    assert "report/retrain/manual__2026-01-05T08%3A00%3A00%2B00%3A00%3C%22x%22%3E/ev" in page


def test_a_page_without_nova_dags_says_so() -> None:
    assert "No DAG you may read uses the Nova operators yet" in history_page([])
