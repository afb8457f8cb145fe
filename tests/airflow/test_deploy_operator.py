"""NovaDeployOperator, NovaDeploymentTrigger and NovaDeploymentSensor against the stand-in over loopback HTTP."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import pytest
from airflow.sdk import Asset
from airflow.sdk.exceptions import TaskDeferred
from airflow.sdk.execution_time.context import OutletEventAccessors

from airflow_provider_nova.core import AwsClients, ConfigurationError
from airflow_provider_nova.core.deploy import DeploymentError
from airflow_provider_nova.core.errors import WaitTimeoutError
from airflow_provider_nova.operators.deploy import NovaDeployOperator
from airflow_provider_nova.sensors.deployment import NovaDeploymentSensor
from airflow_provider_nova.triggers.deployment import NovaDeploymentTrigger, check_deployment_event

ESCROW = "customer-escrow-123456789012-smtj-us-east-1"
CHECKPOINT = f"s3://{ESCROW}/my-sft-job/1700000000/"
MODEL_ARN = re.compile(r"arn:aws:bedrock:us-east-1:123456789012:custom-model/imported/[a-z0-9]{12}")
DEPLOYMENT_ARN = re.compile(r"arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/[a-z0-9]{12}")
READY_SECONDS = 120.0


class Context(dict):  # type: ignore[type-arg]
    """The part of a task's context the operator reads: the outlet events."""

    def __init__(self) -> None:
        super().__init__(outlet_events=OutletEventAccessors())


@pytest.fixture
def clients(account: dict[str, str]) -> AwsClients:
    return AwsClients(region_name="us-east-1", endpoint_url=account["endpoint_url"])


@pytest.fixture
def checkpoint(clients: AwsClients) -> str:
    clients.s3.create_bucket(Bucket=ESCROW)
    clients.s3.put_object(Bucket=ESCROW, Key="my-sft-job/1700000000/model_info.json", Body=b"{}")
    return CHECKPOINT


@pytest.fixture
def fake(sandbox: Any, control: Any, account: dict[str, str], monkeypatch: pytest.MonkeyPatch, fake_time: Any) -> Any:
    monkeypatch.setattr(sandbox.bedrock, "clock", fake_time.clock)
    control.set_bedrock_seconds(READY_SECONDS)
    return fake_time


def resources(clients: AwsClients) -> dict[str, list[str]]:
    bedrock = clients.bedrock
    return {
        "models": [m["modelArn"] for m in bedrock.list_custom_models()["modelSummaries"]],
        "deployments": [
            d["customModelDeploymentArn"] for d in bedrock.list_custom_model_deployments()["modelDeploymentSummaries"]
        ],
        "throughputs": [
            t["provisionedModelArn"] for t in bedrock.list_provisioned_model_throughputs()["provisionedModelSummaries"]
        ],
    }


def operator(fake: Any, aws_conn: str, **kwargs: Any) -> NovaDeployOperator:
    kwargs = {"model": "NOVA_MICRO", "model_artifact_path": CHECKPOINT, "poll_interval": 10, **kwargs}
    op = NovaDeployOperator(task_id="deploy", aws_conn_id=aws_conn, **kwargs)
    op.sleep, op.clock = fake.sleep, fake.clock
    return op


def bedrock_calls(op: NovaDeployOperator) -> list[tuple[str, dict[str, Any]]]:
    """Every Bedrock operation the operator's clients send from now on, with its parameters."""
    calls: list[tuple[str, dict[str, Any]]] = []

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        calls.append((model.name, dict(params)))

    op.hook.clients.bedrock.meta.events.register("before-parameter-build.bedrock", record)
    return calls


def run_trigger(trigger: NovaDeploymentTrigger, fake: Any) -> dict[str, Any]:
    """Rebuild the trigger from its serialised form, as the triggerer does, and run it to its first event."""
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_provider_nova.triggers.deployment.NovaDeploymentTrigger"
    rebuilt = NovaDeploymentTrigger(**json.loads(json.dumps(kwargs)))
    rebuilt.clock, rebuilt.sleep = fake.clock, fake.async_sleep

    async def first() -> dict[str, Any]:
        async for event in rebuilt.run():
            payload: dict[str, Any] = event.payload
            return payload
        raise AssertionError("the trigger ended without an event")

    return asyncio.run(first())


def resume(op: NovaDeployOperator, deferred: TaskDeferred, event: dict[str, Any], context: Context) -> Any:
    """Call the method the deferral names, with its kwargs after a JSON round trip, as Airflow does."""
    kwargs = json.loads(json.dumps(deferred.kwargs or {}))
    return getattr(op, deferred.method_name)(context, event=event, **kwargs)


# -- synchronous -------------------------------------------------------------------------------
def test_on_demand_deploy_waits_for_model_and_deployment_and_returns_the_xcom(
    aws_conn: str, clients: AwsClients, checkpoint: str, fake: Any, account: dict[str, str]
) -> None:
    asset = Asset("bedrock://support-bot")
    op = operator(fake, aws_conn, endpoint_name="support-bot", outlets=[asset])
    calls = bedrock_calls(op)
    context = Context()

    xcom = op.execute(context)

    assert xcom["status"] == "Active" and xcom["platform"] == "BEDROCK_OD" and xcom["region"] == "us-east-1"
    assert xcom["endpoint_name"] == "support-bot"
    assert DEPLOYMENT_ARN.fullmatch(xcom["uri"]) and MODEL_ARN.fullmatch(xcom["model_arn"])
    assert xcom["created"] == [xcom["model_arn"], xcom["uri"]] and xcom["reused"] == []
    assert resources(clients) == {"models": [xcom["model_arn"]], "deployments": [xcom["uri"]], "throughputs": []}
    assert json.loads(json.dumps(xcom)) == xcom
    assert context["outlet_events"][asset].extra == xcom
    # the role Bedrock assumes is the execution role, found as training finds it
    (create,) = [params for name, params in calls if name == "CreateCustomModel"]
    assert create["roleArn"] == account["role_arn"]
    assert sum(fake.sleeps) >= 2 * READY_SECONDS - 20  # it waited for the model, then the deployment


def test_provisioned_throughput_takes_every_number_as_a_jinja_string(
    aws_conn: str, clients: AwsClients, checkpoint: str, fake: Any
) -> None:
    op = operator(fake, aws_conn, deploy_platform="BEDROCK_PT", pt_units="2", poll_interval="15", max_wait="900")

    xcom = op.execute(Context())

    assert xcom["status"] == "InService" and xcom["platform"] == "BEDROCK_PT"
    (throughput,) = resources(clients)["throughputs"]
    assert xcom["uri"] == throughput
    assert clients.bedrock.get_provisioned_model_throughput(provisionedModelId=throughput)["modelUnits"] == 2
    assert set(fake.sleeps) == {15}


def test_max_wait_as_a_string_bounds_each_wait(aws_conn: str, clients: AwsClients, checkpoint: str, fake: Any) -> None:
    op = operator(fake, aws_conn, max_wait="30")

    with pytest.raises(DeploymentError, match=r"still Creating after 30s") as caught:
        op.execute(Context())

    (model,) = resources(clients)["models"]
    assert caught.value.failed_arn == model and caught.value.created == [model]


def test_a_failed_custom_model_fails_the_task_with_bedrocks_reason(
    aws_conn: str, clients: AwsClients, fake: Any
) -> None:
    clients.s3.create_bucket(Bucket=ESCROW)  # the bucket exists, the checkpoint does not
    op = operator(fake, aws_conn)

    with pytest.raises(DeploymentError, match="Model artifacts were not found at " + re.escape(CHECKPOINT)) as caught:
        op.execute(Context())

    (model,) = resources(clients)["models"]
    assert caught.value.failed_arn == model and caught.value.created == [model]
    assert "no objects exist under that prefix" in (caught.value.reason or "")
    assert resources(clients)["deployments"] == []


def test_running_twice_creates_one_model_and_one_deployment(
    aws_conn: str, clients: AwsClients, checkpoint: str, fake: Any
) -> None:
    first = operator(fake, aws_conn).execute(Context())
    second = operator(fake, aws_conn).execute(Context())

    assert resources(clients) == {"models": [first["model_arn"]], "deployments": [first["uri"]], "throughputs": []}
    assert second["reused"] == [first["model_arn"], first["uri"]] and second["created"] == []
    assert second["uri"] == first["uri"] and second["status"] == "Active"


def test_without_waiting_it_returns_once_the_deployment_is_requested(
    aws_conn: str, clients: AwsClients, checkpoint: str, fake: Any
) -> None:
    xcom = operator(fake, aws_conn, wait_for_completion=False).execute(Context())

    assert xcom["status"] == "Creating"
    assert resources(clients)["deployments"] == [xcom["uri"]]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"model": "NOVA_GIANT"}, "model must be one of NOVA_MICRO"),
        ({"pt_units": "2"}, "pt_units applies to DeployPlatform.BEDROCK_PT only"),
        ({"deploy_platform": "BEDROCK_PT"}, "pt_units must be a positive integer"),
        ({"deploy_platform": "BEDROCK_PT", "pt_units": "two"}, "pt_units must be an integer, got 'two'"),
        ({"deploy_platform": "SAGEMAKER"}, "SageMaker deployment is not implemented"),
        ({"model_artifact_path": "/local/checkpoint"}, "model_artifact_path"),
        ({"endpoint_name": "my endpoint"}, "endpoint_name 'my endpoint' breaks Bedrock's naming rule"),
        ({"role_arn": "arn:aws:iam::12:role/x"}, "is not an IAM role ARN"),
        ({"poll_interval": "soon"}, "poll_interval must be a number"),
    ],
)
def test_bad_input_is_refused_before_any_bedrock_call(
    aws_conn: str, clients: AwsClients, checkpoint: str, fake: Any, kwargs: dict[str, Any], message: str
) -> None:
    op = operator(fake, aws_conn, **kwargs)
    calls = bedrock_calls(op)

    with pytest.raises(ConfigurationError, match=message):
        op.execute(Context())

    assert calls == []
    assert resources(clients) == {"models": [], "deployments": [], "throughputs": []}


# -- deferrable --------------------------------------------------------------------------------
def test_deferred_deploy_waits_in_the_trigger_for_the_model_then_the_deployment(
    aws_conn: str, clients: AwsClients, checkpoint: str, fake: Any
) -> None:
    asset = Asset("bedrock://nova-micro")
    op = operator(fake, aws_conn, deferrable=True, outlets=[asset], max_wait="3600")
    context = Context()

    with pytest.raises(TaskDeferred) as model_wait:
        op.execute(context)

    trigger = model_wait.value.trigger
    assert isinstance(trigger, NovaDeploymentTrigger) and model_wait.value.method_name == "execute_model_ready"
    assert trigger.resource == "model" and trigger.timeout == 3600 and trigger.poll_interval == 10
    (model_arn,) = resources(clients)["models"]
    assert trigger.arn == model_arn and resources(clients)["deployments"] == []
    event = run_trigger(trigger, fake)
    assert event["status"] == "success" and event["state"]["raw"] == "Active"

    with pytest.raises(TaskDeferred) as endpoint_wait:
        resume(op, model_wait.value, event, context)

    assert endpoint_wait.value.method_name == "execute_complete"
    assert endpoint_wait.value.trigger.resource == "endpoint"
    assert endpoint_wait.value.trigger.platform == "BEDROCK_OD"
    xcom = resume(op, endpoint_wait.value, run_trigger(endpoint_wait.value.trigger, fake), context)

    assert xcom["status"] == "Active" and xcom["model_arn"] == model_arn
    assert resources(clients)["deployments"] == [xcom["uri"]]
    assert context["outlet_events"][asset].extra == xcom


def test_a_model_that_fails_while_deferred_fails_the_task_with_the_reason(
    aws_conn: str, clients: AwsClients, checkpoint: str, fake: Any, control: Any
) -> None:
    op = operator(fake, aws_conn, deferrable=True)
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(Context())
    control.bedrock_fail(deferred.value.trigger.arn, "The checkpoint is not a Nova model")

    event = run_trigger(deferred.value.trigger, fake)
    assert event["status"] == "failed" and event["state"]["reason"] == "The checkpoint is not a Nova model"
    with pytest.raises(DeploymentError, match="The checkpoint is not a Nova model") as caught:
        resume(op, deferred.value, event, Context())

    assert caught.value.created == [deferred.value.trigger.arn]
    assert resources(clients)["deployments"] == []


def test_a_retry_after_a_crash_while_deferred_reuses_the_model(
    aws_conn: str, clients: AwsClients, checkpoint: str, fake: Any
) -> None:
    with pytest.raises(TaskDeferred) as first:
        operator(fake, aws_conn, deferrable=True).execute(Context())
    # the worker died; the retry runs execute again on a new operator
    retry = operator(fake, aws_conn, deferrable=True)
    with pytest.raises(TaskDeferred) as second:
        retry.execute(Context())

    assert second.value.trigger.arn == first.value.trigger.arn
    assert second.value.kwargs["model"]["created"] is False
    with pytest.raises(TaskDeferred) as endpoint_wait:
        resume(retry, second.value, run_trigger(second.value.trigger, fake), Context())
    xcom = resume(retry, endpoint_wait.value, run_trigger(endpoint_wait.value.trigger, fake), Context())

    assert resources(clients) == {"models": [first.value.trigger.arn], "deployments": [xcom["uri"]], "throughputs": []}
    assert xcom["reused"] == [first.value.trigger.arn] and xcom["created"] == [xcom["uri"]]


def test_a_ready_model_is_not_deferred_for(aws_conn: str, clients: AwsClients, checkpoint: str, fake: Any) -> None:
    operator(fake, aws_conn, wait_for_completion=False).execute(Context())  # the model is Active now

    with pytest.raises(TaskDeferred) as deferred:
        operator(fake, aws_conn, deferrable=True).execute(Context())

    assert deferred.value.method_name == "execute_complete"


def test_a_deferred_wait_that_times_out_fails_the_task_naming_what_exists(
    aws_conn: str, clients: AwsClients, checkpoint: str, fake: Any
) -> None:
    op = operator(fake, aws_conn, deferrable=True, max_wait=25)
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(Context())

    event = run_trigger(deferred.value.trigger, fake)
    assert event["status"] == "timeout" and event["state"]["raw"] == "Creating" and event["waited_seconds"] == 25
    assert fake.sleeps == [10, 10, 5]
    with pytest.raises(DeploymentError, match="still Creating after 25 s") as caught:
        resume(op, deferred.value, event, Context())
    assert caught.value.created == [deferred.value.trigger.arn]


@pytest.mark.parametrize("event", [None, {}, {"status": "done"}, "success"])
def test_a_malformed_event_fails_the_task(aws_conn: str, checkpoint: str, fake: Any, event: Any) -> None:
    op = operator(fake, aws_conn, deferrable=True)
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(Context())

    with pytest.raises(DeploymentError, match="malformed deployment trigger event"):
        resume(op, deferred.value, event, Context())


# -- the trigger on its own ----------------------------------------------------------------------
def test_trigger_reports_an_error_for_a_resource_that_does_not_exist(aws_conn: str, fake: Any) -> None:
    arn = "arn:aws:bedrock:us-east-1:123456789012:custom-model/imported/000000000000"
    event = run_trigger(NovaDeploymentTrigger("model", arn, aws_conn_id=aws_conn), fake)

    assert event["status"] == "error" and event["state"] is None and "ResourceNotFoundException" in event["message"]
    with pytest.raises(DeploymentError, match="ResourceNotFoundException"):
        check_deployment_event(event)


def test_trigger_retries_a_connection_that_gives_no_answer_until_its_timeout(
    account: dict[str, str], fake: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn = {"conn_type": "aws", "extra": {"region_name": "us-east-1", "endpoint_url": "http://127.0.0.1:9"}}
    monkeypatch.setenv("AIRFLOW_CONN_NOWHERE", json.dumps(conn))
    trigger = NovaDeploymentTrigger(
        "model",
        "arn:aws:bedrock:us-east-1:123456789012:custom-model/imported/000000000000",
        aws_conn_id="nowhere",
        botocore_config={"retries": {"total_max_attempts": 1}},
        poll_interval=20,
        timeout=50,
    )

    event = run_trigger(trigger, fake)

    assert event["status"] == "timeout" and event["state"] is None
    assert fake.sleeps == [20, 20, 10]
    with pytest.raises(WaitTimeoutError, match="still unknown after 50s"):
        check_deployment_event(event)


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (("deployment", "arn"), {}, "resource must be 'model' or 'endpoint'"),
        (("endpoint", "arn"), {"platform": "SAGEMAKER"}, "platform must be BEDROCK_OD or BEDROCK_PT"),
        (("model", "arn"), {"poll_interval": 0}, "poll_seconds must be a positive number"),
    ],
)
def test_trigger_refuses_bad_arguments(args: tuple[str, str], kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        NovaDeploymentTrigger(*args, **kwargs)


# -- the sensor ----------------------------------------------------------------------------------
@pytest.fixture
def deployment(aws_conn: str, clients: AwsClients, checkpoint: str, fake: Any) -> str:
    """A deployment still being created."""
    uri: str = operator(fake, aws_conn, wait_for_completion=False).execute(Context())["uri"]
    return uri


def sensor(aws_conn: str, endpoint_arn: str, **kwargs: Any) -> NovaDeploymentSensor:
    return NovaDeploymentSensor(task_id="wait", endpoint_arn=endpoint_arn, aws_conn_id=aws_conn, **kwargs)


def test_sensor_pokes_until_the_deployment_is_active(aws_conn: str, deployment: str, control: Any) -> None:
    waiting = sensor(aws_conn, deployment)

    assert not waiting.poke(Context())
    control.bedrock_ready(deployment)
    done = waiting.poke(Context())

    assert done and done.xcom_value == {"endpoint_arn": deployment, "status": "Active"}


def test_sensor_fails_with_bedrocks_reason(aws_conn: str, deployment: str, control: Any) -> None:
    control.bedrock_fail(deployment, "Insufficient capacity")

    with pytest.raises(DeploymentError, match="Insufficient capacity"):
        sensor(aws_conn, deployment).poke(Context())


def test_deferred_sensor_resumes_with_the_status(aws_conn: str, deployment: str, fake: Any) -> None:
    waiting = sensor(aws_conn, deployment, deferrable=True, poke_interval=30, timeout=3600)

    with pytest.raises(TaskDeferred) as deferred:
        waiting.execute(Context())

    assert deferred.value.timeout is not None and deferred.value.timeout.total_seconds() == 3600
    fake.sleeps.clear()
    event = run_trigger(deferred.value.trigger, fake)
    assert fake.sleeps == [30] * 4
    result = getattr(waiting, deferred.value.method_name)(Context(), event=event)
    assert result == {"endpoint_arn": deployment, "status": "Active"}


def test_deferred_sensor_fails_on_a_failed_throughput_event(aws_conn: str) -> None:
    waiting = sensor(
        aws_conn, "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/abc", deploy_platform="BEDROCK_PT"
    )
    event = {
        "status": "failed",
        "resource": "endpoint",
        "arn": waiting.endpoint_arn,
        "message": "it failed: no capacity",
        "state": {"status": "FAILED", "raw": "Failed", "reason": "no capacity", "secondary": None},
    }

    with pytest.raises(DeploymentError, match="no capacity") as caught:
        waiting.execute_complete(Context(), event=event)
    assert caught.value.reason == "no capacity" and caught.value.failed_arn == waiting.endpoint_arn
