"""One factory for the boto3 clients the core uses.

The core never builds clients anywhere else: runtimes, the customizer and the results take an
``AwsClients`` (or build the default one from a boto3 session), so the Airflow hook can hand over
clients made from an Airflow connection, and tests can point everything at the local stand-in.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_nova.core.errors import AwsCallError, ConfigurationError


class AwsClients:
    """Lazily built, cached boto3 clients for one session and region.

    :param session: a ``boto3.Session``; the default session when omitted.
    :param region_name: overrides the session's region.
    :param endpoint_url: sends every call to this endpoint (the local stand-in, a VPC endpoint).
    """

    def __init__(
        self, session: Any | None = None, region_name: str | None = None, endpoint_url: str | None = None
    ) -> None:
        if session is None:
            import boto3

            session = boto3.Session(region_name=region_name)
        self.session: Any = session
        self._region = region_name or session.region_name
        self.endpoint_url = endpoint_url
        self._clients: dict[str, Any] = {}

    def __repr__(self) -> str:
        return f"AwsClients(region_name={self._region!r}, endpoint_url={self.endpoint_url!r})"

    @property
    def region_name(self) -> str:
        """The AWS region every client uses; a ConfigurationError when none is configured."""
        if not self._region:
            raise ConfigurationError(
                "no AWS region is configured: pass region_name, or set AWS_DEFAULT_REGION or a profile region"
            )
        return self._region

    def client(self, service: str) -> Any:
        """Return the cached client for ``service`` (``sagemaker``, ``s3``, ``logs``, ...)."""
        if service not in self._clients:
            kwargs: dict[str, Any] = {"region_name": self.region_name}
            if self.endpoint_url:
                kwargs["endpoint_url"] = self.endpoint_url
            self._clients[service] = self.session.client(service, **kwargs)
        return self._clients[service]

    @property
    def sagemaker(self) -> Any:
        return self.client("sagemaker")

    @property
    def s3(self) -> Any:
        return self.client("s3")

    @property
    def logs(self) -> Any:
        return self.client("logs")

    @property
    def sts(self) -> Any:
        return self.client("sts")

    @property
    def iam(self) -> Any:
        return self.client("iam")

    @property
    def bedrock(self) -> Any:
        return self.client("bedrock")

    def account_id(self) -> str:
        """Return the caller's AWS account id."""
        with aws_errors("GetCallerIdentity"):
            account: str = self.sts.get_caller_identity()["Account"]
        return account


class aws_errors:  # noqa: N801 - used as a context manager, reads like a statement
    """Translate botocore ``ClientError``s raised inside the block into ``AwsCallError``."""

    def __init__(self, operation: str) -> None:
        self.operation = operation

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        if exc is None:
            return
        from botocore.exceptions import ClientError

        if isinstance(exc, ClientError):
            error = exc.response.get("Error", {})
            raise AwsCallError(self.operation, error.get("Code", "Unknown"), error.get("Message", "")) from exc


def error_code(exc: BaseException) -> str | None:
    """Return the service error code of a wrapped or raw botocore ClientError."""
    if isinstance(exc, AwsCallError):
        return exc.code
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code: str | None = response.get("Error", {}).get("Code")
        return code
    return None
