"""The stand-in answers SageMaker HyperPod cluster calls and EKS DescribeCluster as AWS does, over HTTP."""

from __future__ import annotations

import base64
import re
import urllib.error
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

ROLE = "arn:aws:iam::123456789012:role/HyperPodNodes"
PEM = b"-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ2Vy\n-----END CERTIFICATE-----\n"
SAGEMAKER = botocore.session.get_session().get_service_model("sagemaker")
NODE_ID = re.compile(SAGEMAKER.shape_for("ClusterNodeId").metadata["pattern"])
CLUSTER_ARN = re.compile(SAGEMAKER.shape_for("ClusterArn").metadata["pattern"])


def client(service: str, account: dict[str, str], region: str = "us-east-1") -> Any:
    config = Config(retries={"mode": "standard", "total_max_attempts": 1})
    return boto3.client(service, endpoint_url=account["endpoint_url"], region_name=region, config=config)


@pytest.fixture
def sm(account: dict[str, str]) -> Any:
    return client("sagemaker", account)


@pytest.fixture
def eks(account: dict[str, str]) -> Any:
    return client("eks", account)


def create_eks(eks: Any, name: str = "nova-eks") -> str:
    cluster = eks.create_cluster(name=name, roleArn=ROLE, resourcesVpcConfig={"subnetIds": ["subnet-0a1b2c3d"]})
    return str(cluster["cluster"]["arn"])


def restricted(name: str = "nova-p5", count: int = 4, instance_type: str = "ml.p5.48xlarge") -> dict[str, Any]:
    return {"InstanceGroupName": name, "InstanceType": instance_type, "InstanceCount": count, "ExecutionRole": ROLE}


def create_hyperpod(sm: Any, eks_arn: str, name: str = "nova-hp", **extra: Any) -> str:
    groups = extra.pop("RestrictedInstanceGroups", [restricted()])
    answer = sm.create_cluster(
        ClusterName=name,
        Orchestrator={"Eks": {"ClusterArn": eks_arn}},
        RestrictedInstanceGroups=groups,
        VpcConfig={"SecurityGroupIds": ["sg-0a1b2c3d"], "Subnets": ["subnet-0a1b2c3d"]},
        **extra,
    )
    return str(answer["ClusterArn"])


def all_nodes(sm: Any, cluster: str, **request: Any) -> list[dict[str, Any]]:
    nodes, token = [], None
    while True:
        page = sm.list_cluster_nodes(ClusterName=cluster, **request, **({"NextToken": token} if token else {}))
        nodes += page["ClusterNodeSummaries"]
        token = page.get("NextToken")
        if not token:
            return nodes


def test_a_cluster_with_a_restricted_group_keeps_its_orchestrator_and_groups(sm: Any, eks: Any) -> None:
    eks_arn = create_eks(eks)
    arn = create_hyperpod(sm, eks_arn)

    assert CLUSTER_ARN.fullmatch(arn) and arn.startswith("arn:aws:sagemaker:us-east-1:123456789012:cluster/")
    for name_or_arn in ("nova-hp", arn):
        described = sm.describe_cluster(ClusterName=name_or_arn)
        described.pop("ResponseMetadata")
        created = described.pop("CreationTime")
        assert described == {
            "ClusterArn": arn,
            "ClusterName": "nova-hp",
            "ClusterStatus": "InService",
            "InstanceGroups": [],
            "RestrictedInstanceGroups": [
                {
                    "InstanceGroupName": "nova-p5",
                    "InstanceType": "ml.p5.48xlarge",
                    "ExecutionRole": ROLE,
                    "CurrentCount": 4,
                    "TargetCount": 4,
                    "Status": "InService",
                }
            ],
            "Orchestrator": {"Eks": {"ClusterArn": eks_arn}},
            "VpcConfig": {"SecurityGroupIds": ["sg-0a1b2c3d"], "Subnets": ["subnet-0a1b2c3d"]},
        }
        assert created.year >= 2025
    assert [c["ClusterName"] for c in sm.list_clusters()["ClusterSummaries"]] == ["nova-hp"]


def test_each_instance_is_a_running_node_listed_page_by_page(sm: Any, eks: Any) -> None:
    create_hyperpod(sm, create_eks(eks))

    first = sm.list_cluster_nodes(ClusterName="nova-hp", MaxResults=3)
    second = sm.list_cluster_nodes(ClusterName="nova-hp", MaxResults=3, NextToken=first["NextToken"])

    assert len(first["ClusterNodeSummaries"]) == 3 and "NextToken" not in second
    nodes = first["ClusterNodeSummaries"] + second["ClusterNodeSummaries"]
    assert len({n["InstanceId"] for n in nodes}) == 4
    for node in nodes:
        assert NODE_ID.fullmatch(node["InstanceId"]), node["InstanceId"]
        assert node["InstanceGroupName"] == "nova-p5" and node["InstanceType"] == "ml.p5.48xlarge"
        assert node["InstanceStatus"] == {"Status": "Running", "Message": ""}
        assert node["LaunchTime"]
    assert all_nodes(sm, "nova-hp", MaxResults=1) == nodes


def test_nodes_are_selected_by_instance_group_name(sm: Any, eks: Any) -> None:
    groups = [restricted("nova-p5", 2), restricted("nova-g5", 3, "ml.g5.48xlarge")]
    create_hyperpod(sm, create_eks(eks), RestrictedInstanceGroups=groups)

    assert {n["InstanceGroupName"] for n in all_nodes(sm, "nova-hp")} == {"nova-p5", "nova-g5"}
    g5 = all_nodes(sm, "nova-hp", InstanceGroupNameContains="g5")
    assert [n["InstanceType"] for n in g5] == ["ml.g5.48xlarge"] * 3
    by_name = all_nodes(sm, "nova-hp", SortBy="NAME")
    assert [n["InstanceGroupName"] for n in by_name] == ["nova-g5"] * 3 + ["nova-p5"] * 2


def test_a_missing_cluster_is_resource_not_found(sm: Any) -> None:
    for call in (sm.describe_cluster, sm.list_cluster_nodes, sm.delete_cluster):
        with pytest.raises(sm.exceptions.ResourceNotFound) as info:
            call(ClusterName="never-made")
        assert info.value.response["Error"]["Message"] == (
            "Could not find cluster 'arn:aws:sagemaker:us-east-1:123456789012:cluster/never-made'"
        )


def test_a_cluster_lives_in_its_region_and_delete_forgets_it(sm: Any, eks: Any, account: dict[str, str]) -> None:
    arn = create_hyperpod(sm, create_eks(eks))
    with pytest.raises(ClientError, match="ResourceNotFound"):
        client("sagemaker", account, "us-west-2").describe_cluster(ClusterName="nova-hp")

    assert sm.delete_cluster(ClusterName=arn)["ClusterArn"] == arn
    with pytest.raises(sm.exceptions.ResourceNotFound):
        sm.describe_cluster(ClusterName="nova-hp")


@pytest.mark.parametrize(
    ("change", "names"),
    [
        (
            {"Orchestrator": {"Eks": {"ClusterArn": "arn:aws:ecs:us-east-1:123456789012:cluster/nova-eks"}}},
            "clusterArn",
        ),
        ({"Orchestrator": {"Eks": {"ClusterArn": "arn:aws:eks:us-east-1:123456789012:cluster/other"}}}, "other"),
        ({"Orchestrator": None}, "Eks Orchestrator"),
        ({"RestrictedInstanceGroups": [restricted(instance_type="ml.p9.48xlarge")]}, "instanceType"),
        ({"RestrictedInstanceGroups": [restricted(count=7000)]}, "instanceCount"),
        ({"RestrictedInstanceGroups": [restricted(), restricted()]}, "nova-p5"),
        ({"RestrictedInstanceGroups": None}, "at least one instance group"),
        ({"ClusterName": "nova_hp"}, "clusterName"),
    ],
)
def test_a_bad_request_is_refused_before_anything_is_created(
    sm: Any, eks: Any, change: dict[str, Any], names: str
) -> None:
    request = {
        "ClusterName": "nova-hp",
        "Orchestrator": {"Eks": {"ClusterArn": create_eks(eks)}},
        "RestrictedInstanceGroups": [restricted()],
        **change,
    }
    with pytest.raises(ClientError) as info:
        sm.create_cluster(**{k: v for k, v in request.items() if v is not None})

    assert info.value.response["Error"]["Code"] == "ValidationException"
    assert names in info.value.response["Error"]["Message"]
    assert sm.list_clusters()["ClusterSummaries"] == []


def test_a_name_in_use_is_refused(sm: Any, eks: Any) -> None:
    eks_arn = create_eks(eks)
    create_hyperpod(sm, eks_arn)
    with pytest.raises(sm.exceptions.ResourceInUse):
        create_hyperpod(sm, eks_arn)


def test_a_test_can_take_nodes_out_of_running(sm: Any, eks: Any, control: Any) -> None:
    create_hyperpod(sm, create_eks(eks))

    changed = control.set_cluster_node_status("nova-hp", "nova-p5", "Pending", count=2, message="Replacing node")
    nodes = all_nodes(sm, "nova-hp")
    assert [n["InstanceId"] for n in nodes[:2]] == changed
    assert [n["InstanceStatus"] for n in nodes] == [{"Status": "Pending", "Message": "Replacing node"}] * 2 + [
        {"Status": "Running", "Message": ""}
    ] * 2

    assert len(control.set_cluster_node_status("nova-hp", "nova-p5", "Failure")) == 4
    assert {n["InstanceStatus"]["Status"] for n in all_nodes(sm, "nova-hp")} == {"Failure"}


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("nova-hp", "nova-p5", "Sleeping"), 400),
        (("nova-hp", "nova-g5", "Pending"), 400),
        (("nova-hp", "nova-p5", "Pending", 5), 400),
        (("never-made", "nova-p5", "Pending"), 400),
    ],
)
def test_node_status_control_refuses_what_the_cluster_does_not_have(
    sm: Any, eks: Any, control: Any, args: tuple[Any, ...], code: int
) -> None:
    create_hyperpod(sm, create_eks(eks))
    with pytest.raises(urllib.error.HTTPError) as info:
        control.set_cluster_node_status(*args)
    assert info.value.code == code
    assert {n["InstanceStatus"]["Status"] for n in all_nodes(sm, "nova-hp")} == {"Running"}


def test_eks_describe_cluster_answers_the_endpoint_and_ca_a_test_sets(eks: Any, control: Any) -> None:
    create_eks(eks)
    before = eks.describe_cluster(name="nova-eks")["cluster"]
    assert before["status"] == "ACTIVE" and before["endpoint"].startswith("https://") and before["certificateAuthority"]

    ca_data = base64.b64encode(PEM).decode()
    control.set_eks_endpoint("nova-eks", "https://127.0.0.1:6443", ca_data)

    after = eks.describe_cluster(name="nova-eks")["cluster"]
    assert (after["endpoint"], after["certificateAuthority"], after["status"]) == (
        "https://127.0.0.1:6443",
        {"data": ca_data},
        "ACTIVE",
    )


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("never-made", "https://127.0.0.1:6443", base64.b64encode(PEM).decode()), 404),
        (("nova-eks", "127.0.0.1:6443", base64.b64encode(PEM).decode()), 400),
        (("nova-eks", "https://127.0.0.1:6443", PEM.decode()), 400),
        (("nova-eks", "https://127.0.0.1:6443", base64.b64encode(PEM).decode(), "us-west-2"), 404),
    ],
)
def test_set_eks_endpoint_refuses_a_missing_cluster_or_a_bad_ca(
    eks: Any, control: Any, args: tuple[Any, ...], code: int
) -> None:
    create_eks(eks)
    with pytest.raises(urllib.error.HTTPError) as info:
        control.set_eks_endpoint(*args)
    assert info.value.code == code


def test_reset_forgets_hyperpod_and_eks_clusters(sm: Any, eks: Any, control: Any) -> None:
    create_hyperpod(sm, create_eks(eks))
    control.reset()
    with pytest.raises(sm.exceptions.ResourceNotFound):
        sm.describe_cluster(ClusterName="nova-hp")
    with pytest.raises(eks.exceptions.ResourceNotFoundException):
        eks.describe_cluster(name="nova-eks")
    assert sm.list_clusters()["ClusterSummaries"] == []
