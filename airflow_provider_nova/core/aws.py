"""One factory for the boto3 clients the core uses.

The core never builds clients anywhere else: runtimes, the customizer and the results take an
``AwsClients`` (or build the default one from a boto3 session), so the Airflow hook can hand over
clients made from an Airflow connection, and tests can point everything at the local stand-in.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

from airflow_provider_nova.core.cache import RecipeCache
from airflow_provider_nova.core.errors import AwsCallError, ConfigurationError, KubernetesCallError
from airflow_provider_nova.core.redact import install_log_redaction


class AwsClients:
    """Lazily built, cached AWS clients for one identity and region; safe to share between threads.

    Clients come from exactly one place: ``client_factory`` when given (the Airflow hook's
    ``get_client_type``, so the connection's credentials, assumed role, region, ``endpoint_url``,
    ``verify`` and botocore config reach every call), else ``session``, else boto3's default session.
    Nothing falls back to default credentials once a factory or session was given.

    :param session: a ``boto3.Session``; the default session when neither it nor a factory is given.
    :param region_name: the region; the session's (or the factory's clients') region when omitted.
    :param endpoint_url: sends every call to this endpoint (the local stand-in, a VPC endpoint); with a
        factory, the factory decides and this is left unset.
    :param client_factory: ``factory(service_name) -> client``.
    :param config: a botocore ``Config`` for every client built from ``session``; its ``retries`` (or the
        environment's ``AWS_RETRY_MODE``/``AWS_MAX_ATTEMPTS``) win over ``DEFAULT_RETRIES``.
    """

    def __init__(
        self,
        session: Any | None = None,
        region_name: str | None = None,
        endpoint_url: str | None = None,
        *,
        client_factory: Callable[[str], Any] | None = None,
        config: Any | None = None,
    ) -> None:
        install_log_redaction()  # botocore logs headers and signatures at DEBUG
        if client_factory is not None and (session is not None or endpoint_url is not None or config is not None):
            raise ConfigurationError(
                "pass either client_factory or session/endpoint_url/config to AwsClients, not both"
            )
        if client_factory is None and session is None:
            import boto3

            session = boto3.Session(region_name=region_name)
        self.session: Any = session
        self._factory = client_factory
        self._region = region_name or (session.region_name if session is not None else None)
        self.endpoint_url = endpoint_url
        self.config = config
        self._clients: dict[str, Any] = {}
        self._account: str | None = None
        self._lock = threading.RLock()
        self.recipe_cache = RecipeCache()  # what the recipe hub answered these clients, kept an hour

    def __repr__(self) -> str:
        return f"AwsClients(region_name={self._region!r}, endpoint_url={self.endpoint_url!r})"

    @property
    def region_name(self) -> str:
        """The AWS region every client uses; a ConfigurationError when none is configured."""
        if not self._region and self._factory is not None:
            self._region = self.client("sts").meta.region_name
        if not self._region:
            raise ConfigurationError(
                "no AWS region is configured: pass region_name, or set AWS_DEFAULT_REGION or a profile region"
            )
        return self._region

    def client(self, service: str) -> Any:
        """Return the cached client for ``service`` (``sagemaker``, ``s3``, ``logs``, ...)."""
        with self._lock:
            if service not in self._clients:
                self._clients[service] = self._build(service)
            return self._clients[service]

    def _build(self, service: str) -> Any:
        if self._factory is not None:
            return self._factory(service)
        kwargs: dict[str, Any] = {"region_name": self.region_name, "config": retry_config(self.config, self.session)}
        if self.endpoint_url:
            kwargs["endpoint_url"] = self.endpoint_url
        return self.session.client(service, **kwargs)

    def endpoint_of(self, service: str) -> str:
        """The endpoint ``service``'s client really sends to."""
        return str(self.client(service).meta.endpoint_url)

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
        """Return the caller's AWS account id (asked once)."""
        if self._account is None:
            with aws_errors("GetCallerIdentity"):
                self._account = str(self.sts.get_caller_identity()["Account"])
        return self._account


# botocore's standard retry mode with five attempts in all: the first call and up to four retries, each
# after a jittered exponential backoff (up to 1, 2, 4, 8 s after throttling; 50 ms based after a 5xx or a
# dropped connection). Throttling codes, 500/502/503/504 answers and connections that gave no answer are retried.
DEFAULT_RETRIES: dict[str, Any] = {"mode": "standard", "total_max_attempts": 5}
RETRY_VARIABLES = ("AWS_RETRY_MODE", "AWS_MAX_ATTEMPTS")


def retry_config(config: Any | None = None, session: Any | None = None) -> Any:
    """``config`` (a botocore ``Config``) with ``DEFAULT_RETRIES`` unless retries are already configured.

    Retries are configured by ``config.retries`` (an Airflow connection's ``config_kwargs``), by the
    ``AWS_RETRY_MODE``/``AWS_MAX_ATTEMPTS`` environment variables, or by ``retry_mode``/``max_attempts``
    in the boto3 ``session``'s profile; any of them is left to botocore as it is.
    """
    from botocore.config import Config

    config = config if config is not None else Config()
    if config.retries or _retries_configured_outside(session):
        return config
    return Config(retries=dict(DEFAULT_RETRIES)).merge(config)


def _retries_configured_outside(session: Any | None) -> bool:
    if any(os.environ.get(name) for name in RETRY_VARIABLES):
        return True
    botocore_session = getattr(session, "_session", session)  # boto3's Session wraps botocore's
    try:
        profile = botocore_session.get_scoped_config() if botocore_session is not None else {}
    except Exception:
        return False
    return isinstance(profile, dict) and bool(profile.get("retry_mode") or profile.get("max_attempts"))


class aws_errors:  # noqa: N801 - used as a context manager, reads like a statement
    """Translate botocore's errors raised inside the block into ``AwsCallError``.

    A service error keeps the service's code; an error with no answer (``EndpointConnectionError``,
    ``ReadTimeoutError``, ``NoCredentialsError``, ...) has its botocore class name as the code.
    """

    def __init__(self, operation: str) -> None:
        self.operation = operation

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        if exc is None:
            return
        from botocore.exceptions import BotoCoreError, ClientError

        if isinstance(exc, ClientError):
            error = exc.response.get("Error", {})
            raise AwsCallError(self.operation, error.get("Code", "Unknown"), error.get("Message", "")) from exc
        if isinstance(exc, BotoCoreError):  # no answer: connection dropped, timed out, no credentials, ...
            raise AwsCallError(self.operation, type(exc).__name__, str(exc)) from exc


def error_code(exc: BaseException) -> str | None:
    """Return the service error code of a wrapped or raw botocore ClientError."""
    if isinstance(exc, AwsCallError):
        return exc.code
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code: str | None = response.get("Error", {}).get("Code")
        return code
    return None


# Service codes of throttling and of passing service trouble, and botocore's no-answer errors (by class
# name, as aws_errors records them): calls that may well succeed when made again a little later.
TRANSIENT_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "RequestThrottled",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "SlowDown",
        "PriorRequestNotComplete",
        "RequestTimeout",
        "RequestTimeoutException",
        "InternalFailure",
        "InternalError",
        "InternalServerError",
        "InternalServerException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "EndpointConnectionError",
        "ConnectionClosedError",
        "ConnectTimeoutError",
        "ReadTimeoutError",
        "ProxyConnectionError",
        "HTTPClientError",
        "ConnectionError",
    }
)


def is_transient(exc: BaseException) -> bool:
    """Whether a failed AWS (or Kubernetes API) call is worth making again later: throttled, a 5xx answer, or none."""
    if isinstance(exc, KubernetesCallError):
        return exc.transient
    if error_code(exc) in TRANSIENT_CODES:
        return True
    response = getattr(exc.__cause__ if isinstance(exc, AwsCallError) else exc, "response", None)
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode") if isinstance(response, dict) else None
    return isinstance(status, int) and status >= 500
