"""The base of every Nova operator and sensor: the amazon provider's AWS parameters, and a ``NovaHook``.

The operators take exactly the parameters the amazon provider's ``AwsBaseOperator`` takes
(``aws_conn_id``, ``region_name``, ``verify``, ``botocore_config``), template them the same way, and
hand them to the hook as its ``AwsBaseHookMixin`` does. They do not subclass it: importing that base
loads boto3 and botocore (about 290 modules, a tenth of a second), and DAG files import operators at
every parse. The hook, and with it boto3, is imported when a task runs.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import Asset, BaseOperator

if TYPE_CHECKING:
    from airflow_provider_nova.hooks.nova import NovaHook

AWS_TEMPLATE_FIELDS = ("aws_conn_id", "region_name", "verify")


def aws_template_fields(*fields: str) -> tuple[str, ...]:
    """``fields`` merged with the AWS parameters that are templated, sorted as the amazon provider does."""
    return tuple(sorted(set(AWS_TEMPLATE_FIELDS) | set(fields)))


class NovaAwsMixin:
    """The AWS connection parameters and the hook built from them (for operators and sensors alike).

    :param aws_conn_id: the Airflow ``aws`` connection; ``None`` uses boto3's default credential chain.
    :param region_name: the AWS region; the connection's when omitted.
    :param verify: whether to verify SSL certificates, or a CA bundle path.
    :param botocore_config: a botocore ``Config`` as a dict (retries, timeouts, ...).
    """

    aws_conn_id: str | None
    region_name: str | None
    verify: bool | str | None
    botocore_config: dict[str, Any] | None

    def _set_aws(
        self,
        aws_conn_id: str | None,
        region_name: str | None,
        verify: bool | str | None,
        botocore_config: dict[str, Any] | None,
    ) -> None:
        self.aws_conn_id = aws_conn_id
        self.region_name = region_name
        self.verify = verify
        self.botocore_config = botocore_config

    @property
    def aws_kwargs(self) -> dict[str, Any]:
        """The AWS parameters as plain values, as a trigger serialises them."""
        return {
            "aws_conn_id": self.aws_conn_id,
            "region_name": self.region_name,
            "verify": self.verify,
            "botocore_config": self.botocore_config,
        }

    @cached_property
    def hook(self) -> NovaHook:
        from airflow_provider_nova.hooks.nova import NovaHook

        return NovaHook(
            aws_conn_id=self.aws_conn_id, region_name=self.region_name, verify=self.verify, config=self.botocore_config
        )


class NovaBaseOperator(NovaAwsMixin, BaseOperator):
    """An operator with the AWS connection parameters and a ``NovaHook`` (see ``NovaAwsMixin``)."""

    template_fields: tuple[str, ...] = AWS_TEMPLATE_FIELDS

    def __init__(
        self,
        *,
        aws_conn_id: str | None = "aws_default",
        region_name: str | None = None,
        verify: bool | str | None = None,
        botocore_config: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._set_aws(aws_conn_id, region_name, verify, botocore_config)

    def publish_outlets(self, context: Any, extra: dict[str, Any]) -> None:
        """Put ``extra`` on the event of every ``Asset`` in ``outlets``."""
        outlet_events = context.get("outlet_events")
        for outlet in self.outlets or ():
            if isinstance(outlet, Asset) and outlet_events is not None:
                outlet_events[outlet].extra = dict(extra)
