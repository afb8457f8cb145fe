"""The stand-in's Bedrock custom models, deployments and provisioned throughput, over HTTP with boto3."""

from __future__ import annotations

import re
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

ROLE = "arn:aws:iam::123456789012:role/BedrockImportRole"
SOURCE = "s3://my-bucket/checkpoints/job-a/"
MODEL_ARN = re.compile(r"arn:aws:bedrock:us-east-1:123456789012:custom-model/imported/[a-z0-9]{12}")
ISO = re.compile(
    rb'"(creationTime|createdAt|lastUpdatedAt|lastModifiedTime)": "\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"'
)


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(sandbox.bedrock, "clock", clock)
    return clock


@pytest.fixture
def bedrock(account: dict[str, str], clock: Clock) -> Any:
    s3 = boto3.client("s3", endpoint_url=account["endpoint_url"], region_name="us-east-1")
    s3.put_object(Bucket="my-bucket", Key="checkpoints/job-a/model_info.json", Body=b"{}")
    return boto3.client("bedrock", endpoint_url=account["endpoint_url"], region_name="us-east-1")


def create_model(bedrock: Any, name: str = "model-a", source: str = SOURCE, **extra: Any) -> str:
    arn: str = bedrock.create_custom_model(
        modelName=name, roleArn=ROLE, modelSourceConfig={"s3DataSource": {"s3Uri": source}}, **extra
    )["modelArn"]
    return arn


def active_model(bedrock: Any, control: Any, name: str = "model-a") -> str:
    arn = create_model(bedrock, name)
    assert control.bedrock_ready(arn) == "Active"
    return arn


def error_of(call: Any, **kwargs: Any) -> tuple[str, int, str]:
    with pytest.raises(ClientError) as err:
        call(**kwargs)
    response = err.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Message"]


def test_custom_model_goes_creating_then_active(bedrock: Any, clock: Clock, sandbox: Any) -> None:
    response = bedrock.create_custom_model(
        modelName="model-a",
        roleArn=ROLE,
        modelSourceConfig={"s3DataSource": {"s3Uri": SOURCE}},
        modelTags=[{"key": "nova:base-model", "value": "amazon.nova-lite-v1:0:300k"}],
    )
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 202
    arn = response["modelArn"]
    assert MODEL_ARN.fullmatch(arn)
    model = bedrock.get_custom_model(modelIdentifier=arn)
    assert (model["modelName"], model["modelStatus"], model["customizationType"]) == ("model-a", "Creating", "IMPORTED")
    assert model["baseModelArn"] == "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0:300k"
    clock.now += sandbox.bedrock.ready_seconds
    assert bedrock.get_custom_model(modelIdentifier="model-a")["modelStatus"] == "Active"


def test_custom_model_without_artifacts_fails(bedrock: Any, control: Any) -> None:
    arn = create_model(bedrock, "empty", "s3://my-bucket/checkpoints/nothing-here/")
    assert control.bedrock_ready(arn) == "Failed"
    model = bedrock.get_custom_model(modelIdentifier=arn)
    assert model["modelStatus"] == "Failed"
    assert "s3://my-bucket/checkpoints/nothing-here/" in model["failureMessage"]


def test_timestamps_are_iso_8601_on_the_wire(bedrock: Any, control: Any) -> None:
    bodies: dict[str, bytes] = {}

    def record(http_response: Any, model: Any, **_: Any) -> None:
        bodies[model.name] = http_response.content

    bedrock.meta.events.register("after-call.bedrock", record)
    arn = active_model(bedrock, control)
    bedrock.get_custom_model(modelIdentifier=arn)
    bedrock.list_custom_models()
    bedrock.create_custom_model_deployment(modelDeploymentName="dep-a", modelArn=arn)
    bedrock.get_custom_model_deployment(customModelDeploymentIdentifier="dep-a")
    bedrock.list_custom_model_deployments()
    bedrock.create_provisioned_model_throughput(modelUnits=1, provisionedModelName="pt-a", modelId=arn)
    bedrock.get_provisioned_model_throughput(provisionedModelId="pt-a")
    bedrock.list_provisioned_model_throughputs()
    readers = [name for name in bodies if name.startswith(("Get", "List"))]
    assert len(readers) == 6
    for name in readers:
        assert ISO.search(bodies[name]), name


@pytest.mark.parametrize(
    ("kwargs", "member"),
    [
        ({"modelName": "bad name"}, "modelName"),
        ({"modelName": "a" * 64}, "modelName"),
        ({"roleArn": "NovaRole"}, "roleArn"),
        ({"modelSourceConfig": {"s3DataSource": {"s3Uri": "s3://my-bucket/a b/"}}}, "s3Uri"),
    ],
)
def test_create_custom_model_validation(bedrock: Any, kwargs: dict[str, Any], member: str) -> None:
    request = {"modelName": "ok", "roleArn": ROLE, "modelSourceConfig": {"s3DataSource": {"s3Uri": SOURCE}}, **kwargs}
    code, status, message = error_of(bedrock.create_custom_model, **request)
    assert (code, status) == ("ValidationException", 400)
    assert member in message


def test_duplicate_names_conflict(bedrock: Any, control: Any) -> None:
    arn = active_model(bedrock, control)
    assert error_of(create_model, bedrock=bedrock, name="model-a")[:2] == ("ConflictException", 400)
    bedrock.create_custom_model_deployment(modelDeploymentName="dep-a", modelArn=arn)
    code, status, _ = error_of(bedrock.create_custom_model_deployment, modelDeploymentName="dep-a", modelArn=arn)
    assert (code, status) == ("ConflictException", 400)


def test_unknown_resources_are_not_found(bedrock: Any) -> None:
    unknown = "arn:aws:bedrock:us-east-1:123456789012:custom-model/imported/abcdefabcdef"
    assert error_of(bedrock.get_custom_model, modelIdentifier=unknown)[:2] == ("ResourceNotFoundException", 404)
    assert error_of(bedrock.get_custom_model_deployment, customModelDeploymentIdentifier="nope")[1] == 404
    assert error_of(bedrock.get_provisioned_model_throughput, provisionedModelId="nope")[1] == 404
    assert error_of(bedrock.delete_custom_model, modelIdentifier="nope")[1] == 404
    code, status, _ = error_of(bedrock.create_custom_model_deployment, modelDeploymentName="d", modelArn=unknown)
    assert (code, status) == ("ResourceNotFoundException", 404)


def test_list_custom_models_filters_sorts_and_pages(bedrock: Any, clock: Clock, control: Any) -> None:
    for i, name in enumerate(["alpha-1", "alpha-2", "beta-1"]):
        clock.now += 1
        arn = create_model(bedrock, name)
        if i == 0:
            control.bedrock_ready(arn)
    names = [m["modelName"] for m in bedrock.list_custom_models()["modelSummaries"]]
    assert names == ["beta-1", "alpha-2", "alpha-1"]
    ascending = bedrock.list_custom_models(sortBy="CreationTime", sortOrder="Ascending")["modelSummaries"]
    assert [m["modelName"] for m in ascending] == ["alpha-1", "alpha-2", "beta-1"]
    assert [m["modelName"] for m in bedrock.list_custom_models(nameContains="alpha")["modelSummaries"]] == [
        "alpha-2",
        "alpha-1",
    ]
    assert [m["modelName"] for m in bedrock.list_custom_models(modelStatus="Active")["modelSummaries"]] == ["alpha-1"]
    page = bedrock.list_custom_models(maxResults=2)
    assert len(page["modelSummaries"]) == 2 and page["nextToken"]
    rest = bedrock.list_custom_models(maxResults=2, nextToken=page["nextToken"])
    assert [m["modelName"] for m in rest["modelSummaries"]] == ["alpha-1"] and "nextToken" not in rest
    summary = bedrock.list_custom_models(nameContains="beta")["modelSummaries"][0]
    assert {"modelArn", "modelName", "creationTime", "baseModelArn", "baseModelName"} <= set(summary)


def test_delete_custom_model(bedrock: Any) -> None:
    arn = create_model(bedrock)
    assert bedrock.delete_custom_model(modelIdentifier=arn)["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert error_of(bedrock.get_custom_model, modelIdentifier=arn)[1] == 404


def test_deployment_lifecycle_filters_and_delete(bedrock: Any, clock: Clock, control: Any, sandbox: Any) -> None:
    creating = create_model(bedrock, "not-yet")
    code, _, message = error_of(bedrock.create_custom_model_deployment, modelDeploymentName="d0", modelArn=creating)
    assert code == "ValidationException" and "Creating" in message
    arn = active_model(bedrock, control)
    created = bedrock.create_custom_model_deployment(modelDeploymentName="dep-a", modelArn=arn, description="first")
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 202
    dep_arn = created["customModelDeploymentArn"]
    assert re.fullmatch(r"arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/[a-z0-9]{12}", dep_arn)
    got = bedrock.get_custom_model_deployment(customModelDeploymentIdentifier=dep_arn)
    assert (got["modelDeploymentName"], got["modelArn"], got["status"], got["description"]) == (
        "dep-a",
        arn,
        "Creating",
        "first",
    )
    clock.now += sandbox.bedrock.ready_seconds
    assert bedrock.get_custom_model_deployment(customModelDeploymentIdentifier="dep-a")["status"] == "Active"
    other = bedrock.create_custom_model_deployment(modelDeploymentName="dep-b", modelArn=arn)
    control.bedrock_fail(other["customModelDeploymentArn"], "no capacity")
    failed = bedrock.get_custom_model_deployment(customModelDeploymentIdentifier="dep-b")
    assert (failed["status"], failed["failureMessage"]) == ("Failed", "no capacity")

    def names(**kwargs: Any) -> list[str]:
        rows = bedrock.list_custom_model_deployments(**kwargs)["modelDeploymentSummaries"]
        return sorted(r["customModelDeploymentName"] for r in rows)

    assert names() == ["dep-a", "dep-b"]
    assert names(nameContains="dep-a") == ["dep-a"]
    assert names(statusEquals="Failed") == ["dep-b"]
    assert names(modelArnEquals=arn) == ["dep-a", "dep-b"]
    assert names(modelArnEquals=creating) == []
    bedrock.delete_custom_model_deployment(customModelDeploymentIdentifier=dep_arn)
    assert names() == ["dep-b"]


def test_client_request_token_makes_create_idempotent(bedrock: Any, control: Any) -> None:
    arn = active_model(bedrock, control)
    first = bedrock.create_custom_model_deployment(modelDeploymentName="d", modelArn=arn, clientRequestToken="t-1")
    again = bedrock.create_custom_model_deployment(modelDeploymentName="d", modelArn=arn, clientRequestToken="t-1")
    assert first["customModelDeploymentArn"] == again["customModelDeploymentArn"]
    pt = bedrock.create_provisioned_model_throughput(modelUnits=1, provisionedModelName="p", modelId=arn, clientRequestToken="t-2")  # fmt: skip
    pt_again = bedrock.create_provisioned_model_throughput(modelUnits=1, provisionedModelName="p", modelId=arn, clientRequestToken="t-2")  # fmt: skip
    assert pt["provisionedModelArn"] == pt_again["provisionedModelArn"]
    assert len(bedrock.list_provisioned_model_throughputs()["provisionedModelSummaries"]) == 1


def test_provisioned_throughput_lifecycle(bedrock: Any, clock: Clock, control: Any, sandbox: Any) -> None:
    arn = active_model(bedrock, control)
    created = bedrock.create_provisioned_model_throughput(modelUnits=2, provisionedModelName="pt-a", modelId="model-a")
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    pt_arn = created["provisionedModelArn"]
    assert re.fullmatch(r"arn:aws:bedrock:us-east-1:123456789012:provisioned-model/[a-z0-9]{12}", pt_arn)
    got = bedrock.get_provisioned_model_throughput(provisionedModelId=pt_arn)
    assert (got["status"], got["modelUnits"], got["desiredModelUnits"], got["modelArn"]) == ("Creating", 2, 2, arn)
    assert got["foundationModelArn"].startswith("arn:aws:bedrock:us-east-1::foundation-model/amazon.nova")
    clock.now += sandbox.bedrock.ready_seconds
    assert bedrock.get_provisioned_model_throughput(provisionedModelId="pt-a")["status"] == "InService"
    rows = bedrock.list_provisioned_model_throughputs(statusEquals="InService", nameContains="pt")
    assert [r["provisionedModelArn"] for r in rows["provisionedModelSummaries"]] == [pt_arn]
    assert bedrock.list_provisioned_model_throughputs(statusEquals="Creating")["provisionedModelSummaries"] == []
    bedrock.delete_provisioned_model_throughput(provisionedModelId=pt_arn)
    assert error_of(bedrock.get_provisioned_model_throughput, provisionedModelId=pt_arn)[1] == 404


def test_provisioned_throughput_needs_positive_units(account: dict[str, str], bedrock: Any, control: Any) -> None:
    arn = active_model(bedrock, control)
    unchecked = boto3.client(
        "bedrock",
        endpoint_url=account["endpoint_url"],
        region_name="us-east-1",
        config=Config(parameter_validation=False),
    )
    code, status, message = error_of(
        unchecked.create_provisioned_model_throughput, modelUnits=0, provisionedModelName="p", modelId=arn
    )
    assert (code, status) == ("ValidationException", 400) and "modelUnits" in message


def test_regions_are_separate(account: dict[str, str], bedrock: Any) -> None:
    create_model(bedrock)
    west = boto3.client("bedrock", endpoint_url=account["endpoint_url"], region_name="us-west-2")
    assert west.list_custom_models()["modelSummaries"] == []
    assert error_of(west.get_custom_model, modelIdentifier="model-a")[1] == 404


def test_control_routes_and_reset(bedrock: Any, control: Any, sandbox: Any) -> None:
    arn = create_model(bedrock)
    with pytest.raises(Exception, match="404"):
        control.bedrock_ready("arn:aws:bedrock:us-east-1:123456789012:custom-model/imported/000000000000")
    control.bedrock_fail(arn, "broken on purpose")
    with pytest.raises(Exception, match="400"):
        control.bedrock_ready(arn)  # already Failed
    control.set_bedrock_seconds(1234)
    assert sandbox.bedrock.ready_seconds == 1234
    control.reset()
    assert bedrock.list_custom_models()["modelSummaries"] == []
    assert sandbox.bedrock.ready_seconds == sandbox.bedrock.default_ready_seconds


def test_other_requests_pass_through_to_moto(bedrock: Any, account: dict[str, str]) -> None:
    assert bedrock.list_model_customization_jobs()["modelCustomizationJobSummaries"] == []
    s3 = boto3.client("s3", endpoint_url=account["endpoint_url"], region_name="us-east-1")
    assert "my-bucket" in [b["Name"] for b in s3.list_buckets()["Buckets"]]
