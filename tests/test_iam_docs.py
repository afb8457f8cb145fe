"""docs/iam/worker-policy.json allows every AWS call the provider makes, and names only real IAM actions.

The weekly retraining DAG runs with ``dag.test()`` against the stand-in, in a process whose botocore
records every operation it sends; the calls the DAG does not make (a stopped job, provisioned
throughput, the default bucket, the HyperPod checks) are made in this process through recording
clients. Each operation maps to its IAM action (``<signing name>:<Operation>``, except where S3
authorizes an operation under another action) and must be allowed by the documented policy.
"""

from __future__ import annotations

import fnmatch
import importlib.util
import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).parents[1]
POLICY = ROOT / "docs" / "iam" / "worker-policy.json"
IAM_DOC = ROOT / "docs" / "iam.md"

# S3 authorizes these operations under another action (Amazon S3 API Reference, each operation's "Permissions").
S3_ACTIONS = {
    "HeadObject": "s3:GetObject",
    "HeadBucket": "s3:ListBucket",
    "ListObjectsV2": "s3:ListBucket",
    "ListObjects": "s3:ListBucket",
    "CreateMultipartUpload": "s3:PutObject",
    "UploadPart": "s3:PutObject",
    "CompleteMultipartUpload": "s3:PutObject",
}
# AWS STS: "No permissions are required to perform this operation" (GetCallerIdentity API Reference).
NEEDS_NO_PERMISSION = {"sts:GetCallerIdentity"}
# Actions that are IAM's own and no API operation of the service's botocore model.
IAM_ONLY_ACTIONS = {"s3:ListBucket", "iam:PassRole"}
PLACEHOLDERS = {"REGION", "ACCOUNT_ID", "DATA_BUCKET", "EXECUTION_ROLE_NAME", "BEDROCK_ROLE_NAME", "EKS_CLUSTER_NAME"}

# Installed into the dag.test() process: append "<signing name> <operation>" per AWS call to $NOVA_AWS_CALLS.
RECORDER = """
import os as _os, botocore.client as _bc
_send = _bc.BaseClient._make_api_call
def _recorded(self, operation_name, api_params):
    with open(_os.environ["NOVA_AWS_CALLS"], "a") as _out:
        _out.write(self.meta.service_model.signing_name + " " + operation_name + "\\n")
    return _send(self, operation_name, api_params)
_bc.BaseClient._make_api_call = _recorded
"""


def _module(path: Path, name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def action_of(service: str, operation: str) -> str:
    if service == "s3" and operation in S3_ACTIONS:
        return S3_ACTIONS[operation]
    return f"{service}:{operation}"


def policy_actions(policy: dict[str, Any]) -> list[str]:
    actions: list[str] = []
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow"
        action = statement["Action"]
        actions += [action] if isinstance(action, str) else action
    return actions


def allowed(action: str, patterns: list[str]) -> bool:
    return action in NEEDS_NO_PERMISSION or any(fnmatch.fnmatchcase(action.lower(), p.lower()) for p in patterns)


def not_allowed(calls: Counter[str], patterns: list[str]) -> list[str]:
    return sorted(a for a in {action_of(*call.split(" ", 1)) for call in calls} if not allowed(a, patterns))


@pytest.fixture(scope="module")
def policy() -> dict[str, Any]:
    return json.loads(POLICY.read_text())


def test_the_policy_names_real_actions_and_only_documented_placeholders(policy: dict[str, Any]) -> None:
    import botocore.session

    session = botocore.session.get_session()
    operations: dict[str, set[str]] = {}
    for service in session.get_available_services():
        model = session.get_service_model(service)
        operations.setdefault(model.signing_name, set()).update(model.operation_names)
    for action in policy_actions(policy):
        prefix, _, name = action.partition(":")
        assert action in IAM_ONLY_ACTIONS or name in operations.get(prefix, set()), f"{action} is no IAM action"
    for statement in policy["Statement"]:
        resources = statement["Resource"]
        for resource in [resources] if isinstance(resources, str) else resources:
            assert resource == "*" or resource.startswith("arn:aws:"), resource
            assert set(re.findall(r"[A-Z][A-Z_]{2,}[A-Z]", resource)) <= PLACEHOLDERS, resource


def test_iam_md_shows_the_combined_policy_as_the_file_holds_it(policy: dict[str, Any]) -> None:
    text = IAM_DOC.read_text()
    block = text.split("<!-- worker-policy.json -->", 1)[1].split("```json", 1)[1].split("```", 1)[0]
    assert json.loads(block) == policy


def test_the_weekly_retraining_dag_needs_nothing_the_policy_does_not_allow(
    account: dict[str, str], control: Any, tmp_path: Path, policy: dict[str, Any]
) -> None:
    dags = _module(ROOT / "tests" / "example_dags" / "conftest.py", "_nova_example_dags_conftest")
    weekly = _module(ROOT / "tests" / "example_dags" / "test_weekly_retraining.py", "_nova_weekly_retraining_test")
    from airflow_provider_nova.sandbox.rehearsal import airflow_connection, seed_inputs

    seed_inputs(account["endpoint_url"])
    control.set_job_seconds(1)
    control.set_bedrock_seconds(1)
    record = tmp_path / "aws-calls.txt"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AIRFLOW_HOME=str(tmp_path),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__DAGS_FOLDER=str(dags.DAGS),
        AIRFLOW_CONN_AWS_DEFAULT=json.dumps(airflow_connection(account["endpoint_url"], dict(os.environ))),
        AWS_EC2_METADATA_DISABLED="true",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        NOVA_AWS_CALLS=str(record),
    )
    airflow = str(Path(sys.executable).with_name("airflow"))
    subprocess.run([airflow, "db", "migrate"], env=env, check=True, capture_output=True, timeout=300)
    dag_file, conf = str(dags.DAGS / "nova_weekly_retraining.py"), json.dumps(weekly.FAST)
    out = subprocess.run(
        [sys.executable, "-c", RECORDER + dags.RUN, dag_file, "nova_weekly_retraining", conf],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert '"state": "success"' in out.stdout, out.stderr[-4000:]
    calls = Counter(record.read_text().splitlines())
    # the recorder saw what the stand-in answered: each training-job call it counted (answered or refused)
    answered: Counter[str] = Counter()
    for counted, count in control.calls().items():
        answered[f"sagemaker {counted.split('.')[0]}"] += count
    assert all(calls[operation] >= count for operation, count in answered.items()), (answered, calls)
    assert {"bedrock CreateCustomModelDeployment", "s3 PutObject", "sagemaker DescribeHubContent"} <= set(calls)
    assert not_allowed(calls, policy_actions(policy)) == []


def test_stopping_provisioned_throughput_the_default_bucket_and_hyperpod_need_nothing_more(
    account: dict[str, str], control: Any, policy: dict[str, Any]
) -> None:
    import boto3

    from airflow_provider_nova.core import (
        DeployPlatform,
        Model,
        NovaModelCustomizer,
        SMTJRuntimeManager,
        TrainingMethod,
    )
    from airflow_provider_nova.core.aws import AwsClients
    from airflow_provider_nova.core.hyperpod.cluster import check_cluster
    from airflow_provider_nova.core.hyperpod.eks import describe_eks_endpoint

    calls: Counter[str] = Counter()

    def recording_client(service: str) -> Any:
        client = boto3.Session().client(service, region_name="us-east-1", endpoint_url=account["endpoint_url"])
        name = client.meta.service_model.signing_name
        client.meta.events.register("before-call", lambda model, **_: calls.update([f"{name} {model.name}"]))
        return client

    clients = AwsClients(region_name="us-east-1", client_factory=recording_client)
    s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=account["endpoint_url"])
    s3.put_object(Bucket="my-bucket", Key="checkpoint/model.safetensors", Body=b"weights")
    control.set_bedrock_seconds(0)
    infra = SMTJRuntimeManager("ml.p5.48xlarge", 2, clients=clients)
    customizer = NovaModelCustomizer(Model.NOVA_MICRO, TrainingMethod.SFT_LORA, infra, "s3://my-bucket/training-data/")
    result = customizer.train(job_name="iam-docs-stopped")  # no output_s3_path: the default bucket is created
    infra.stop(infra.ref(result.job_id))
    customizer.deploy(
        "s3://my-bucket/checkpoint/",
        DeployPlatform.BEDROCK_PT,
        pt_units=1,
        endpoint_name="iam-docs-pt",
        poll_seconds=0.01,
    )
    eks = boto3.client("eks", region_name="us-east-1", endpoint_url=account["endpoint_url"])
    arn = eks.create_cluster(
        name="iam-docs-eks", roleArn=account["role_arn"], resourcesVpcConfig={"subnetIds": ["subnet-0a1b2c3d"]}
    )["cluster"]["arn"]
    boto3.client("sagemaker", region_name="us-east-1", endpoint_url=account["endpoint_url"]).create_cluster(
        ClusterName="iam-docs-hp",
        Orchestrator={"Eks": {"ClusterArn": arn}},
        RestrictedInstanceGroups=[
            {
                "InstanceGroupName": "rig",
                "InstanceType": "ml.p5.48xlarge",
                "InstanceCount": 2,
                "ExecutionRole": account["role_arn"],
            }
        ],
    )
    check_cluster(clients, "iam-docs-hp", "ml.p5.48xlarge", 2)
    describe_eks_endpoint(clients, "iam-docs-eks")
    expected = {
        "s3 CreateBucket",
        "sagemaker StopTrainingJob",
        "bedrock CreateProvisionedModelThroughput",
        "sagemaker ListClusterNodes",
        "eks DescribeCluster",
    }
    assert expected <= set(calls), calls
    assert not_allowed(calls, policy_actions(policy)) == []


def test_a_call_the_policy_does_not_name_is_found(policy: dict[str, Any]) -> None:
    calls = Counter(
        ["s3 HeadObject", "sagemaker CreateTrainingJob", "sagemaker DeleteTrainingJob", "sts GetCallerIdentity"]
    )
    assert not_allowed(calls, policy_actions(policy)) == ["sagemaker:DeleteTrainingJob"]
