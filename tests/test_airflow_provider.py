"""Airflow itself discovers the provider."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_airflow_providers_list_shows_the_provider(tmp_path: Path) -> None:
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    airflow = Path(sys.executable).with_name("airflow")
    out = subprocess.run(
        [str(airflow), "providers", "list", "--output", "plain"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=True,
    ).stdout
    line = next(line for line in out.splitlines() if "airflow-provider-nova" in line)
    assert "0.1.0" in line
