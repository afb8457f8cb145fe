"""Benchmark what importing the provider's operators costs a DAG parse, beside the amazon SageMaker operator.

DAG files import operators at every parse. Each measurement is a fresh interpreter that imports
``airflow.sdk`` (the baseline every DAG file pays) and then one candidate:

* ``nova``: ``airflow_provider_nova.operators`` (and ``airflow_provider_nova.sensors`` when present);
* ``amazon``: ``SageMakerTrainingOperator`` from ``airflow.providers.amazon.aws.operators.sagemaker``.

For each candidate it reports the median over the repetitions of the extra import time
(``perf_counter`` around the candidate's import, after ``airflow.sdk``), the extra peak RSS, the
extra peak of memory allocated by Python (``tracemalloc`` started after ``airflow.sdk``, in separate
runs since tracing slows imports) and the extra modules. Goal: the provider's operators cost at most
a tenth of the amazon operator's extra time and memory. The default run takes about a minute on a
busy 2-core machine.

    python benchmarks/import_cost.py [--repeat 5] [--traced-repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from importlib.util import find_spec
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
GOAL = 0.10

CANDIDATES: dict[str, list[str]] = {
    "nova": ["import airflow_provider_nova.operators", "import airflow_provider_nova.sensors"],
    "amazon": ["from airflow.providers.amazon.aws.operators.sagemaker import SageMakerTrainingOperator"],
}
LABELS = {"nova": "nova operators", "amazon": "amazon SageMakerTrainingOperator"}

# Runs in the child: import airflow.sdk, then the candidate's statements, and print what each cost.
CHILD = """
import json, resource, sys, time, tracemalloc
statements, trace = json.loads(sys.argv[1]), sys.argv[2] == "1"
def rss():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
start = time.perf_counter()
import airflow.sdk
sdk_seconds = time.perf_counter() - start
modules, peak_rss = len(sys.modules), rss()
if trace:
    tracemalloc.start()
start = time.perf_counter()
for statement in statements:
    exec(statement)
seconds = time.perf_counter() - start
print(json.dumps({
    "sdk_seconds": sdk_seconds, "sdk_modules": modules, "sdk_rss": peak_rss,
    "seconds": seconds, "modules": len(sys.modules) - modules, "rss": rss() - peak_rss,
    "traced": tracemalloc.get_traced_memory()[1] if trace else 0,
}))
"""


def statements_of(name: str) -> list[str]:
    """The candidate's import statements, leaving out a package this checkout does not have yet."""
    present = []
    for statement in CANDIDATES[name]:
        module = statement.split()[1]
        if find_spec(module) is not None:
            present.append(statement)
    return present


def run_child(statements: list[str], trace: bool, env: dict[str, str]) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(statements), "1" if trace else "0"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=120,
    ).stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def child_env(airflow_home: str) -> dict[str, str]:
    path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, "AIRFLOW_HOME": airflow_home, "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}


def measure(repeat: int, traced_repeat: int, env: dict[str, str]) -> dict[str, dict[str, float]]:
    """Median figures per candidate; the runs are interleaved so that load on the machine hits all alike."""
    statements = {name: statements_of(name) for name in CANDIDATES}
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in CANDIDATES}
    traced: dict[str, list[float]] = {name: [] for name in CANDIDATES}
    for i in range(max(repeat, traced_repeat)):
        for name in CANDIDATES:
            if i < repeat:
                runs[name].append(run_child(statements[name], False, env))
            if i < traced_repeat:
                traced[name].append(run_child(statements[name], True, env)["traced"])
    medians: dict[str, dict[str, float]] = {}
    for name in CANDIDATES:
        medians[name] = {key: statistics.median(r[key] for r in runs[name]) for key in runs[name][0] if key != "traced"}
        medians[name]["traced"] = statistics.median(traced[name])
    every_run = [r for name in CANDIDATES for r in runs[name]]
    medians["baseline"] = {
        key: statistics.median(r[key] for r in every_run) for key in ("sdk_seconds", "sdk_modules", "sdk_rss")
    }
    return medians


def report(medians: dict[str, dict[str, float]], repeat: int, traced_repeat: int) -> bool:
    """Print the side-by-side table; True when the goal is met."""
    base = medians["baseline"]
    print(f"python {sys.version.split()[0]}; median of {repeat} fresh processes per figure ({traced_repeat} traced)")
    print(
        f"baseline `import airflow.sdk`: {base['sdk_seconds'] * 1e3:.0f} ms, {base['sdk_modules']:.0f} modules, "
        f"peak RSS {base['sdk_rss'] / 2**20:.0f} MiB"
    )
    print(f"nova imports: {'; '.join(statements_of('nova'))}\n")
    rows = [
        ("extra import time (ms)", "seconds", 1e3),
        ("extra peak RSS (MiB)", "rss", 1 / 2**20),
        ("extra traced peak (MiB)", "traced", 1 / 2**20),
        ("extra modules", "modules", 1),
    ]
    nova, amazon = medians["nova"], medians["amazon"]
    print(f"{'':26}{LABELS['nova']:>16}{LABELS['amazon']:>35}{'ratio':>8}")
    met = True
    for label, key, scale in rows:
        ratio = nova[key] / amazon[key] if amazon[key] > 0 else float("nan")
        met = met and ratio <= GOAL
        print(f"{label:26}{nova[key] * scale:>16.1f}{amazon[key] * scale:>35.1f}{ratio:>8.3f}")
    verdict = "met" if met else "NOT met"
    print(f"\ngoal: each of nova's extra figures at most {GOAL:.2f} of amazon's: {verdict}")
    return met


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="fresh processes per timing figure (median taken)")
    parser.add_argument("--traced-repeat", type=int, default=3, help="fresh processes per tracemalloc figure")
    args = parser.parse_args(argv)
    repeat, traced_repeat = max(1, args.repeat), max(1, args.traced_repeat)
    with tempfile.TemporaryDirectory(prefix="import-cost-") as airflow_home:
        medians = measure(repeat, traced_repeat, child_env(airflow_home))
    report(medians, repeat, traced_repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
