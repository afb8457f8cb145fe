"""What DAG files import stays light: operators, sensors, links and lineage load no AWS SDK and no core.

DAG files import operators at every parse. Each package below, with every module in it, is imported
in a fresh interpreter after ``import airflow.sdk``; compared with ``import airflow.sdk`` alone, it
must add none of the forbidden modules and no pydantic, yaml or msgspec module.
"""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.util import find_spec

import pytest

FORBIDDEN = (
    "boto3",
    "botocore",
    "moto",
    "kubernetes",
    "airflow.providers.amazon",
    "airflow_provider_nova.core",
    "airflow_provider_nova.hooks",
)
HEAVY_TOP_LEVEL = {"pydantic", "pydantic_core", "yaml", "_yaml", "msgspec"}
CANDIDATES = (
    "airflow_provider_nova.operators",
    "airflow_provider_nova.sensors",
    "airflow_provider_nova.links",
    "airflow_provider_nova.lineage",
)
PACKAGES = [name for name in CANDIDATES if find_spec(name) is not None]

CHILD = """
import importlib, json, pkgutil, sys
import airflow.sdk
for name in sys.argv[1:]:
    module = importlib.import_module(name)
    for info in pkgutil.iter_modules(getattr(module, "__path__", [])):
        importlib.import_module(f"{name}.{info.name}")
print(json.dumps(sorted(sys.modules)))
"""


def modules_after_importing(*names: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", CHILD, *names], capture_output=True, text=True, check=True, timeout=120)
    return set(json.loads(out.stdout))


def matches(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


@pytest.fixture(scope="module")
def baseline() -> set[str]:
    return modules_after_importing()


def test_the_baseline_loads_no_aws_sdk_and_no_nova_code(baseline: set[str]) -> None:
    # Airflow's provider discovery imports ``airflow.providers.amazon`` (its provider info) with the
    # SDK itself, so for that one only what a package adds is checked.
    absent = [p for p in FORBIDDEN if p != "airflow.providers.amazon"]
    assert sorted(m for m in baseline if any(matches(m, p) for p in absent)) == []


def test_the_packages_dag_files_import_exist() -> None:
    assert {"airflow_provider_nova.operators", "airflow_provider_nova.links"} <= set(PACKAGES)


@pytest.mark.parametrize("package", PACKAGES)
def test_package_loads_no_aws_sdk_no_core_and_no_heavy_module(package: str, baseline: set[str]) -> None:
    added = modules_after_importing(package) - baseline
    assert package in added
    assert sorted(m for m in added if any(matches(m, p) for p in FORBIDDEN)) == []
    assert sorted(m for m in added if m.split(".")[0] in HEAVY_TOP_LEVEL) == []


def test_the_check_sees_a_forbidden_import(baseline: set[str]) -> None:
    added = modules_after_importing("airflow_provider_nova.hooks.nova") - baseline
    assert any(matches(m, "botocore") for m in added)
    assert any(matches(m, "airflow.providers.amazon") for m in added)
