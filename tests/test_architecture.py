"""The core stays framework-free and its public namespace stays curated."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import airflow_provider_nova.core as core

CORE = Path(core.__file__).parent


def test_importing_core_imports_no_airflow_and_no_boto3() -> None:
    code = (
        "import sys, airflow_provider_nova.core\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('airflow', 'boto3', 'botocore', 'moto'))\n"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""


def test_no_core_module_mentions_airflow_in_an_import() -> None:
    offenders = []
    for path in CORE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.relative_to(CORE)}: {n}" for n in names if n.split(".")[0] == "airflow"]
    assert offenders == []


def test_public_namespace_is_exactly_the_curated_list() -> None:
    expected = {
        "NovaModelCustomizer", "Model", "Version", "TrainingMethod", "DeployPlatform", "EvaluationTask", "Platform",
        "JobStatus", "RuntimeManager", "SMTJRuntimeManager", "SMHPRuntimeManager", "BaseJobResult", "TrainingResult",
        "ModelArtifacts", "AwsClients", "NovaError", "ConfigurationError", "RecipeError", "DataPrepError",
        "AwsCallError", "JobFailedError", "EvaluationResult", "SMTJEvaluationResult", "SMHPEvaluationResult",
        "SMTJBatchInferenceResult", "BatchInferenceResult", "SMHPBatchInferenceResult", "DeploymentResult",
        "EndpointInfo", "DeploymentError",
        "UnsupportedError", "UnknownStatusError", "WaitTimeoutError",
    }  # fmt: skip
    expected |= {"DatasetLoader", "JSONLDatasetLoader", "JSONDatasetLoader", "CSVDatasetLoader"}
    assert set(core.__all__) == expected
    for name in core.__all__:
        assert getattr(core, name) is not None


def test_provider_info_is_registered_as_an_entry_point() -> None:
    from importlib.metadata import entry_points

    eps = [ep for ep in entry_points(group="apache_airflow_provider") if ep.value.startswith("airflow_provider_nova")]
    assert len(eps) == 1
    info = eps[0].load()()
    assert info["package-name"] == "airflow-provider-nova"
    assert info["versions"] == [__import__("airflow_provider_nova").__version__]
