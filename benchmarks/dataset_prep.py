"""Benchmark the dataset loaders on a large synthetic chat export.

Generates a JSONL file of N chat rows (default 1,000,000, about 1 GB), then times, each in its own
process so that peak RSS is measured per phase:

* baseline: a bare ``json.loads``/``json.dumps`` round trip of every line into a new file;
* pipeline: ``JSONLDatasetLoader.load -> transform(SFT_LORA, NOVA_LITE_2) -> split_data ->
  save_data`` of the three splits as JSONL.

It prints rows/s, MB/s (of the input file) and peak RSS of each, and the pipeline/baseline ratio.
Targets on the project's 2-core machine: pipeline peak RSS under 400 MB for the 1 GB file, and a
ratio of at least 0.5.

Run it with ``make bench`` (``ROWS=100000 make bench`` for a quick run) or::

    python benchmarks/dataset_prep.py --rows 200000 [--workdir /tmp/bench] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Any

_VOCABULARY = (
    "the customer reported that their order did not arrive on time and asked for a refund of the "
    "subscription fee because the delivery address was wrong please help me reset my password "
    "account billing invoice shipping tracking number warehouse agent escalate ticket resolved"
)
_WORDS = _VOCABULARY.split()


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choices(_WORDS, k=words))


def generate(path: str, rows: int, seed: int = 7) -> dict[str, Any]:
    """Write ``rows`` synthetic support-chat rows of about 1 KB each to ``path``."""
    rng = random.Random(seed)
    systems = [f"You are a helpful support agent for product line {i}." for i in range(20)]
    with open(path, "w", encoding="utf-8", buffering=1 << 20) as out:
        for i in range(rows):
            row = {
                "ticket_id": f"T-{i:08d}",
                "system": systems[i % len(systems)],
                "user_query": _text(rng, rng.randint(40, 90)) + "?",
                "bot_response": _text(rng, rng.randint(70, 140)) + ".",
            }
            out.write(json.dumps(row, ensure_ascii=False))
            out.write("\n")
    return {"bytes": os.path.getsize(path)}


def baseline(path: str, workdir: str) -> dict[str, Any]:
    """Round-trip every line through ``json.loads``/``json.dumps`` into a new file."""
    start = time.perf_counter()
    rows = 0
    with open(path, "rb") as src, open(os.path.join(workdir, "baseline.jsonl"), "wb", buffering=1 << 20) as out:
        for line in src:
            out.write(json.dumps(json.loads(line), ensure_ascii=False).encode())
            out.write(b"\n")
            rows += 1
    return {"rows": rows, "seconds": time.perf_counter() - start, "peak_rss_mb": _peak_rss_mb()}


def pipeline(path: str, workdir: str) -> dict[str, Any]:
    """Load, transform, split and save with the dataset loaders, timing each stage."""
    from airflow_provider_nova.core.datasets import JSONLDatasetLoader
    from airflow_provider_nova.core.enums import Model, TrainingMethod

    stages: dict[str, float] = {}
    start = last = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal last
        now = time.perf_counter()
        stages[name] = now - last
        last = now

    loader = JSONLDatasetLoader(question="user_query", answer="bot_response").load(path)
    lap("load")
    loader.transform(TrainingMethod.SFT_LORA, Model.NOVA_LITE_2)
    lap("transform")
    splits = loader.split_data(0.8, 0.1, 0.1, seed=42)
    lap("split_data")
    for name, split in zip(("train", "val", "test"), splits, strict=True):
        split.save_data(os.path.join(workdir, f"{name}.jsonl"))
    lap("save_data")
    return {
        "rows": len(loader),
        "split_rows": [len(s) for s in splits],
        "seconds": time.perf_counter() - start,
        "stages": stages,
        "peak_rss_mb": _peak_rss_mb(),
    }


def _run_phase(phase: str, path: str, workdir: str, rows: int) -> dict[str, Any]:
    """Run one phase in a fresh interpreter so its peak RSS is its own."""
    cmd = [sys.executable, __file__, "--phase", phase, "--input", path, "--workdir", workdir, "--rows", str(rows)]
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _report(name: str, result: dict[str, Any], megabytes: float) -> None:
    seconds = result["seconds"]
    print(
        f"{name:9s} {result['rows'] / seconds:>10,.0f} rows/s {megabytes / seconds:>8.1f} MB/s "
        f"{seconds:>8.2f} s   peak RSS {result['peak_rss_mb']:.0f} MB"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows to generate (default 1,000,000)")
    parser.add_argument("--workdir", help="directory for the generated and saved files (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the generated and saved files")
    parser.add_argument("--phase", choices=["generate", "baseline", "pipeline"], help=argparse.SUPPRESS)
    parser.add_argument("--input", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.phase:
        phases = {
            "generate": lambda: generate(args.input, args.rows),
            "baseline": lambda: baseline(args.input, args.workdir),
        }
        phases["pipeline"] = lambda: pipeline(args.input, args.workdir)
        print(json.dumps(phases[args.phase]()))
        return 0

    workdir = args.workdir or tempfile.mkdtemp(prefix="nova-dataset-bench-")
    os.makedirs(workdir, exist_ok=True)
    path = os.path.join(workdir, "chats.jsonl")
    try:
        print(f"generating {args.rows:,} chat rows in {path} ...", flush=True)
        megabytes = _run_phase("generate", path, workdir, args.rows)["bytes"] / 1e6
        print(f"input: {megabytes:,.1f} MB, {megabytes * 1e6 / max(args.rows, 1):.0f} bytes a row", flush=True)
        base = _run_phase("baseline", path, workdir, args.rows)
        _report("baseline", base, megabytes)
        result = _run_phase("pipeline", path, workdir, args.rows)
        _report("pipeline", result, megabytes)
        stages = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in result["stages"].items())
        print(f"stages:   {stages}; splits {result['split_rows']}")
        ratio = base["seconds"] / result["seconds"]
        print(f"ratio:    pipeline throughput / baseline throughput = {ratio:.2f} (target >= 0.5)")
        print(f"memory:   pipeline peak RSS {result['peak_rss_mb']:.0f} MB (target < 400 MB)")
    finally:
        if not args.keep and not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
