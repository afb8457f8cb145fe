"""Evaluation reports and metric charts: values shown with four decimals, data escaped, baseline optional."""

from __future__ import annotations

import re

import pytest

from airflow_provider_nova.core.errors import ConfigurationError
from airflow_provider_nova.core.report import (
    ChartPoint,
    baseline_of,
    evaluation_report_from_result,
    evaluation_report_html,
    flatten_metrics,
    line_chart_svg,
    report_s3_path,
)

NEW = {"results": {"all": {"accuracy": 0.61234, "accuracy_stderr": 0.0123}}}
OLD = {"results": {"all": {"accuracy": 0.58, "accuracy_stderr": 0.011}}}


def bars(page: str, series: str) -> dict[str, str]:
    return dict(re.findall(rf'data-series="{series}" data-metric="([^"]+)" data-value="([^"]+)"', page))


def test_metrics_are_read_from_the_results_all_mapping_or_from_any_nested_numbers() -> None:
    assert flatten_metrics(NEW) == {"accuracy": 0.61234, "accuracy_stderr": 0.0123}
    assert flatten_metrics({"rouge": {"1": 0.4, "l": 0.3}, "note": "x", "ok": True, "bad": float("nan")}) == {
        "rouge.1": 0.4,
        "rouge.l": 0.3,
    }
    assert flatten_metrics(None) == {} and flatten_metrics([1, 2]) == {}


def test_a_report_without_baseline_shows_the_metrics_alone() -> None:
    page = evaluation_report_html("Eval", NEW)
    assert page.startswith("<!DOCTYPE html>") and "<script" not in page
    assert '<svg class="nova-chart nova-bars"' in page
    assert bars(page, "evaluated") == {"accuracy": "0.6123"}  # the standard error is in the table, not charted
    assert bars(page, "baseline") == {}
    assert ">0.6123<" in page and ">0.0123<" in page
    assert "Baseline" not in page


def test_a_report_with_baseline_puts_the_two_side_by_side_with_the_difference() -> None:
    page = evaluation_report_html("Eval", NEW, OLD)
    assert bars(page, "evaluated") == {"accuracy": "0.6123"}
    assert bars(page, "baseline") == {"accuracy": "0.5800"}
    row = re.search(r'<tr data-metric="accuracy">(.*?)</tr>', page)
    assert row is not None
    assert re.findall(r">([+-]?\d\.\d{4})<", row.group(1)) == ["0.6123", "0.5800", "+0.0323"]
    assert 'class="num better"' in row.group(1)
    worse = evaluation_report_html("Eval", OLD, NEW)
    assert "-0.0323" in worse and 'class="num worse"' in worse


def test_a_metric_only_one_side_has_shows_a_dash_on_the_other() -> None:
    page = evaluation_report_html("Eval", {"accuracy": 0.5}, {"f1": 0.25})
    assert bars(page, "evaluated") == {"accuracy": "0.5000"} and bars(page, "baseline") == {"f1": "0.2500"}
    row = re.search(r'<tr data-metric="f1">(.*?)</tr>', page)
    assert row is not None and "\u2014" in row.group(1)


def test_every_text_from_data_is_escaped() -> None:
    evil = '<script>alert("x")</script>'
    page = evaluation_report_from_result(
        {
            "job_name": evil,
            "metrics": {evil: 0.5},
            "model_path": "s3://b/<m>",
            "baseline": {"job_name": evil, "metrics": {}},
        }
    )
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "s3://b/&lt;m&gt;" in page


def test_the_report_of_an_evaluation_result_names_its_job_model_and_baseline() -> None:
    result = {
        "job_name": "eval-new",
        "status": "COMPLETED",
        "eval_task": "MMLU",
        "model_path": None,
        "metrics": NEW,
        "baseline": {"job_name": "eval-deployed", "metrics": OLD},
    }
    page = evaluation_report_from_result(result)
    assert "<title>Evaluation report: eval-new</title>" in page
    assert "<dd>base model</dd>" in page and "<dd>eval-deployed</dd>" in page and "<dd>MMLU</dd>" in page
    assert bars(page, "baseline") == {"accuracy": "0.5800"}
    assert bars(evaluation_report_from_result({**result, "baseline": None}), "baseline") == {}


def test_a_report_with_no_numbers_says_so() -> None:
    page = evaluation_report_html("Eval", {"results": {}})
    assert "no numeric metric" in page and "<svg" not in page


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("None", None),
        ({"job_name": "e1", "metrics": NEW, "status": "COMPLETED"}, {"job_name": "e1", "metrics": NEW}),
        ({"accuracy": 0.5}, {"job_name": None, "metrics": {"accuracy": 0.5}}),
        ('{"metrics": {"accuracy": 0.5}}', {"job_name": None, "metrics": {"accuracy": 0.5}}),
        ("{'job_name': 'e1', 'metrics': {'accuracy': 0.5}}", {"job_name": "e1", "metrics": {"accuracy": 0.5}}),
    ],
)
def test_a_baseline_is_an_evaluation_result_or_a_metrics_dict(value: object, expected: object) -> None:
    assert baseline_of(value) == expected


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (0.5, "got float"),
        (["accuracy"], "got list"),
        ({"metrics": "high"}, "no numeric metric"),
        ({"metrics": {"accuracy": "n/a"}}, "no numeric metric"),
        ({"note": "x"}, "no numeric metric"),
        ("accuracy is high", "neither JSON nor a literal"),
    ],
)
def test_a_baseline_of_another_shape_is_refused_naming_the_parameter(value: object, problem: str) -> None:
    with pytest.raises(ConfigurationError, match=r"^baseline must be another evaluation's XCom") as error:
        baseline_of(value)
    assert problem in str(error.value)


def test_the_report_goes_beside_the_evaluation_output() -> None:
    assert report_s3_path("s3://b/eval/job-1/output/output.tar.gz") == "s3://b/eval/job-1/output/report.html"
    assert report_s3_path("s3://b/eval/job-1/eval-result/") == "s3://b/eval/job-1/report.html"


def circles(svg: str) -> dict[str, str]:
    return dict(re.findall(r'<circle class="nova-point" data-run-id="([^"]+)" data-value="([^"]+)"', svg))


def test_one_run_is_one_point_in_the_middle() -> None:
    svg = line_chart_svg([ChartPoint("run-1", "Jan 1", 0.61234, 0.5)], "accuracy")
    assert svg.startswith('<svg class="nova-chart nova-line"') and svg.endswith("</svg>")
    assert circles(svg) == {"run-1": "0.6123"}
    assert 'data-baseline-run-id="run-1" data-value="0.5000"' in svg


def test_many_runs_are_one_circle_each_oldest_left_and_the_line_breaks_at_a_missing_value() -> None:
    points = [
        ChartPoint("r1", "Jan 1", 0.5, 0.4),
        ChartPoint("r2", "Jan 8", None, 0.45),  # failed before its evaluation
        ChartPoint("r3", "Jan 15", 0.7, None),
        ChartPoint("r4", "Jan 22", 0.6, 0.7),
    ]
    svg = line_chart_svg(points, "accuracy")
    assert circles(svg) == {"r1": "0.5000", "r3": "0.7000", "r4": "0.6000"}
    xs = [float(x) for x in re.findall(r'<circle class="nova-point"[^>]*cx="([\d.]+)"', svg)]
    assert xs == sorted(xs)
    paths = re.findall(r'<path d="([^"]+)"[^>]*stroke="#7c3aed"', svg)
    assert len(paths) == 1 and paths[0].count("M") == 2 and paths[0].count("L") == 1  # r1 alone, then r3 -> r4
    assert svg.count("nova-baseline-point") == 3
    highest = re.search(r'data-run-id="r3"[^>]*cy="([\d.]+)"', svg)
    lowest = re.search(r'data-run-id="r1"[^>]*cy="([\d.]+)"', svg)
    assert highest and lowest and float(highest.group(1)) < float(lowest.group(1))  # higher values drawn higher


def test_runs_without_any_value_draw_no_point() -> None:
    svg = line_chart_svg([ChartPoint("r1", "Jan 1", None)], "accuracy")
    assert circles(svg) == {} and "No accuracy values yet" in svg
    assert "<circle" not in line_chart_svg([], "accuracy")


def test_run_ids_and_labels_in_the_chart_are_escaped() -> None:
    svg = line_chart_svg([ChartPoint('r"<1>', "<b>", 0.5)], "acc<")
    assert 'data-run-id="r&quot;&lt;1&gt;"' in svg and "&lt;b&gt;" in svg and "acc&lt;" in svg
    assert "<b>" not in svg
