"""Find the IAM role a SageMaker job runs as."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

from airflow_provider_nova.core.aws import aws_errors, error_code
from airflow_provider_nova.core.errors import AwsCallError, ConfigurationError
from airflow_provider_nova.core.formats import check_shape

if TYPE_CHECKING:
    from airflow_provider_nova.core.aws import AwsClients

# Matched with fullmatch (``$`` would accept a trailing newline); IAM names are ASCII only.
ROLE_ARN = re.compile(r"arn:aws[a-z\-]*:iam::\d{12}:role/(?:[\w+=,.@\-]+/){0,100}[\w+=,.@\-]{1,64}", re.ASCII)
_ROLE_NAME = re.compile(r"[\w+=,.@\-]{1,64}", re.ASCII)
_ASSUMED = re.compile(r"arn:(aws[a-z\-]*):sts::(\d{12}):assumed-role/([^/]+)/[^/]+")

NEEDS = (
    "Pass execution_role= the ARN or name of an IAM role that trusts sagemaker.amazonaws.com and may "
    "read the training data, write the output path, write CloudWatch Logs (/aws/sagemaker/TrainingJobs) "
    "and pull the Nova images (for example with the AmazonSageMakerFullAccess policy)."
)


NOTEBOOK_METADATA = Path("/opt/ml/metadata/resource-metadata.json")


def resolve_execution_role(
    clients: AwsClients, execution_role: str | None, metadata_path: Path = NOTEBOOK_METADATA
) -> str:
    """Return the role ARN a job runs as, found the way the SageMaker SDK finds it.

    The role given; else, inside SageMaker Studio or a notebook instance (whose metadata file is at
    ``metadata_path``), that space's execution role; else the caller's own role when it is an
    assumed role (an Airflow worker's, for instance).
    """
    if execution_role:
        return _expand(clients, execution_role)
    from_notebook = _notebook_role(clients, metadata_path)
    if from_notebook:
        return from_notebook
    with aws_errors("GetCallerIdentity"):
        caller = clients.sts.get_caller_identity()["Arn"]
    match = _ASSUMED.fullmatch(caller)
    if not match:
        raise ConfigurationError(f"no execution_role given and the caller {caller} is not an IAM role. {NEEDS}")
    return _expand(clients, match.group(3))


def _notebook_role(clients: AwsClients, metadata_path: Path) -> str | None:
    """The execution role of the Studio user profile, domain or notebook instance we run in."""
    try:
        metadata = json.loads(metadata_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    sagemaker = clients.sagemaker
    domain, profile = metadata.get("DomainId"), metadata.get("UserProfileName")
    if domain and profile:
        with aws_errors("DescribeUserProfile"):
            settings = sagemaker.describe_user_profile(DomainId=domain, UserProfileName=profile).get("UserSettings", {})
        if settings.get("ExecutionRole"):
            return str(settings["ExecutionRole"])
    if domain:
        with aws_errors("DescribeDomain"):
            defaults = sagemaker.describe_domain(DomainId=domain).get("DefaultUserSettings", {})
        return str(defaults["ExecutionRole"]) if defaults.get("ExecutionRole") else None
    if metadata.get("ResourceName"):
        with aws_errors("DescribeNotebookInstance"):
            return str(sagemaker.describe_notebook_instance(NotebookInstanceName=metadata["ResourceName"])["RoleArn"])
    return None


def _expand(clients: AwsClients, role: str) -> str:
    if not isinstance(role, str):
        raise ConfigurationError(f"execution_role must be a role ARN or name (a string), got {role!r}")
    if role.startswith("arn:"):
        if len(role) > 2048 or not ROLE_ARN.fullmatch(role):
            raise ConfigurationError(
                f"execution_role {role!r} is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)"
            )
        return check_shape(role, "execution_role", "sagemaker", "RoleArn")
    if not _ROLE_NAME.fullmatch(role):
        raise ConfigurationError(f"execution_role {role!r} is neither a role ARN nor a valid role name")
    try:
        with aws_errors("GetRole"):
            arn: str = clients.iam.get_role(RoleName=role)["Role"]["Arn"]
    except AwsCallError as exc:
        if error_code(exc) == "NoSuchEntity":
            raise ConfigurationError(f"execution_role {role!r} does not exist in this account. {NEEDS}") from exc
        if error_code(exc) in ("AccessDenied", "AccessDeniedException"):
            # Without iam:GetRole, build the ARN the way the SageMaker SDK does.
            return f"arn:aws:iam::{clients.account_id()}:role/{role}"
        raise
    return arn
