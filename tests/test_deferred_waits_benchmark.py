"""The deferred-waits benchmark: our phase in a real triggerer, and how the verdict is judged (no timing asserted)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "deferred_waits.py"


@pytest.fixture(scope="module")
def bench() -> Any:
    spec = importlib.util.spec_from_file_location("deferred_waits", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def table(out: str) -> dict[str, str]:
    return {line[:38].strip(): line[38:].strip() for line in out.splitlines() if len(line) > 38}


def test_five_waits_resume_in_a_real_triggerer_with_list_calls_only(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "AWS_ENDPOINT_URL"}  # the script starts its own stand-in
    args = ["--only", "nova", "--jobs", "5", "--job-seconds", "6", "--poll-interval", "2", "--workdir", str(tmp_path)]
    done = subprocess.run(
        [sys.executable, str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=300
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    rows = table(done.stdout)
    assert rows["task instances resumed / deferred"] == "5 / 5"
    assert rows["trigger events"] == "success 5"
    assert rows["by operation"].startswith("List ") and "Describe" not in rows["by operation"]
    assert rows["worker slots held (max running TIs)"] == "0"
    assert rows["max deferred TIs at once"] == "5"
    assert float(rows["latency max (s)"]) >= 0  # each resume came after its job's end


def result(bench: Any, name: str, calls: int, latencies: list[float], running: int = 0) -> Any:
    return bench.Result(
        name, 10, calls={"DescribeTrainingJob": calls}, job_hours=1.0, latencies=latencies, max_running=running
    )


def test_the_goal_needs_fifty_times_fewer_calls_the_same_latency_and_no_slot(
    bench: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    amazon = result(bench, "amazon", 1000, [10.0, 20.0])
    assert bench.verdict(result(bench, "nova", 20, [10.0, 21.0]), amazon)
    assert not bench.verdict(result(bench, "nova", 21, [10.0, 20.0]), amazon)  # 47.6x
    assert not bench.verdict(result(bench, "nova", 10, [10.0, 30.0]), amazon)  # p95 10 s later
    assert not bench.verdict(result(bench, "nova", 10, [10.0, 20.0], running=1), amazon)
    out = capsys.readouterr().out
    assert "50.0x fewer" in out and "NOT met" in out
