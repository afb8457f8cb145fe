"""The execution role is found the way the SageMaker SDK finds it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airflow_provider_nova.core import AwsClients, ConfigurationError
from airflow_provider_nova.core.runtimes.roles import resolve_execution_role

NOTEBOOK_ROLE = "arn:aws:iam::123456789012:role/service-role/NotebookRole"
DOMAIN_ROLE = "arn:aws:iam::123456789012:role/service-role/StudioRole"


@pytest.fixture
def clients(account: dict[str, str]) -> AwsClients:
    return AwsClients(region_name="us-east-1")


def metadata(tmp_path: Path, **fields: str) -> Path:
    path = tmp_path / "resource-metadata.json"
    path.write_text(json.dumps(fields))
    return path


def test_given_role_wins(clients: AwsClients, tmp_path: Path) -> None:
    path = metadata(tmp_path, ResourceName="my-notebook")
    assert resolve_execution_role(clients, NOTEBOOK_ROLE, path) == NOTEBOOK_ROLE


def test_notebook_instance_role(clients: AwsClients, tmp_path: Path) -> None:
    clients.sagemaker.create_notebook_instance(
        NotebookInstanceName="my-notebook", InstanceType="ml.t3.medium", RoleArn=NOTEBOOK_ROLE
    )
    assert resolve_execution_role(clients, None, metadata(tmp_path, ResourceName="my-notebook")) == NOTEBOOK_ROLE


def test_studio_domain_default_role(clients: AwsClients, tmp_path: Path) -> None:
    domain = clients.sagemaker.create_domain(
        DomainName="studio", AuthMode="IAM", DefaultUserSettings={"ExecutionRole": DOMAIN_ROLE},
        SubnetIds=["subnet-1"], VpcId="vpc-1",
    )["DomainArn"].rsplit("/", 1)[1]  # fmt: skip
    assert resolve_execution_role(clients, None, metadata(tmp_path, DomainId=domain)) == DOMAIN_ROLE


def test_outside_sagemaker_the_assumed_role_is_used(
    clients: AwsClients, account: dict[str, str], tmp_path: Path
) -> None:
    assert resolve_execution_role(clients, None, tmp_path / "absent.json") == account["role_arn"]


def test_unreadable_metadata_falls_back_to_the_caller(
    clients: AwsClients, account: dict[str, str], tmp_path: Path
) -> None:
    bad = tmp_path / "resource-metadata.json"
    bad.write_text("{not json")
    assert resolve_execution_role(clients, None, bad) == account["role_arn"]


def test_role_arn_format_is_checked(clients: AwsClients) -> None:
    with pytest.raises(ConfigurationError, match="is not an IAM role ARN"):
        resolve_execution_role(clients, "arn:aws:iam::123:user/bob")
