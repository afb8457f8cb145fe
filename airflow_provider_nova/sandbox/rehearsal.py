"""Set up the stand-in's account the way a real one would be: a bucket, data and a role to run as."""

from __future__ import annotations

import json
import os
from typing import Any

SAGEMAKER_TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)

SAMPLE_SFT_ROWS = [
    {
        "schemaVersion": "bedrock-conversation-2024",
        "system": [{"text": "You are a helpful support agent."}],
        "messages": [
            {"role": "user", "content": [{"text": f"How do I reset my password? (ticket {i})"}]},
            {"role": "assistant", "content": [{"text": "Open Settings, choose Security, then Reset password."}]},
        ],
    }
    for i in range(20)
]
# RFT rows (Nova 2 Lite): OpenAI-style messages and the reference answer the reward function compares with.
SAMPLE_RFT_ROWS = [
    {
        "id": f"math-{i}",
        "messages": [
            {"role": "system", "content": "You are a math tutor."},
            {"role": "user", "content": f"Solve 2x + {i} = {i + 8}."},
        ],
        "reference_answer": {"solution": "x = 4"},
    }
    for i in range(20)
]
# gen_qa rows: what batch inference and bring-your-own-data evaluation read.
SAMPLE_GEN_QA_ROWS = [
    {"system": "Answer briefly.", "query": f"What is {i} + {i}?", "response": str(2 * i)} for i in range(20)
]


# The raw support conversations the weekly retraining DAG prepares (question/answer rows).
SUPPORT_CONVERSATIONS = [
    {"question": f"How do I reset my password ({n})?", "answer": f"Open Settings, then Security ({n})."}
    for n in range(12)
]


def seed_inputs(endpoint_url: str, bucket: str = "my-bucket", region: str = "us-east-1") -> None:
    """What the weekly retraining DAG reads: raw conversations and the prompts its batch inference answers.

    ``s3://<bucket>/raw/support-conversations.jsonl`` and ``s3://<bucket>/nova/batch/prompts.jsonl``;
    the bucket is created when missing.
    """
    put_jsonl(endpoint_url, f"s3://{bucket}/raw/support-conversations.jsonl", SUPPORT_CONVERSATIONS, region)
    put_jsonl(endpoint_url, f"s3://{bucket}/nova/batch/prompts.jsonl", SAMPLE_GEN_QA_ROWS, region)


def create_role(endpoint_url: str, role_name: str, region: str = "us-east-1") -> str:
    """Create an IAM role SageMaker may assume (once); return its ARN."""
    import boto3

    iam = boto3.client("iam", endpoint_url=endpoint_url, region_name=region)
    try:
        arn: str = iam.get_role(RoleName=role_name)["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        arn = iam.create_role(RoleName=role_name, Path="/service-role/", AssumeRolePolicyDocument=SAGEMAKER_TRUST)[
            "Role"
        ]["Arn"]
    return arn


def assume_role_env(endpoint_url: str, role_arn: str, region: str = "us-east-1") -> dict[str, str]:
    """Credentials of ``role_arn`` as environment variables, as a notebook or Airflow worker role has them."""
    import boto3

    sts = boto3.client("sts", endpoint_url=endpoint_url, region_name=region)
    creds: dict[str, Any] = sts.assume_role(RoleArn=role_arn, RoleSessionName="nova-rehearsal")["Credentials"]
    return {
        "AWS_ACCESS_KEY_ID": creds["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"],
        "AWS_SESSION_TOKEN": creds["SessionToken"],
    }


def put_jsonl(endpoint_url: str, uri: str, rows: list[dict[str, Any]], region: str = "us-east-1") -> None:
    """Write ``rows`` as JSON Lines to ``uri``, creating the bucket when missing."""
    import boto3

    s3 = boto3.client("s3", endpoint_url=endpoint_url, region_name=region)
    bucket, _, key = uri[5:].partition("/")
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    if bucket not in existing:
        s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key=key, Body="".join(json.dumps(r) + "\n" for r in rows).encode())


def use_stand_in(endpoint_url: str, region: str = "us-east-1") -> None:
    """Point this process's boto3 at the stand-in, with throw-away credentials (never real ones)."""
    os.environ.update(
        {
            "AWS_ENDPOINT_URL": endpoint_url,
            "AWS_DEFAULT_REGION": region,
            "AWS_ACCESS_KEY_ID": "sandbox",
            "AWS_SECRET_ACCESS_KEY": "sandbox",
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
        }
    )
    os.environ.pop("AWS_SESSION_TOKEN", None)
    os.environ.pop("AWS_PROFILE", None)


def airflow_connection(endpoint_url: str, credentials: dict[str, str], region: str = "us-east-1") -> dict[str, Any]:
    """An Airflow ``aws`` connection (as ``AIRFLOW_CONN_*`` JSON takes it) to the stand-in, with these credentials.

    :param credentials: ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY`` and ``AWS_SESSION_TOKEN``.
    """
    return {
        "conn_type": "aws",
        "login": credentials["AWS_ACCESS_KEY_ID"],
        "password": credentials["AWS_SECRET_ACCESS_KEY"],
        "extra": {
            "aws_session_token": credentials["AWS_SESSION_TOKEN"],
            "region_name": region,
            "endpoint_url": endpoint_url,
        },
    }


def make_hyperpod_cluster(
    endpoint_url: str,
    role_arn: str,
    control: Any,
    kube: Any,
    *,
    cluster_name: str = "nova-hp",
    group: str = "nova-p5",
    instance_type: str = "ml.p5.48xlarge",
    instance_count: int = 4,
    namespace: str = "nova-jobs",
    region: str = "us-east-1",
) -> dict[str, Any]:
    """Create an EKS-orchestrated HyperPod cluster in the stand-in whose EKS API is ``kube`` (an emulator).

    The EKS cluster takes the emulator's ``cluster_name``; the HyperPod cluster has one restricted
    instance group of ``instance_count`` x ``instance_type``; ``namespace`` is created in the emulator.

    :param control: the stand-in's ``SandboxControl`` (it points the EKS cluster's endpoint and CA at ``kube``).
    :param kube: a started ``KubeEmulator``.
    :returns: ``cluster_name``, ``namespace``, ``group`` and the EKS cluster's ARN as ``eks_arn``.
    """
    import boto3

    eks = boto3.client("eks", endpoint_url=endpoint_url, region_name=region)
    arn: str = eks.create_cluster(
        name=kube.cluster_name, roleArn=role_arn, resourcesVpcConfig={"subnetIds": ["subnet-0a1b2c3d"]}
    )["cluster"]["arn"]
    boto3.client("sagemaker", endpoint_url=endpoint_url, region_name=region).create_cluster(
        ClusterName=cluster_name,
        Orchestrator={"Eks": {"ClusterArn": arn}},
        RestrictedInstanceGroups=[
            {
                "InstanceGroupName": group,
                "InstanceType": instance_type,
                "InstanceCount": instance_count,
                "ExecutionRole": role_arn,
            }
        ],
    )
    control.set_eks_endpoint(kube.cluster_name, kube.url, kube.ca_data)
    kube.add_namespace(namespace)
    return {"cluster_name": cluster_name, "namespace": namespace, "group": group, "eks_arn": arn}
