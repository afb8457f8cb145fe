"""The smallest example DAG parses lightly and trains on the stand-in with dag.test()."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

DAGS = Path(__file__).parents[2] / "example_dags"


def test_dag_file_imports_no_core_and_no_boto3_at_parse_time() -> None:
    code = (
        f"import runpy, sys; runpy.run_path({str(DAGS / 'nova_sft_training.py')!r}); "
        "heavy = ('airflow_provider_nova.core', 'airflow_provider_nova.sandbox', 'boto3', 'botocore', 'moto'); "
        "print('HEAVY=' + ','.join(sorted(m for m in sys.modules if m.startswith(heavy))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out.splitlines()[-1] == "HEAVY="


def test_dag_trains_on_the_stand_in(run_dag: Any, rehearsal_jobs: Any, control: Any) -> None:
    control.set_job_seconds(1)
    conf = {"poll_seconds": 0.2, "overrides": {"max_epochs": 3, "lr": 1e-5}}
    result = run_dag("nova_sft_training.py", "nova_sft_training", conf)
    assert result["state"] == "success" and result["tasks"] == {"train": "success"}
    training = result["xcoms"]["train.return_value"]
    assert training["status"] == "COMPLETED" and training["checkpoint_s3_path"].startswith("s3://")
    assert rehearsal_jobs() == {training["job_name"]: "Completed"}
