"""AwsClients: one place clients come from (a factory, a session or the default), shared safely by threads."""

from __future__ import annotations

import threading
from typing import Any

import boto3
import pytest

from airflow_provider_nova.core import AwsCallError, AwsClients, ConfigurationError
from airflow_provider_nova.core.aws import aws_errors, error_code

DEAD = "http://127.0.0.1:9"  # the discard port: nothing answers


class Factory:
    """A client factory like the Airflow hook's: it decides region and endpoint, and counts its calls."""

    def __init__(self, endpoint_url: str, region: str = "eu-west-1") -> None:
        self.session = boto3.Session(region_name=region)
        self.endpoint_url = endpoint_url
        self.built: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, service: str) -> Any:
        with self._lock:
            self.built.append(service)
        return self.session.client(service, endpoint_url=self.endpoint_url)


def test_clients_come_from_the_factory_with_its_region_and_endpoint(sandbox: Any) -> None:
    factory = Factory(sandbox.endpoint_url)
    clients = AwsClients(client_factory=factory)
    assert clients.region_name == "eu-west-1"  # read from the factory's clients, not the environment's us-east-1
    assert clients.endpoint_of("sagemaker") == sandbox.endpoint_url
    assert clients.account_id() == "123456789012"
    clients.account_id()
    assert factory.built.count("sts") == 1  # one client per service, one GetCallerIdentity per AwsClients
    assert clients.s3 is clients.client("s3")


def test_a_factory_and_a_session_or_endpoint_together_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="either client_factory or session/endpoint_url"):
        AwsClients(boto3.Session(), client_factory=Factory(DEAD))
    with pytest.raises(ConfigurationError, match="either client_factory or session/endpoint_url"):
        AwsClients(endpoint_url=DEAD, client_factory=Factory(DEAD))


def test_threads_share_one_client_per_service(sandbox: Any) -> None:
    factory = Factory(sandbox.endpoint_url)
    clients = AwsClients(client_factory=factory)
    seen: list[Any] = []
    barrier = threading.Barrier(8)

    def use() -> None:
        barrier.wait()
        seen.append(clients.client("sagemaker"))

    threads = [threading.Thread(target=use) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(c) for c in seen}) == 1
    assert factory.built == ["sagemaker"]


def test_no_region_anywhere_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.delenv("AWS_REGION", raising=False)
    with pytest.raises(ConfigurationError, match="no AWS region is configured"):
        _ = AwsClients().region_name


def test_a_dropped_connection_is_an_aws_call_error() -> None:
    clients = AwsClients(region_name="us-east-1", endpoint_url=DEAD)
    with pytest.raises(AwsCallError) as info, aws_errors("ListTrainingJobs"):
        clients.sagemaker.list_training_jobs()
    assert info.value.operation == "ListTrainingJobs"
    assert error_code(info.value) == "EndpointConnectionError"


def test_a_service_error_keeps_the_service_code(aws: AwsClients) -> None:
    failed = r"DescribeTrainingJob failed \(ValidationException\)"
    with pytest.raises(AwsCallError, match=failed) as info, aws_errors("DescribeTrainingJob"):
        aws.sagemaker.describe_training_job(TrainingJobName="never-started")
    assert info.value.code == "ValidationException"


@pytest.mark.parametrize(
    ("code", "status", "transient"),
    [
        ("ThrottlingException", 400, True),
        ("InternalFailure", 500, True),
        ("SomethingNew", 503, True),  # any 5xx answer
        ("EndpointConnectionError", None, True),  # no answer at all
        ("ValidationException", 400, False),
        ("AccessDeniedException", 403, False),
    ],
)
def test_throttling_5xx_and_no_answer_are_transient(code: str, status: int | None, transient: bool) -> None:
    from botocore.exceptions import ClientError

    from airflow_provider_nova.core.aws import is_transient

    error = AwsCallError("ListTrainingJobs", code, "m")
    if status is not None:
        error.__cause__ = ClientError(
            {"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "ListTrainingJobs"
        )
    assert is_transient(error) is transient
    assert is_transient(ValueError("not an AWS call")) is False
