"""Evaluation reports and metric charts as self-contained HTML: inline SVG, no JavaScript, no network.

Pure functions over plain values. ``NovaEvaluateOperator`` writes ``evaluation_report_from_result``
to S3 beside the evaluation output; the Airflow plugin serves the same page from the task's XCom
and draws ``line_chart_svg`` for a metric over a DAG's runs. Every text that comes from data is
escaped with ``html.escape``; metric values are printed with four decimals.
"""

from __future__ import annotations

import ast
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from airflow_provider_nova.core.errors import ConfigurationError

STDERR_SUFFIX = "_stderr"
EVALUATED, BASELINE = "#7c3aed", "#9ca3af"  # the evaluated model's colour, the baseline's

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:1.5rem;color:#1f2937}
h1{font-size:1.4rem}h2{font-size:1.15rem;margin-top:2rem}
table{border-collapse:collapse;margin:1rem 0}th,td{border-bottom:1px solid #e5e7eb;padding:.35rem .7rem;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}.better{color:#15803d}.worse{color:#b91c1c}
dl{display:grid;grid-template-columns:max-content auto;gap:.2rem 1rem}dt{color:#6b7280}dd{margin:0}
svg.nova-chart{max-width:100%;height:auto;font-size:12px}.muted{color:#6b7280}
"""


def format_metric(value: float | None) -> str:
    """A metric value with four decimals; an em dash when there is none."""
    return "\u2014" if value is None else f"{value:.4f}"


def flatten_metrics(metrics: Any) -> dict[str, float]:
    """The numeric metrics of an evaluation by name.

    ``{"results": {"all": {...}}}`` (what an evaluation result's ``get()`` returns) gives its ``all``
    mapping; any other mapping gives its numeric leaves, nested names joined with dots.
    """
    if not isinstance(metrics, Mapping):
        return {}
    results = metrics.get("results")
    if isinstance(results, Mapping) and isinstance(results.get("all"), Mapping):
        return _numbers(results["all"], "")
    return _numbers(metrics, "")


def _numbers(mapping: Mapping[str, Any], prefix: str) -> dict[str, float]:
    found: dict[str, float] = {}
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            found.update(_numbers(value, f"{name}."))
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
            found[name] = float(value)
    return found


def headline_names(values: Mapping[str, float]) -> list[str]:
    """The metric names worth charting: every one but the standard errors."""
    return [name for name in values if not name.endswith(STDERR_SUFFIX)]


def baseline_of(value: Any, field: str = "baseline") -> dict[str, Any] | None:
    """The baseline an evaluation is compared with: ``{"job_name", "metrics"}``, or None when not given.

    Accepts another evaluation's result (a mapping with ``metrics``), a plain metrics mapping
    (``{"accuracy": 0.61}`` or ``{"results": {"all": {...}}}``), or the JSON or Python text of one
    (as a Jinja template renders it). Anything else, or metrics without a number, is a ConfigurationError.
    """
    if value is None or (isinstance(value, str) and value.strip() in ("", "None")):
        return None
    parsed = _parse_text(value, field) if isinstance(value, str) else value
    if not isinstance(parsed, Mapping):
        raise ConfigurationError(_baseline_help(field, f"got {type(parsed).__name__} {parsed!r:.200}"))
    job_name = parsed.get("job_name") if "metrics" in parsed else None
    metrics = parsed.get("metrics", parsed)
    if not isinstance(metrics, Mapping) or not flatten_metrics(metrics):
        raise ConfigurationError(_baseline_help(field, f"found no numeric metric in {metrics!r:.200}"))
    return {"job_name": job_name if isinstance(job_name, str) else None, "metrics": dict(metrics)}


def _parse_text(text: str, field: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        return ast.literal_eval(text.strip())
    except (ValueError, SyntaxError) as exc:
        raise ConfigurationError(
            _baseline_help(field, f"got text that is neither JSON nor a literal: {text!r:.200}")
        ) from exc


def _baseline_help(field: str, problem: str) -> str:
    return (
        f"{field} must be another evaluation's XCom (a dict with 'metrics', e.g. evaluate_deployed.output) "
        f"or a metrics dict such as {{'accuracy': 0.61}}; {problem}"
    )


def html_document(title: str, body: str) -> str:
    """A complete HTML page: ``title`` is escaped here, ``body`` must already be HTML."""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>\n<body>\n{body}\n</body></html>\n"
    )


# -- the evaluation report ----------------------------------------------------------------------
def evaluation_report_html(
    title: str,
    metrics: Mapping[str, Any],
    baseline: Mapping[str, Any] | None = None,
    facts: Sequence[tuple[str, str | None]] = (),
) -> str:
    """The report of one evaluation: facts, a metrics table and a bar chart, beside the baseline's when given.

    :param metrics: the evaluated model's metrics (any shape ``flatten_metrics`` reads).
    :param baseline: the baseline model's metrics, or None.
    :param facts: ``(label, value)`` rows shown first (job name, model, ...); None values are left out.
    """
    values = flatten_metrics(metrics)
    base = flatten_metrics(baseline) if baseline is not None else None
    rows = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in facts if v)
    body = [f"<h1>{escape(title)}</h1>", f"<dl>{rows}</dl>" if rows else ""]
    body.append(_metrics_table(values, base))
    body.append(bar_chart_svg(values, base))
    return html_document(title, "\n".join(part for part in body if part))


def evaluation_report_from_result(result: Mapping[str, Any], title: str | None = None) -> str:
    """The report of an evaluation result (``NovaEvaluateOperator``'s XCom: metrics, baseline, job name ...)."""
    baseline = result.get("baseline") if isinstance(result.get("baseline"), Mapping) else None
    job = result.get("job_name")
    facts = [
        ("Evaluation job", _text(job)),
        ("Benchmark", _text(result.get("eval_task"))),
        ("Model evaluated", _text(result.get("model_path")) or ("base model" if "model_path" in result else None)),
        ("Status", _text(result.get("status"))),
        ("Output", _text(result.get("eval_output_path"))),
        ("Baseline evaluation", _text(baseline.get("job_name")) if baseline else None),
    ]
    metrics = result.get("metrics")
    return evaluation_report_html(
        title or f"Evaluation report: {job or 'evaluation'}",
        metrics if isinstance(metrics, Mapping) else {},
        baseline.get("metrics") if baseline else None,
        facts,
    )


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _metrics_table(values: Mapping[str, float], base: Mapping[str, float] | None) -> str:
    if not values and not base:
        return '<p class="muted">The evaluation reported no numeric metric.</p>'
    names = list(values) + [n for n in (base or {}) if n not in values]
    head = "<tr><th>Metric</th><th>Evaluated model</th>"
    head += "<th>Baseline</th><th>Difference</th></tr>" if base is not None else "</tr>"
    rows = [head]
    for name in names:
        value = values.get(name)
        cells = f'<td>{escape(name)}</td><td class="num" data-series="evaluated">{format_metric(value)}</td>'
        if base is not None:
            other = base.get(name)
            diff = None if value is None or other is None else value - other
            tone = "num" if not diff else ("num better" if diff > 0 else "num worse")
            shown = "\u2014" if diff is None else f"{diff:+.4f}"
            cells += (
                f'<td class="num" data-series="baseline">{format_metric(other)}</td><td class="{tone}">{shown}</td>'
            )
        rows.append(f'<tr data-metric="{escape(name)}">{cells}</tr>')
    return f'<table class="nova-metrics">{"".join(rows)}</table>'


def bar_chart_svg(values: Mapping[str, float], base: Mapping[str, float] | None = None) -> str:
    """Grouped bars per headline metric: the evaluated model, and the baseline beside it when given."""
    names = headline_names(values) + [n for n in headline_names(base or {}) if n not in values]
    if not names:
        return ""
    series = [("evaluated", "Evaluated model", EVALUATED, values)]
    if base is not None:
        series.append(("baseline", "Baseline", BASELINE, base))
    everything = [v for _, _, _, vals in series for v in vals.values()]
    low, high = min(0.0, *everything), max(0.0, *everything)
    high = 1.0 if low >= 0 and high <= 1 else high  # scores and rates on their whole scale
    high = high if high > low else low + 1.0
    bar, gap, top, height = 34, 26, 44, 200
    width = max(360, 60 + len(names) * (len(series) * bar + gap))
    scale = height / (high - low)
    zero = top + (high - 0.0) * scale
    parts = [_legend(series, 60, 16)]
    for i, name in enumerate(names):
        x0 = 60 + i * (len(series) * bar + gap)
        for j, (key, label, colour, vals) in enumerate(series):
            if name not in vals:
                continue
            v = vals[name]
            y, h = (zero - v * scale, v * scale) if v >= 0 else (zero, -v * scale)
            x = x0 + j * bar
            parts.append(
                f'<rect class="nova-bar" data-series="{key}" data-metric="{escape(name)}" data-value="{v:.4f}" '
                f'x="{x}" y="{y:.1f}" width="{bar - 4}" height="{max(h, 0.5):.1f}" fill="{colour}">'
                f"<title>{escape(label)} {escape(name)}: {v:.4f}</title></rect>"
                f'<text x="{x + (bar - 4) / 2:.1f}" y="{y - 4:.1f}" text-anchor="middle">{v:.4f}</text>'
            )
        centre = x0 + len(series) * bar / 2
        parts.append(f'<text x="{centre:.1f}" y="{top + height + 18}" text-anchor="middle">{escape(name)}</text>')
    parts.append(f'<line x1="50" x2="{width}" y1="{zero:.1f}" y2="{zero:.1f}" stroke="#6b7280"/>')
    total = top + height + 30
    return (
        f'<svg class="nova-chart nova-bars" xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" '
        f'height="{total}" viewBox="0 0 {width} {total}"><title>Metrics of the evaluated model'
        f"{' and the baseline' if base is not None else ''}</title>{''.join(parts)}</svg>"
    )


def _legend(series: Sequence[tuple[str, str, str, Any]], x: int, y: int) -> str:
    items = []
    for i, (_, label, colour, _) in enumerate(series):
        left = x + i * 150
        items.append(
            f'<rect x="{left}" y="{y - 10}" width="12" height="12" fill="{colour}"/>'
            f'<text x="{left + 18}" y="{y}">{escape(label)}</text>'
        )
    return "".join(items)


# -- a metric over runs -------------------------------------------------------------------------
@dataclass(frozen=True)
class ChartPoint:
    """One run on the history chart: the evaluated (fine-tuned) model's value and the baseline's."""

    run_id: str
    label: str
    value: float | None
    baseline: float | None = None


def line_chart_svg(points: Sequence[ChartPoint], metric: str) -> str:
    """``metric`` over runs, oldest first: one ``<circle data-run-id>`` per run with a value, the baseline dashed.

    Runs without a value break the line and get no point; the baseline's points are squares
    (``<rect data-baseline-run-id>``) so circles stay one per run.
    """
    known = [v for p in points for v in (p.value, p.baseline) if v is not None]
    width, height, left, top = max(360, 90 + 70 * len(points)), 260, 70, 30
    inner_w, inner_h = width - left - 20, height - top - 60
    head = (
        f'<svg class="nova-chart nova-line" xmlns="http://www.w3.org/2000/svg" role="img" data-metric="{escape(metric)}" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}"><title>{escape(metric)} over runs</title>'
    )
    if not known:
        return f'{head}<text x="{left}" y="{top + 40}" class="muted">No {escape(metric)} values yet.</text></svg>'
    low, high = _padded_range(known)

    def x_of(i: int) -> float:
        return left + (inner_w / 2 if len(points) == 1 else inner_w * i / (len(points) - 1))

    def y_of(v: float) -> float:
        return top + inner_h * (high - v) / (high - low)

    parts = [_axes(left, top, inner_w, inner_h, low, high), _legend_line(left, 14)]
    parts.append(_path([(x_of(i), p.baseline) for i, p in enumerate(points)], y_of, BASELINE, dashed=True))
    parts.append(_path([(x_of(i), p.value) for i, p in enumerate(points)], y_of, EVALUATED, dashed=False))
    step = max(1, math.ceil(len(points) / 10))
    for i, p in enumerate(points):
        x = x_of(i)
        if p.baseline is not None:
            parts.append(
                f'<rect class="nova-baseline-point" data-baseline-run-id="{escape(p.run_id)}" data-value="{p.baseline:.4f}" '
                f'x="{x - 4:.1f}" y="{y_of(p.baseline) - 4:.1f}" width="8" height="8" fill="{BASELINE}">'
                f"<title>{escape(p.label)}: baseline {p.baseline:.4f}</title></rect>"
            )
        if p.value is not None:
            parts.append(
                f'<circle class="nova-point" data-run-id="{escape(p.run_id)}" data-value="{p.value:.4f}" '
                f'cx="{x:.1f}" cy="{y_of(p.value):.1f}" r="5" fill="{EVALUATED}">'
                f"<title>{escape(p.label)}: {p.value:.4f}</title></circle>"
            )
        if i % step == 0:
            parts.append(f'<text x="{x:.1f}" y="{top + inner_h + 20}" text-anchor="middle">{escape(p.label)}</text>')
    return head + "".join(parts) + "</svg>"


def _padded_range(values: Sequence[float]) -> tuple[float, float]:
    low, high = min(values), max(values)
    pad = (high - low) * 0.1 or max(abs(high) * 0.1, 0.05)
    return low - pad, high + pad


def _axes(left: int, top: int, w: int, h: int, low: float, high: float) -> str:
    ticks = []
    for k in range(5):
        v = low + (high - low) * k / 4
        y = top + h * (1 - k / 4)
        ticks.append(
            f'<line x1="{left}" x2="{left + w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e5e7eb"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{v:.4f}</text>'
        )
    return "".join(ticks) + f'<line x1="{left}" x2="{left}" y1="{top}" y2="{top + h}" stroke="#6b7280"/>'


def _legend_line(x: int, y: int) -> str:
    return (
        f'<circle cx="{x + 6}" cy="{y - 4}" r="5" fill="{EVALUATED}"/><text x="{x + 16}" y="{y}">Fine-tuned</text>'
        f'<rect x="{x + 120}" y="{y - 8}" width="8" height="8" fill="{BASELINE}"/>'
        f'<text x="{x + 134}" y="{y}">Deployed (baseline)</text>'
    )


def _path(points: Sequence[tuple[float, float | None]], y_of: Any, colour: str, *, dashed: bool) -> str:
    commands, pen_down = [], False
    for x, v in points:
        if v is None:
            pen_down = False
            continue
        commands.append(f"{'L' if pen_down else 'M'}{x:.1f},{y_of(v):.1f}")
        pen_down = True
    if not commands:
        return ""
    dash = ' stroke-dasharray="6 4"' if dashed else ""
    return f'<path d="{" ".join(commands)}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>'


def report_s3_path(eval_output_path: str) -> str:
    """Where an evaluation's report goes: beside its output (the folder of ``output.tar.gz``, or of a results prefix)."""
    folder = eval_output_path.rstrip("/").rsplit("/", 1)[0]
    return f"{folder}/report.html"
