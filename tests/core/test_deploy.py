"""Bedrock deployment against the stand-in over HTTP: OD and PT, retries, partial failures, bad input."""

from __future__ import annotations

import json
import pickle
import re
import socket
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError

from airflow_provider_nova.core import AwsCallError, AwsClients, ConfigurationError, DeployPlatform, JobStatus, Model
from airflow_provider_nova.core.deploy import (
    NAME_PATTERN,
    BedrockDeployer,
    DeploymentError,
    DeploymentResult,
    Started,
    default_names,
)

ESCROW = "customer-escrow-123456789012-smtj-us-east-1"
CHECKPOINT = f"s3://{ESCROW}/my-sft-job/1700000000/"
BEDROCK_TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "bedrock.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)
OD, PT = DeployPlatform.BEDROCK_OD, DeployPlatform.BEDROCK_PT


class Recorder:
    """Every Bedrock operation sent, with its parameters."""

    def __init__(self, clients: AwsClients) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        clients.bedrock.meta.events.register("before-parameter-build.bedrock", self._record)

    def _record(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        self.calls.append((model.name, dict(params)))

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]

    def params(self, operation: str) -> list[dict[str, Any]]:
        return [params for name, params in self.calls if name == operation]


@pytest.fixture
def clients(account: dict[str, str]) -> AwsClients:
    return AwsClients(region_name="us-east-1", endpoint_url=account["endpoint_url"])


@pytest.fixture
def fake(sandbox: Any, monkeypatch: pytest.MonkeyPatch, fake_time: Any) -> Any:
    monkeypatch.setattr(sandbox.bedrock, "clock", fake_time.clock)
    return fake_time


@pytest.fixture
def role(clients: AwsClients) -> str:
    arn: str = clients.iam.create_role(RoleName="BedrockImportRole", AssumeRolePolicyDocument=BEDROCK_TRUST)["Role"][
        "Arn"
    ]
    return arn


@pytest.fixture
def checkpoint(clients: AwsClients) -> str:
    clients.s3.create_bucket(Bucket=ESCROW)
    clients.s3.put_object(Bucket=ESCROW, Key="my-sft-job/1700000000/model_info.json", Body=b"{}")
    return CHECKPOINT


@pytest.fixture
def deployer(clients: AwsClients, fake: Any) -> BedrockDeployer:
    return BedrockDeployer(clients, poll_seconds=10, timeout_seconds=600, sleep=fake.sleep, clock=fake.clock)


@pytest.fixture
def recorder(clients: AwsClients) -> Recorder:
    return Recorder(clients)


def test_on_demand_deploy_reaches_active(
    deployer: BedrockDeployer, clients: AwsClients, role: str, checkpoint: str, recorder: Recorder, fake: Any
) -> None:
    result = deployer.deploy(Model.NOVA_MICRO, checkpoint, OD, endpoint_name="my-custom-nova-model", role_arn=role)

    assert result.status == "Active"
    assert result.platform is OD and result.endpoint.platform is OD
    assert result.endpoint_name == result.endpoint.endpoint_name == "my-custom-nova-model"
    assert re.fullmatch(r"arn:aws:bedrock:us-east-1:123456789012:custom-model/imported/[a-z0-9]{12}", result.uri)
    assert re.fullmatch(r"arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/[a-z0-9]{12}", result.endpoint.uri)  # fmt: skip
    assert result.created == [result.uri, result.endpoint.uri] and result.reused == []
    assert result.model_artifact_path == result.endpoint.model_artifact_path == checkpoint
    assert fake.sleeps, "the deployer polled while the model was Creating"
    deployment = clients.bedrock.get_custom_model_deployment(customModelDeploymentIdentifier=result.endpoint.uri)
    assert deployment["status"] == "Active" and deployment["modelArn"] == result.uri
    assert result.created_at == deployment["createdAt"]
    assert DeploymentResult.model_validate_json(result.model_dump_json()) == result
    assert result.model_dump(mode="json")["platform"] == "bedrock_od"


def test_requests_are_the_public_sdks(
    deployer: BedrockDeployer, role: str, checkpoint: str, recorder: Recorder
) -> None:
    result = deployer.deploy(Model.NOVA_LITE, checkpoint, OD, role_arn=role)

    (create,) = recorder.params("CreateCustomModel")
    model_name, endpoint_name = default_names(Model.NOVA_LITE, checkpoint, OD)
    token = create.pop("clientRequestToken")
    assert create == {
        "modelName": model_name,
        "roleArn": role,
        "modelSourceConfig": {"s3DataSource": {"s3Uri": checkpoint}},
        "modelTags": [{"key": "nova:base-model", "value": "amazon.nova-lite-v1:0:300k"}],
    }
    assert re.fullmatch(r"[a-zA-Z0-9]([-a-zA-Z0-9]{0,254}[a-zA-Z0-9])?", token)  # botocore's IdempotencyToken
    (deployment,) = recorder.params("CreateCustomModelDeployment")
    assert set(deployment) == {"modelDeploymentName", "modelArn", "clientRequestToken"}
    assert deployment["modelDeploymentName"] == endpoint_name == result.endpoint_name
    assert deployment["modelArn"] == result.uri and deployment["clientRequestToken"] != token
    # each create is preceded by a look-up of its name, so a retry finds what an earlier attempt made
    names = recorder.names()
    assert recorder.params("GetCustomModel")[0] == {"modelIdentifier": model_name}
    assert names.index("GetCustomModel") < names.index("CreateCustomModel")
    assert recorder.params("GetCustomModelDeployment")[0] == {"customModelDeploymentIdentifier": endpoint_name}
    assert names.index("GetCustomModelDeployment") < names.index("CreateCustomModelDeployment")


def test_provisioned_throughput_reaches_in_service(
    deployer: BedrockDeployer, clients: AwsClients, role: str, checkpoint: str, recorder: Recorder
) -> None:
    result = deployer.deploy(Model.NOVA_PRO, checkpoint, PT, pt_units=2, endpoint_name="nova-pro-pt", role_arn=role)

    assert result.status == "InService" and result.platform is PT
    assert re.fullmatch(r"arn:aws:bedrock:us-east-1:123456789012:provisioned-model/[a-z0-9]{12}", result.endpoint.uri)
    (create,) = recorder.params("CreateProvisionedModelThroughput")
    assert set(create) == {"modelUnits", "provisionedModelName", "modelId", "clientRequestToken"}
    assert (create["modelUnits"], create["provisionedModelName"], create["modelId"]) == (2, "nova-pro-pt", result.uri)
    throughput = clients.bedrock.get_provisioned_model_throughput(provisionedModelId=result.endpoint.uri)
    assert throughput["status"] == "InService" and throughput["modelUnits"] == 2
    assert result.created == [result.uri, result.endpoint.uri]


def test_spec_example_deploys(deployer: BedrockDeployer, clients: AwsClients, role: str) -> None:
    clients.s3.create_bucket(Bucket="escrow-bucket")
    clients.s3.put_object(Bucket="escrow-bucket", Key="my-model-artifacts/model_info.json", Body=b"{}")
    deployment = deployer.deploy(
        Model.NOVA_MICRO,
        model_artifact_path="s3://escrow-bucket/my-model-artifacts/",
        deploy_platform=DeployPlatform.BEDROCK_OD,
        endpoint_name="my-custom-nova-model",
        role_arn=role,
    )
    assert deployment.endpoint.uri.startswith("arn:aws:bedrock:")
    assert deployment.endpoint.endpoint_name == "my-custom-nova-model"


def test_retry_reuses_what_exists(
    deployer: BedrockDeployer, clients: AwsClients, role: str, checkpoint: str, recorder: Recorder
) -> None:
    first = deployer.deploy(Model.NOVA_MICRO, checkpoint, OD, role_arn=role)
    calls_before = len(recorder.calls)
    second = deployer.deploy(Model.NOVA_MICRO, checkpoint, OD, role_arn=role)

    assert (second.uri, second.endpoint.uri, second.endpoint_name) == (
        first.uri,
        first.endpoint.uri,
        first.endpoint_name,
    )
    assert second.created == [] and second.reused == [first.uri, first.endpoint.uri]
    assert not [n for n, _ in recorder.calls[calls_before:] if n.startswith("Create")]
    assert len(clients.bedrock.list_custom_models()["modelSummaries"]) == 1
    assert len(clients.bedrock.list_custom_model_deployments()["modelDeploymentSummaries"]) == 1


def test_retry_of_provisioned_throughput_creates_it_once(
    deployer: BedrockDeployer, clients: AwsClients, role: str, checkpoint: str
) -> None:
    first = deployer.deploy(Model.NOVA_MICRO, checkpoint, PT, pt_units=1, role_arn=role)
    second = deployer.deploy(Model.NOVA_MICRO, checkpoint, PT, pt_units=1, role_arn=role)
    assert second.endpoint.uri == first.endpoint.uri and second.created == []
    assert len(clients.bedrock.list_provisioned_model_throughputs()["provisionedModelSummaries"]) == 1


def test_od_and_pt_of_one_checkpoint_share_the_custom_model(
    deployer: BedrockDeployer, clients: AwsClients, role: str, checkpoint: str
) -> None:
    od = deployer.deploy(Model.NOVA_MICRO, checkpoint, OD, role_arn=role)
    pt = deployer.deploy(Model.NOVA_MICRO, checkpoint, PT, pt_units=1, role_arn=role)
    assert od.uri == pt.uri and od.endpoint_name != pt.endpoint_name
    assert pt.created == [pt.endpoint.uri] and pt.reused == [od.uri]


def test_pt_reuse_with_other_units_is_refused(deployer: BedrockDeployer, role: str, checkpoint: str) -> None:
    deployer.deploy(Model.NOVA_MICRO, checkpoint, PT, pt_units=1, endpoint_name="pt-a", role_arn=role)
    with pytest.raises(DeploymentError, match="exists with 1 model units, not the 3 asked"):
        deployer.deploy(Model.NOVA_MICRO, checkpoint, PT, pt_units=3, endpoint_name="pt-a", role_arn=role)


def test_endpoint_name_of_another_models_deployment_is_refused(
    deployer: BedrockDeployer, clients: AwsClients, role: str, checkpoint: str
) -> None:
    other = CHECKPOINT + "other/"
    clients.s3.put_object(Bucket=ESCROW, Key=other[len(f"s3://{ESCROW}/") :] + "w.bin", Body=b"x")
    deployer.deploy(Model.NOVA_MICRO, checkpoint, OD, endpoint_name="shared-name", role_arn=role)
    with pytest.raises(
        DeploymentError, match=r"'shared-name' is already used by .* choose another endpoint_name"
    ) as err:
        deployer.deploy(Model.NOVA_MICRO, other, OD, endpoint_name="shared-name", role_arn=role)
    assert len(err.value.created) == 1 and "custom-model/" in err.value.created[0]


def test_failed_custom_model_reports_what_was_created(
    deployer: BedrockDeployer, clients: AwsClients, role: str
) -> None:
    clients.s3.create_bucket(Bucket=ESCROW)  # the bucket exists, the checkpoint does not
    with pytest.raises(DeploymentError) as err:
        deployer.deploy(Model.NOVA_MICRO, CHECKPOINT, OD, role_arn=role)

    (model_arn,) = err.value.created
    assert err.value.failed_arn == model_arn and err.value.reused == []
    assert "Model artifacts were not found" in (err.value.reason or "")
    assert model_arn in str(err.value) and "may be billed until deleted" in str(err.value)
    assert clients.bedrock.list_custom_model_deployments()["modelDeploymentSummaries"] == []


def model_arns(clients: AwsClients) -> list[str]:
    return [row["modelArn"] for row in clients.bedrock.list_custom_models()["modelSummaries"]]


def test_retry_replaces_a_failed_model_of_a_generated_name(
    deployer: BedrockDeployer, clients: AwsClients, role: str, recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    clients.s3.create_bucket(Bucket=ESCROW)
    with pytest.raises(DeploymentError) as err:
        deployer.deploy(Model.NOVA_MICRO, CHECKPOINT, OD, role_arn=role)
    (failed,) = err.value.created
    clients.s3.put_object(Bucket=ESCROW, Key="my-sft-job/1700000000/model_info.json", Body=b"{}")  # fixed

    result = deployer.deploy(Model.NOVA_MICRO, CHECKPOINT, OD, role_arn=role)  # a plain retry

    assert result.status == "Active" and result.uri != failed
    assert result.created == [result.uri, result.endpoint.uri] and result.reused == []
    assert model_arns(clients) == [result.uri], "the failed model was deleted, one model exists"
    assert recorder.params("DeleteCustomModel") == [{"modelIdentifier": failed}]
    first, second = recorder.params("CreateCustomModel")
    assert first["modelName"] == second["modelName"] == default_names(Model.NOVA_MICRO, CHECKPOINT, OD)[0]
    assert first["clientRequestToken"] != second["clientRequestToken"], "a new create, not a replay of the first"
    assert f"Deleted the custom model {failed}" in caplog.text


def test_failed_model_of_a_given_name_is_reported_with_its_delete_command(
    deployer: BedrockDeployer, clients: AwsClients, role: str, recorder: Recorder
) -> None:
    clients.s3.create_bucket(Bucket=ESCROW)
    with pytest.raises(DeploymentError) as err:
        deployer.deploy(Model.NOVA_MICRO, CHECKPOINT, OD, role_arn=role, model_name="my-model")
    (failed,) = err.value.created
    clients.s3.put_object(Bucket=ESCROW, Key="my-sft-job/1700000000/model_info.json", Body=b"{}")

    with pytest.raises(DeploymentError, match=r"under the model_name you gave failed in an earlier attempt") as again:
        deployer.deploy(Model.NOVA_MICRO, CHECKPOINT, OD, role_arn=role, model_name="my-model")
    assert f"delete it (aws bedrock delete-custom-model --model-identifier {failed}) and retry" in str(again.value)
    assert "Model artifacts were not found" in str(again.value) and again.value.failed_arn == failed
    assert again.value.created == [] and again.value.reused == [failed]
    assert model_arns(clients) == [failed] and recorder.params("DeleteCustomModel") == []

    clients.bedrock.delete_custom_model(modelIdentifier=failed)  # what the error says to do
    result = deployer.deploy(Model.NOVA_MICRO, CHECKPOINT, OD, role_arn=role, model_name="my-model")
    assert result.status == "Active" and model_arns(clients) == [result.uri] != [failed]


def test_failed_deployment_lists_the_model_it_created(
    deployer: BedrockDeployer, clients: AwsClients, control: Any, role: str, checkpoint: str, fake: Any
) -> None:
    def fail_creating_deployments() -> None:
        for row in clients.bedrock.list_custom_model_deployments(statusEquals="Creating")["modelDeploymentSummaries"]:
            control.bedrock_fail(row["customModelDeploymentArn"], "InsufficientCapacity: no capacity for this model")

    control.set_bedrock_seconds(15)  # longer than a poll, so the hook sees the deployment Creating
    fake.hooks.append(fail_creating_deployments)
    with pytest.raises(DeploymentError, match="InsufficientCapacity") as err:
        deployer.deploy(Model.NOVA_MICRO, checkpoint, OD, role_arn=role)

    model_arn, deployment_arn = err.value.created
    assert "custom-model/" in model_arn and err.value.failed_arn == deployment_arn
    assert model_arn in str(err.value) and deployment_arn in str(err.value)


def test_timeout_reports_what_exists(clients: AwsClients, control: Any, role: str, checkpoint: str, fake: Any) -> None:
    control.set_bedrock_seconds(3600)
    deployer = BedrockDeployer(clients, poll_seconds=10, timeout_seconds=30, sleep=fake.sleep, clock=fake.clock)
    with pytest.raises(DeploymentError, match=r"timed out after 30 s waiting for .* to become Active") as err:
        deployer.deploy(Model.NOVA_MICRO, checkpoint, OD, role_arn=role)
    assert len(err.value.created) == 1 and err.value.failed_arn == err.value.created[0]
    assert sum(fake.sleeps) == 30


def test_aws_error_part_way_is_translated_and_lists_the_model(
    deployer: BedrockDeployer, clients: AwsClients, role: str, checkpoint: str, fake: Any
) -> None:
    def delete_models() -> None:
        for row in clients.bedrock.list_custom_models()["modelSummaries"]:
            clients.bedrock.delete_custom_model(modelIdentifier=row["modelArn"])

    fake.hooks.append(delete_models)
    with pytest.raises(DeploymentError, match=r"GetCustomModel failed \(ResourceNotFoundException\)") as err:
        deployer.deploy(Model.NOVA_MICRO, checkpoint, OD, role_arn=role)
    assert isinstance(err.value.__cause__, AwsCallError)
    assert err.value.__cause__.code == "ResourceNotFoundException"
    assert len(err.value.created) == 1


BAD_INPUT = [
    pytest.param(
        {"deploy_platform": DeployPlatform.SAGEMAKER},
        "SageMaker deployment is not implemented.*BEDROCK_OD.*BEDROCK_PT",
        id="sagemaker",
    ),
    pytest.param({"deploy_platform": PT}, r"pt_units must be a positive integer .* got None", id="pt-without-units"),
    pytest.param({"deploy_platform": PT, "pt_units": 0}, "pt_units must be a positive integer", id="pt-zero-units"),
    pytest.param({"deploy_platform": PT, "pt_units": True}, "pt_units must be a positive integer", id="pt-bool-units"),
    pytest.param({"deploy_platform": PT, "pt_units": "2"}, "pt_units must be a positive integer", id="pt-str-units"),
    pytest.param({"pt_units": 1}, "pt_units applies to DeployPlatform.BEDROCK_PT only", id="od-with-units"),
    pytest.param({"deploy_platform": "bedrock_od"}, "deploy_platform must be DeployPlatform", id="platform-str"),
    pytest.param(
        {"endpoint_name": "my model"},
        r"endpoint_name 'my model' breaks Bedrock's naming rule for modelDeploymentName: 1-63",
        id="space",
    ),
    pytest.param({"endpoint_name": "my.model"}, "naming rule for modelDeploymentName", id="dot"),
    pytest.param({"endpoint_name": "-model"}, "naming rule for modelDeploymentName", id="leading-hyphen"),
    pytest.param({"endpoint_name": "my--model"}, "doubled separators", id="double-hyphen"),
    pytest.param({"endpoint_name": "a" * 64}, "1-63 characters", id="too-long"),
    pytest.param({"endpoint_name": ""}, "naming rule", id="empty"),
    pytest.param(
        {"deploy_platform": PT, "pt_units": 1, "endpoint_name": "a_" * 40},
        "naming rule for provisionedModelName",
        id="pt-name",
    ),
    pytest.param(
        {"model_name": "bad name"}, "model_name 'bad name' breaks Bedrock's naming rule for modelName", id="model-name"
    ),
    pytest.param({"model_artifact_path": "escrow/my-model/"}, "model_artifact_path must be an s3:// URI", id="not-s3"),
    pytest.param({"model_artifact_path": "s3://Bad_Bucket/x/"}, "invalid bucket name", id="bucket"),
    pytest.param({"model_artifact_path": "s3://bucket/a b/"}, "breaks Bedrock's s3Uri rule", id="s3-space"),
    pytest.param({"model_artifact_path": "s3://bucket/a//b"}, "breaks Bedrock's s3Uri rule", id="s3-double-slash"),
    pytest.param({"role_arn": "NovaRole"}, "role_arn 'NovaRole' is not an IAM role ARN", id="role-name"),
    pytest.param({"role_arn": "arn:aws:iam::123456789012:user/me"}, "is not an IAM role ARN", id="user-arn"),
    pytest.param({"model": "NOVA_MICRO"}, "model must be a Model", id="model-str"),
]


@pytest.mark.parametrize(("overrides", "message"), BAD_INPUT)
def test_bad_input_fails_before_any_bedrock_call(
    deployer: BedrockDeployer, recorder: Recorder, overrides: dict[str, Any], message: str
) -> None:
    kwargs: dict[str, Any] = {
        "model": Model.NOVA_MICRO,
        "model_artifact_path": CHECKPOINT,
        "role_arn": "arn:aws:iam::123456789012:role/BedrockImportRole",
        **overrides,
    }
    with pytest.raises(ConfigurationError, match=message):
        deployer.deploy(**kwargs)
    with pytest.raises(ValueError, match=message):
        deployer.plan(**kwargs)
    assert recorder.calls == []


@pytest.mark.parametrize("model", list(Model))
@pytest.mark.parametrize("platform", [OD, PT])
def test_generated_names_are_valid_and_deterministic(model: Model, platform: DeployPlatform) -> None:
    model_name, endpoint_name = default_names(model, CHECKPOINT, platform)
    for name in (model_name, endpoint_name):
        assert len(name) <= 63 and NAME_PATTERN.fullmatch(name)
    assert default_names(model, CHECKPOINT.rstrip("/"), platform) == (model_name, endpoint_name)
    assert default_names(model, CHECKPOINT + "x/", platform)[0] != model_name
    assert model_name.startswith(model.model_path.split("/")[0] + "-")


# -- every failure is a DeploymentError listing what exists ------------------------------------------------------


@pytest.fixture
def dead_clients(monkeypatch: pytest.MonkeyPatch) -> AwsClients:
    """Clients of a port nothing listens on, retrying nothing (botocore's backoff would really sleep)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    return AwsClients(region_name="us-east-1", endpoint_url=f"http://127.0.0.1:{port}")


@pytest.mark.parametrize("stage", ["model", "deployment"])
def test_connection_dropped_mid_wait_lists_what_exists(
    deployer: BedrockDeployer,
    clients: AwsClients,
    dead_clients: AwsClients,
    role: str,
    checkpoint: str,
    fake: Any,
    stage: str,
) -> None:
    def drop_connection() -> None:
        deployments = clients.bedrock.list_custom_model_deployments()["modelDeploymentSummaries"]
        if stage == "model" or deployments:
            deployer.clients = dead_clients  # every later call meets a closed port

    fake.hooks.append(drop_connection)
    with pytest.raises(DeploymentError, match="EndpointConnectionError") as err:
        deployer.deploy(Model.NOVA_MICRO, checkpoint, OD, role_arn=role)

    cause = err.value.__cause__
    assert isinstance(cause, AwsCallError) and cause.code == "EndpointConnectionError"
    assert cause.operation == ("GetCustomModel" if stage == "model" else "GetCustomModelDeployment")
    assert isinstance(cause.__cause__, EndpointConnectionError)
    deployments = [r["customModelDeploymentArn"] for r in clients.bedrock.list_custom_model_deployments()["modelDeploymentSummaries"]]  # fmt: skip
    assert err.value.created == model_arns(clients) + deployments and len(err.value.created) == (
        1 if stage == "model" else 2
    )
    assert all(arn in str(err.value) for arn in err.value.created) and err.value.reused == []

    fake.hooks.clear()
    deployer.clients = clients  # the connection is back: a retry picks up where the first attempt stopped
    result = deployer.deploy(Model.NOVA_MICRO, checkpoint, OD, role_arn=role)
    assert result.reused == err.value.created and result.uri == err.value.created[0]


def test_a_describe_that_raises_mid_wait_is_a_deployment_error(
    clients: AwsClients, role: str, checkpoint: str, fake: Any
) -> None:
    class DropsOnDescribe(BedrockDeployer):
        def model_state(self, model_arn: str) -> Any:
            raise EndpointConnectionError(endpoint_url="https://bedrock.us-east-1.amazonaws.com")

    deployer = DropsOnDescribe(clients, poll_seconds=10, timeout_seconds=600, sleep=fake.sleep, clock=fake.clock)
    with pytest.raises(DeploymentError) as err:
        deployer.deploy(Model.NOVA_MICRO, checkpoint, OD, role_arn=role)
    assert err.value.created == model_arns(clients) and len(err.value.created) == 1
    assert isinstance(err.value.__cause__, EndpointConnectionError)


def test_deployment_error_pickles_with_what_exists() -> None:
    error = DeploymentError("it failed", ["arn:a"], ["arn:b"], failed_arn="arn:a", reason="no capacity")
    again = pickle.loads(pickle.dumps(error))
    assert (again.created, again.reused, again.failed_arn, again.reason) == (
        ["arn:a"],
        ["arn:b"],
        "arn:a",
        "no capacity",
    )
    assert str(again) == str(error) and "arn:a" in str(again) and "arn:b" in str(again)


def test_timeout_covers_both_waits(clients: AwsClients, control: Any, role: str, checkpoint: str, fake: Any) -> None:
    def keep_deployments_creating() -> None:
        if clients.bedrock.list_custom_models(modelStatus="Active")["modelSummaries"]:
            control.set_bedrock_seconds(3600)

    control.set_bedrock_seconds(20)  # the model takes 20 s, the deployment would never finish
    fake.hooks.append(keep_deployments_creating)
    deployer = BedrockDeployer(clients, poll_seconds=10, timeout_seconds=30, sleep=fake.sleep, clock=fake.clock)
    with pytest.raises(DeploymentError, match=r"timed out after 30 s waiting for Bedrock on-demand deployment") as err:
        deployer.deploy(Model.NOVA_MICRO, checkpoint, OD, role_arn=role)
    model_arn, deployment_arn = err.value.created
    assert err.value.failed_arn == deployment_arn and "(still Creating" in str(err.value)
    assert sum(fake.sleeps) == 30, "the deployment got what the model left of the 30 s"


def test_timeout_spent_on_the_model_leaves_one_look_at_the_deployment(
    clients: AwsClients, control: Any, role: str, checkpoint: str, fake: Any, recorder: Recorder
) -> None:
    control.set_bedrock_seconds(20)
    deployer = BedrockDeployer(clients, poll_seconds=10, timeout_seconds=20, sleep=fake.sleep, clock=fake.clock)
    with pytest.raises(DeploymentError, match="timed out after 20 s") as err:
        deployer.deploy(Model.NOVA_MICRO, checkpoint, OD, role_arn=role)
    assert err.value.failed_arn == err.value.created[1] and sum(fake.sleeps) == 20
    assert recorder.names().count("GetCustomModelDeployment") == 2  # the look-up by name, then one look


BAD_TIMING = [-1, 0, -0.5, float("nan"), float("inf"), "10", True]


@pytest.mark.parametrize(
    ("name", "value"),
    [("poll_seconds", v) for v in [*BAD_TIMING, None]] + [("timeout_seconds", v) for v in BAD_TIMING],
    ids=repr,
)
def test_bad_poll_or_timeout_is_refused_before_any_call(
    clients: AwsClients, recorder: Recorder, role: str, name: str, value: Any
) -> None:
    with pytest.raises(ConfigurationError, match=f"{name} must be a positive number of seconds, got {value!r}"):
        BedrockDeployer(clients, **{name: value})

    deployer = BedrockDeployer(clients)
    setattr(deployer, name, value)  # changed after construction: deploy() checks again before its first call
    with pytest.raises(ConfigurationError, match=f"{name} must be a positive number"):
        deployer.deploy(Model.NOVA_MICRO, CHECKPOINT, OD, role_arn=role)
    assert recorder.calls == []


@pytest.mark.parametrize("value", [-1, 0, float("nan"), float("inf"), "30", False], ids=repr)
def test_customizer_deploy_refuses_a_bad_poll_before_creating_anything(
    clients: AwsClients, role: str, checkpoint: str, value: Any
) -> None:
    from airflow_provider_nova.core import NovaModelCustomizer, SMTJRuntimeManager, TrainingMethod

    customizer = NovaModelCustomizer(
        model=Model.NOVA_MICRO,
        method=TrainingMethod.SFT_LORA,
        infra=SMTJRuntimeManager(instance_type="ml.p5.48xlarge", instance_count=2),
        data_s3_path="s3://my-bucket/training-data/",
        output_s3_path="s3://my-bucket/output/",
    )
    with pytest.raises(ConfigurationError, match="poll_seconds must be a positive number of seconds"):
        customizer.deploy(checkpoint, OD, role_arn=role, poll_seconds=value)
    assert clients.bedrock.list_custom_models()["modelSummaries"] == []
    assert clients.bedrock.list_custom_model_deployments()["modelDeploymentSummaries"] == []


# -- the steps, one at a time, as a deferring Airflow operator runs them ------------------------------------------


@pytest.mark.parametrize(("platform", "units", "final"), [(OD, None, "Active"), (PT, 2, "InService")])
def test_steps_run_one_at_a_time(
    deployer: BedrockDeployer,
    control: Any,
    role: str,
    checkpoint: str,
    recorder: Recorder,
    platform: DeployPlatform,
    units: int | None,
    final: str,
) -> None:
    control.set_bedrock_seconds(3600)  # nothing finishes until the control API says so
    plan = deployer.plan(Model.NOVA_LITE, checkpoint, platform, units, role_arn=role)
    assert recorder.calls == [], "a plan makes no call"

    model = deployer.start_model(plan)
    assert model.created and Started.from_json(json.loads(json.dumps(model.to_json()))) == model
    state = deployer.model_state(model.arn)
    assert (state.status, state.raw) == (JobStatus.IN_PROGRESS, "Creating")
    assert deployer.start_model(plan) == Started(model.arn, created=False), "a repeated step finds its model"
    control.bedrock_ready(model.arn)
    assert deployer.model_state(model.arn).to_json() == {
        "status": "COMPLETED", "raw": "Active", "reason": None, "secondary": None,
    }  # fmt: skip

    endpoint = deployer.start_endpoint(plan, model.arn)
    assert endpoint.created and deployer.endpoint_state(platform, endpoint.arn).status is JobStatus.IN_PROGRESS
    with pytest.raises(DeploymentError, match=f"is Creating, not {final}"):
        deployer.result(plan, model, endpoint)
    assert deployer.start_endpoint(plan, model.arn) == Started(endpoint.arn, created=False)
    control.bedrock_ready(endpoint.arn)
    assert deployer.endpoint_state(platform, endpoint.arn).raw == final

    result = deployer.result(plan, model, endpoint)
    assert (result.uri, result.endpoint.uri, result.status) == (model.arn, endpoint.arn, final)
    assert result.created == [model.arn, endpoint.arn]
    assert DeploymentResult.model_validate(json.loads(result.model_dump_json())) == result
    assert len([name for name in recorder.names() if name.startswith("Create")]) == 2


def test_a_model_state_reports_bedrocks_failure(
    deployer: BedrockDeployer, clients: AwsClients, control: Any, role: str, checkpoint: str
) -> None:
    control.set_bedrock_seconds(3600)
    model = deployer.start_model(deployer.plan(Model.NOVA_MICRO, checkpoint, role_arn=role))
    control.bedrock_fail(model.arn, "ValidationException: unsupported checkpoint")
    state = deployer.model_state(model.arn)
    assert (state.status, state.raw, state.reason) == (
        JobStatus.FAILED, "Failed", "ValidationException: unsupported checkpoint",
    )  # fmt: skip


def test_create_racing_another_attempt_uses_its_model(
    deployer: BedrockDeployer, clients: AwsClients, role: str, checkpoint: str
) -> None:
    other = AwsClients(region_name="us-east-1", endpoint_url=clients.endpoint_url)
    raced: list[str] = []

    def another_attempt_creates_first(params: dict[str, Any], **_: Any) -> None:
        if not raced:  # between our look-up and our create, another worker creates the same name
            raced.append(other.bedrock.create_custom_model(**{**params, "clientRequestToken": "other0attempt"})["modelArn"])  # fmt: skip

    clients.bedrock.meta.events.register(
        "before-parameter-build.bedrock.CreateCustomModel", another_attempt_creates_first
    )
    result = deployer.deploy(Model.NOVA_MICRO, checkpoint, OD, role_arn=role)
    assert result.uri == raced[0] and result.reused == [raced[0]] and result.created == [result.endpoint.uri]
    assert model_arns(clients) == raced


@pytest.mark.parametrize(
    ("platform", "units", "command"),
    [
        (OD, None, "aws bedrock delete-custom-model-deployment --custom-model-deployment-identifier"),
        (PT, 1, "aws bedrock delete-provisioned-model-throughput --provisioned-model-id"),
    ],
)
def test_failed_endpoint_is_replaced_under_a_generated_name_and_reported_under_a_given_one(
    deployer: BedrockDeployer,
    clients: AwsClients,
    control: Any,
    role: str,
    checkpoint: str,
    platform: DeployPlatform,
    units: int | None,
    command: str,
) -> None:
    control.set_bedrock_seconds(3600)
    plans = {
        "generated": deployer.plan(Model.NOVA_MICRO, checkpoint, platform, units, role_arn=role),
        "given": deployer.plan(Model.NOVA_MICRO, checkpoint, platform, units, "my-endpoint", role_arn=role),
    }
    model = deployer.start_model(plans["generated"])
    control.bedrock_ready(model.arn)
    failed = {}
    for key, plan in plans.items():
        failed[key] = deployer.start_endpoint(plan, model.arn).arn
        control.bedrock_fail(failed[key], "InsufficientCapacity")

    again = deployer.start_endpoint(plans["generated"], model.arn)
    assert again.created and again.replaced == failed["generated"] and again.arn != failed["generated"]
    assert deployer.endpoint_state(platform, again.arn).status is JobStatus.IN_PROGRESS

    with pytest.raises(DeploymentError, match="under the endpoint_name you gave failed in an earlier attempt") as err:
        deployer.start_endpoint(plans["given"], model.arn)
    assert f"delete it ({command} {failed['given']}) and retry" in str(err.value)
    assert err.value.failed_arn == failed["given"] and err.value.reason == "InsufficientCapacity"
    assert deployer.endpoint_state(platform, failed["given"]).status is JobStatus.FAILED, "left alone"


def test_a_plan_survives_a_json_round_trip_and_a_malformed_one_is_refused() -> None:
    from airflow_provider_nova.core.deploy import DeployPlan

    role = "arn:aws:iam::123456789012:role/BedrockImportRole"
    plan = BedrockDeployer(AwsClients(region_name="us-east-1")).plan(
        Model.NOVA_LITE_2, CHECKPOINT, PT, 3, role_arn=role
    )

    data = json.loads(json.dumps(plan.to_json()))

    assert data["model"] == "NOVA_LITE_2" and data["platform"] == "BEDROCK_PT" and data["generated_model_name"] is True
    assert DeployPlan.from_json(data) == plan
    with pytest.raises(ConfigurationError, match="not a deploy plan"):
        DeployPlan.from_json({k: v for k, v in data.items() if k != "role_arn"})
    with pytest.raises(ConfigurationError, match="pt_units must be a positive integer"):
        DeployPlan.from_json({**data, "pt_units": 0})
