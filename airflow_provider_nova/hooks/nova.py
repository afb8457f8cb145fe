"""``NovaHook``: the core's AWS clients, built from an Airflow ``aws`` connection."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

if TYPE_CHECKING:
    from airflow_provider_nova.core.aws import AwsClients


class NovaHook(AwsBaseHook):
    """Clients for SageMaker, Bedrock, S3, STS, IAM and CloudWatch Logs from one ``aws`` connection.

    Every client comes from the connection the way the amazon provider builds its own: the
    connection's credentials or assumed role, its region, its per-service ``endpoint_url``, ``verify``
    and the botocore config. The core takes them through ``AwsClients(client_factory=...)``, so
    nothing falls back to the worker's default credentials. The clients (and the recipe hub's cache
    they hold) live as long as the hook.

    Takes the amazon provider's AWS hook parameters: ``aws_conn_id``, ``region_name``, ``verify``, ``config``.
    """

    hook_name = "Amazon Nova customization"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["client_type"] = "sagemaker"
        super().__init__(*args, **kwargs)

    @cached_property
    def clients(self) -> AwsClients:
        """The core's clients, one per service, built on first use."""
        from airflow_provider_nova.core.aws import AwsClients

        # No region given: the clients' own (as boto3 resolves it), read from the first one built.
        return AwsClients(region_name=self.region_name, client_factory=self.service_client)

    @property
    def partition(self) -> str:
        """The AWS partition (``aws``, ``aws-cn``, ``aws-us-gov``) of the clients' region, for console links."""
        return str(self.clients.sagemaker.meta.partition)

    def service_client(self, service: str) -> Any:
        """A boto3 client for ``service`` built as ``get_client_type`` builds the hook's own.

        Its retries are the connection's (``config_kwargs: {"retries": {...}}``, or the hook's ``config``);
        when neither nor the environment sets any, the core's ``DEFAULT_RETRIES`` (standard mode, five attempts).
        """
        from airflow_provider_nova.core.aws import retry_config

        session = self.get_session(region_name=self.region_name)
        return session.client(
            service_name=service,
            endpoint_url=self.conn_config.get_service_endpoint_url(service_name=service),
            config=retry_config(self._get_config(), session),
            verify=self.verify,
        )
