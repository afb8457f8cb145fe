"""Faults injected into the stand-in over HTTP, and the core riding them out: nothing lost, nothing twice."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError, ReadTimeoutError

from airflow_provider_nova.core import (
    AwsClients,
    DeployPlatform,
    JobFailedError,
    Model,
    NovaModelCustomizer,
    SMTJRuntimeManager,
    TrainingMethod,
)
from airflow_provider_nova.core.aws import DEFAULT_RETRIES
from airflow_provider_nova.core.deploy import BedrockDeployer, DeploymentError
from airflow_provider_nova.core.runtimes.smtj import TrainingJobs

NO_RETRIES = Config(retries={"mode": "standard", "total_max_attempts": 1})
ESCROW = "customer-escrow-123456789012-smtj-us-east-1"
CHECKPOINT = f"s3://{ESCROW}/my-sft-job/1700000000/"
BEDROCK_TRUST = json.dumps(
    {"Statement": [{"Effect": "Allow", "Principal": {"Service": "bedrock.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
)


def raw(service: str, endpoint_url: str, config: Config = NO_RETRIES) -> Any:
    return boto3.client(service, endpoint_url=endpoint_url, region_name="us-east-1", config=config)


@pytest.fixture
def customizer(account: dict[str, str], aws: AwsClients) -> NovaModelCustomizer:
    infra = SMTJRuntimeManager("ml.p5.48xlarge", 2, clients=aws)
    return NovaModelCustomizer(
        Model.NOVA_MICRO, TrainingMethod.SFT_LORA, infra, "s3://my-bucket/training-data/", "s3://my-bucket/out/"
    )


def job_names(endpoint_url: str) -> list[str]:
    page = raw("sagemaker", endpoint_url).list_training_jobs()
    return sorted(j["TrainingJobName"] for j in page["TrainingJobSummaries"])


# -- the stand-in's faults, in each protocol's shape ----------------------------------------------
def test_throttling_and_500s_have_each_protocols_shape(account: dict[str, str], faults: Any) -> None:
    url = account["endpoint_url"]
    expected = [
        ("sagemaker", "DescribeTrainingJob", {"TrainingJobName": "x"}, "ThrottlingException", 400, "InternalFailure"),
        ("bedrock", "GetCustomModel", {"modelIdentifier": "m"}, "ThrottlingException", 429, "InternalServerException"),
        ("s3", "GetObject", {"Bucket": "my-bucket", "Key": "k"}, "SlowDown", 503, "InternalError"),
        ("sts", "GetCallerIdentity", {}, "Throttling", 400, "InternalFailure"),
        ("iam", "GetRole", {"RoleName": "NovaCustomizationRole"}, "Throttling", 400, "InternalFailure"),
    ]
    for service, operation, params, throttled, status, internal in expected:
        faults.throttle(operation)
        faults.server_error(operation)
        call = getattr(raw(service, url), "".join("_" + c.lower() if c.isupper() else c for c in operation)[1:])
        with pytest.raises(ClientError) as first:
            call(**params)
        with pytest.raises(ClientError) as second:
            call(**params)
        assert (first.value.response["Error"]["Code"], first.value.response["ResponseMetadata"]["HTTPStatusCode"]) == (
            throttled,
            status,
        )
        assert (
            second.value.response["Error"]["Code"],
            second.value.response["ResponseMetadata"]["HTTPStatusCode"],
        ) == (
            internal,
            500,
        )


def test_query_protocol_errors_say_who_is_at_fault_and_leave_the_form_body_whole(
    account: dict[str, str], faults: Any
) -> None:
    """STS and IAM answer as query services do: <ErrorResponse><Error><Type>Sender|Receiver</Type>..."""
    iam = raw("iam", account["endpoint_url"])
    faults.throttle("GetRole")
    faults.server_error("GetRole")
    with pytest.raises(ClientError) as throttled:
        iam.get_role(RoleName="NovaCustomizationRole")
    with pytest.raises(ClientError) as failed:
        iam.get_role(RoleName="NovaCustomizationRole")
    assert throttled.value.response["Error"]["Type"] == "Sender"
    assert failed.value.response["Error"]["Type"] == "Receiver"
    assert throttled.value.response["ResponseMetadata"]["RequestId"]
    # a call with no fault pending reads its whole form body behind the injector
    assert iam.get_role(RoleName="NovaCustomizationRole")["Role"]["RoleName"] == "NovaCustomizationRole"


def test_get_caller_identity_throttled_twice_is_retried_by_the_cores_clients(
    account: dict[str, str], faults: Any, instant_backoff: list[float]
) -> None:
    """botocore retries a 400 only when its code is a throttling (or transient) one: a second try here
    shows the query shape is read as throttling."""
    assert DEFAULT_RETRIES["total_max_attempts"] >= 3
    faults.throttle("GetCallerIdentity", count=2)
    clients = AwsClients(region_name="us-east-1", endpoint_url=account["endpoint_url"])
    assert clients.account_id() == "123456789012"
    assert len(instant_backoff) == 2
    assert raw("sts", account["endpoint_url"]).get_caller_identity()["Account"] == "123456789012"  # none left


def test_botocores_standard_mode_retries_each_protocols_throttling_as_throttling(
    account: dict[str, str], faults: Any, instant_backoff: list[float]
) -> None:
    retrying = Config(retries={"mode": "standard", "total_max_attempts": 2})
    faults.throttle("ListTrainingJobs")
    faults.throttle("ListCustomModels")
    faults.throttle("ListObjectsV2")
    raw("sagemaker", account["endpoint_url"], retrying).list_training_jobs()
    raw("bedrock", account["endpoint_url"], retrying).list_custom_models()
    raw("s3", account["endpoint_url"], retrying).list_objects_v2(Bucket="my-bucket")
    assert len(instant_backoff) == 3  # one retry each, after a backoff of the throttling scale (up to 1 s)
    assert faults.calls() == {"ListTrainingJobs.failed": 1, "ListTrainingJobs": 1}


def test_a_fault_for_a_period_ends_on_the_stand_ins_clock(
    fake_time: Any, sandbox: Any, account: dict[str, str], faults: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sandbox.faults, "clock", fake_time.clock)
    sm = raw("sagemaker", account["endpoint_url"])
    faults.throttle("ListTrainingJobs", seconds=30)
    for _ in range(3):
        with pytest.raises(ClientError, match="ThrottlingException"):
            sm.list_training_jobs()
    fake_time.now += 30
    assert sm.list_training_jobs()["TrainingJobSummaries"] == []
    assert faults.calls() == {"ListTrainingJobs.failed": 3, "ListTrainingJobs": 1}


def test_a_dropped_call_is_not_performed_and_a_lost_response_one_is(
    account: dict[str, str], faults: Any, customizer: NovaModelCustomizer
) -> None:
    plan = customizer.plan_training("dropped").runtime
    sm = raw("sagemaker", account["endpoint_url"])
    faults.drop("CreateTrainingJob")
    with pytest.raises(ConnectionClosedError):
        sm.create_training_job(**plan.request)
    assert job_names(account["endpoint_url"]) == []
    faults.lose_response("CreateTrainingJob")
    with pytest.raises(ConnectionClosedError):
        sm.create_training_job(**plan.request)
    assert job_names(account["endpoint_url"]) == ["dropped"]
    calls = faults.calls()
    assert calls["CreateTrainingJob"] == 1 and "CreateTrainingJob.failed" not in calls  # the dropped one never arrived


def test_a_slow_answer_arrives_within_the_read_timeout_and_times_out_past_it(
    account: dict[str, str], faults: Any
) -> None:
    patient = raw("sagemaker", account["endpoint_url"], NO_RETRIES.merge(Config(read_timeout=5)))
    hasty = raw("sagemaker", account["endpoint_url"], NO_RETRIES.merge(Config(read_timeout=0.1)))
    faults.slow("ListTrainingJobs", delay=0.3, count=2)
    assert patient.list_training_jobs()["TrainingJobSummaries"] == []
    with pytest.raises(ReadTimeoutError):
        hasty.list_training_jobs()


def test_bad_faults_are_refused(faults: Any) -> None:
    for kind, extra in (("slow", {}), ("melt", {}), ("throttle", {"count": 0}), ("error", {"status": 200})):
        with pytest.raises(Exception, match="400"):
            faults.inject("ListTrainingJobs", kind, **extra)


# -- the core rides them out ----------------------------------------------------------------------
def test_clients_retry_in_standard_mode_unless_told_otherwise(
    account: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = account["endpoint_url"]
    assert AwsClients(region_name="us-east-1", endpoint_url=url).sagemaker.meta.config.retries == DEFAULT_RETRIES
    adaptive = Config(retries={"mode": "adaptive", "max_attempts": 10})
    told = AwsClients(region_name="us-east-1", endpoint_url=url, config=adaptive).sagemaker.meta.config
    assert told.retries == {"mode": "adaptive", "total_max_attempts": 11}  # max_attempts counts the retries only
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "7")
    env = AwsClients(region_name="us-east-1", endpoint_url=url).sagemaker.meta.config.retries
    assert env == {"mode": "standard", "total_max_attempts": 7}  # the environment's, read by botocore


def test_a_throttled_create_succeeds_after_retries(
    account: dict[str, str], faults: Any, customizer: NovaModelCustomizer, instant_backoff: list[float]
) -> None:
    faults.throttle("CreateTrainingJob", count=3)
    result = customizer.train("throttled")
    assert result.job_id == "throttled"
    calls = faults.calls()
    assert (calls["CreateTrainingJob"], calls["CreateTrainingJob.failed"]) == (1, 3)
    assert len(instant_backoff) == 3
    assert job_names(account["endpoint_url"]) == ["throttled"]


def test_a_create_whose_answer_was_lost_reattaches_to_the_job_it_made(
    account: dict[str, str], faults: Any, customizer: NovaModelCustomizer, instant_backoff: list[float]
) -> None:
    faults.lose_response("CreateTrainingJob")
    result = customizer.train("lost-answer")
    assert result.job_id == "lost-answer"
    # the first attempt created the job; botocore's retry was refused with ResourceInUse and recognised
    calls = faults.calls()
    assert (calls["CreateTrainingJob"], calls["CreateTrainingJob.failed"]) == (1, 1)
    assert job_names(account["endpoint_url"]) == ["lost-answer"]


def test_a_job_of_that_name_made_by_another_request_is_not_taken_for_ours(
    account: dict[str, str], customizer: NovaModelCustomizer, aws: AwsClients
) -> None:
    plan = customizer.plan_training("someone-elses").runtime
    customizer.train("someone-elses")
    jobs = TrainingJobs(aws)
    assert jobs.is_own("someone-elses", plan.request)
    for changed in ({"RoleArn": account["role_arn"] + "-other"}, {"OutputDataConfig": {"S3OutputPath": "s3://x/"}}):
        assert not jobs.is_own("someone-elses", {**plan.request, **changed})


def test_polling_rides_out_500s_and_dropped_connections(
    fake_time: Any, account: dict[str, str], faults: Any, customizer: NovaModelCustomizer, instant_backoff: list[float]
) -> None:
    result = customizer.train("polled")
    before = faults.calls().get("DescribeTrainingJob.failed", 0)  # the name checks before the create
    attempts = DEFAULT_RETRIES["total_max_attempts"]
    faults.server_error("DescribeTrainingJob", count=attempts)  # one whole poll fails, each attempt a 500
    faults.drop("DescribeTrainingJob", count=attempts)  # and the next one, each connection dropped
    fake_time.hooks.append(lambda: len(fake_time.sleeps) == 2 and faults.complete_job("polled"))
    assert result.wait_for_completion(poll_seconds=60, sleep=fake_time.sleep, clock=fake_time.clock)[1] == "Completed"
    assert fake_time.sleeps == [60, 60]
    assert faults.calls()["DescribeTrainingJob.failed"] - before == attempts  # the dropped ones never arrived
    assert faults.calls()["CreateTrainingJob"] == 1


def test_a_failed_job_fails_the_wait_with_its_reason(
    fake_time: Any, account: dict[str, str], faults: Any, customizer: NovaModelCustomizer, instant_backoff: list[float]
) -> None:
    result = customizer.train("doomed")
    faults.throttle("DescribeTrainingJob", count=2)
    faults.fail_job("doomed", "AlgorithmError: CUDA out of memory")
    with pytest.raises(JobFailedError, match="CUDA out of memory") as info:
        result.wait_for_completion(poll_seconds=60, sleep=fake_time.sleep)
    assert info.value.reason == "AlgorithmError: CUDA out of memory"


# -- Bedrock: idempotency tokens make a lost answer harmless ----------------------------------------
@pytest.fixture
def bedrock_ready(account: dict[str, str], aws: AwsClients, faults: Any) -> str:
    aws.s3.create_bucket(Bucket=ESCROW)
    aws.s3.put_object(Bucket=ESCROW, Key="my-sft-job/1700000000/model_info.json", Body=b"{}")
    faults.set_bedrock_seconds(0.0)
    arn: str = aws.iam.create_role(RoleName="BedrockImportRole", AssumeRolePolicyDocument=BEDROCK_TRUST)["Role"]["Arn"]
    return arn


def test_lost_answers_of_bedrock_creates_make_one_model_and_one_deployment(
    fake_time: Any, aws: AwsClients, faults: Any, bedrock_ready: str, instant_backoff: list[float]
) -> None:
    faults.lose_response("CreateCustomModel")
    faults.lose_response("CreateCustomModelDeployment")
    faults.throttle("GetCustomModel", count=2)
    deployer = BedrockDeployer(aws, poll_seconds=1, sleep=fake_time.sleep)
    result = deployer.deploy(Model.NOVA_MICRO, CHECKPOINT, DeployPlatform.BEDROCK_OD, role_arn=bedrock_ready)
    assert result.status == "Active"
    assert [m["modelArn"] for m in aws.bedrock.list_custom_models()["modelSummaries"]] == [result.uri]
    deployments = aws.bedrock.list_custom_model_deployments()["modelDeploymentSummaries"]
    assert [d["customModelDeploymentArn"] for d in deployments] == [result.endpoint.uri]


def test_a_failed_bedrock_model_fails_the_deploy_with_its_reason(
    fake_time: Any, aws: AwsClients, faults: Any, bedrock_ready: str, instant_backoff: list[float]
) -> None:
    faults.set_bedrock_seconds(3600.0)

    def fail_the_model() -> None:
        if len(fake_time.sleeps) == 1:  # while Creating: a poll lost to 500s, and one more 500 on the next
            faults.server_error("GetCustomModel", count=DEFAULT_RETRIES["total_max_attempts"] + 1)
        if len(fake_time.sleeps) == 2:
            (model,) = aws.bedrock.list_custom_models()["modelSummaries"]
            faults.bedrock_fail(model["modelArn"], "the checkpoint is not a Nova checkpoint")

    fake_time.hooks.append(fail_the_model)
    deployer = BedrockDeployer(aws, poll_seconds=1, sleep=fake_time.sleep, clock=fake_time.clock)
    with pytest.raises(DeploymentError, match="the checkpoint is not a Nova checkpoint") as info:
        deployer.deploy(Model.NOVA_MICRO, CHECKPOINT, role_arn=bedrock_ready)
    assert info.value.reason == "the checkpoint is not a Nova checkpoint"
    assert len(aws.bedrock.list_custom_models()["modelSummaries"]) == 1
