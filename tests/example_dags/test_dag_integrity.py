"""Every example DAG parses in a fresh process with no AWS credentials and no network, loading none of the core.

(An ``Asset("s3://...")`` in a DAG file loads boto3 through the amazon provider's S3 URI handler; the
provider's own modules never do: ``test_nova_sft_training`` checks a DAG without S3 Assets loads none.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

DAGS = Path(__file__).parents[2] / "example_dags"

PARSE = """
import json, sys
from airflow.models.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1])
heavy = ("airflow_provider_nova.core", "airflow_provider_nova.hooks", "airflow_provider_nova.triggers", "moto")
print("RESULT " + json.dumps({
    "errors": {k: v[-500:] for k, v in bag.import_errors.items()},
    "dags": sorted(bag.dag_ids),
    "heavy": sorted(m for m in sys.modules if m.startswith(heavy)),
}))
"""


def test_every_example_dag_parses_without_aws(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "AIRFLOW_CONN_"))}
    env.update(
        AIRFLOW_HOME=str(tmp_path),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AWS_ENDPOINT_URL="http://127.0.0.1:9",  # the discard port: any AWS call would fail
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
    )
    out = subprocess.run(
        [sys.executable, "-c", PARSE, str(DAGS)], env=env, capture_output=True, text=True, timeout=300, check=True
    ).stdout
    result = json.loads(next(line for line in out.splitlines() if line.startswith("RESULT "))[7:])
    assert result["errors"] == {}
    assert result["dags"] == [
        "nova_hyperpod_training",
        "nova_prepare_support_data",
        "nova_retrain_on_new_data",
        "nova_sft_training",
        "nova_weekly_retraining",
    ]
    assert result["heavy"] == []
