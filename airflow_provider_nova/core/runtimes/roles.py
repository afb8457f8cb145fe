"""Find the IAM role a SageMaker job runs as."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from airflow_provider_nova.core.aws import aws_errors, error_code
from airflow_provider_nova.core.errors import AwsCallError, ConfigurationError

if TYPE_CHECKING:
    from airflow_provider_nova.core.aws import AwsClients

ROLE_ARN = re.compile(r"^arn:aws[a-z\-]*:iam::\d{12}:role/[\w+=,.@\-/]{1,512}$")
_ROLE_NAME = re.compile(r"^[\w+=,.@\-]{1,64}$")
_ASSUMED = re.compile(r"^arn:(aws[a-z\-]*):sts::(\d{12}):assumed-role/([^/]+)/")

NEEDS = (
    "Pass execution_role= the ARN or name of an IAM role that trusts sagemaker.amazonaws.com and may "
    "read the training data, write the output path, write CloudWatch Logs (/aws/sagemaker/TrainingJobs) "
    "and pull the Nova images (for example with the AmazonSageMakerFullAccess policy)."
)


def resolve_execution_role(clients: AwsClients, execution_role: str | None) -> str:
    """Return the role ARN a job runs as: the one given, or the caller's own role."""
    if execution_role:
        return _expand(clients, execution_role)
    with aws_errors("GetCallerIdentity"):
        caller = clients.sts.get_caller_identity()["Arn"]
    match = _ASSUMED.match(caller)
    if not match:
        raise ConfigurationError(f"no execution_role given and the caller {caller} is not an IAM role. {NEEDS}")
    return _expand(clients, match.group(3))


def _expand(clients: AwsClients, role: str) -> str:
    if role.startswith("arn:"):
        if not ROLE_ARN.match(role):
            raise ConfigurationError(
                f"execution_role {role!r} is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)"
            )
        return role
    if not _ROLE_NAME.match(role):
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
