"""The import-cost benchmark runs and judges its goal (no timing is asserted)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "import_cost.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("import_cost", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_child_reports_what_the_candidate_added(bench, tmp_path: Path) -> None:
    result = bench.run_child(bench.statements_of("nova"), True, bench.child_env(str(tmp_path)))
    assert result["sdk_modules"] > 100
    assert result["modules"] >= 1  # the operators package itself
    assert result["traced"] > 0


def figures(seconds: float, rss: float, traced: float, modules: float) -> dict[str, float]:
    return {"seconds": seconds, "rss": rss, "traced": traced, "modules": modules}


def test_the_goal_is_a_tenth_of_every_figure(bench, capsys: pytest.CaptureFixture[str]) -> None:
    base = {"baseline": {"sdk_seconds": 1.0, "sdk_modules": 1356, "sdk_rss": 2**27}}
    amazon = figures(0.1, 2**23, 2**23, 300)
    assert bench.report({**base, "nova": figures(0.005, 0, 2**19, 5), "amazon": amazon}, 5, 3)
    assert not bench.report({**base, "nova": figures(0.005, 2**21, 2**19, 5), "amazon": amazon}, 5, 3)
    out = capsys.readouterr().out
    assert "extra peak RSS (MiB)" in out
    assert "NOT met" in out
