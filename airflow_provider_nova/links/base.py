"""The base of every console link: persist the link's fields to XCom at run time, format them on request.

Modelled on the amazon provider's ``BaseAwsLink`` (same class attributes, same ``persist`` and
``get_link`` signatures) without importing it: its module loads botocore, and links are imported with
the operators at every DAG parse. Airflow 3 calls ``get_link`` on the worker when a try ends or
defers and stores the URL under ``xcom_key``; the UI reads that XCom, so a link persisted before
deferring shows while the job runs.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote

from airflow.sdk import BaseOperatorLink

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator, Context
    from airflow.sdk.types import TaskInstanceKey

log = logging.getLogger(__name__)

CONSOLE = "https://console.{aws_domain}"

# AWS partition -> the domain its console is served from.
CONSOLE_DOMAINS = {
    "aws": "aws.amazon.com",
    "aws-cn": "amazonaws.cn",
    "aws-us-gov": "amazonaws-us-gov.com",
}


def console_domain(aws_partition: str | None) -> str | None:
    """The console domain of ``aws_partition``; ``None`` for a partition without a public console here."""
    return CONSOLE_DOMAINS.get(aws_partition or "")


class NovaConsoleLink(BaseOperatorLink):
    """A link to an AWS console page, formatted from fields an operator persisted to XCom.

    Subclasses set ``name`` (the button text), ``key`` (the XCom key of the fields) and ``format_str``
    (placeholders ``aws_domain``, ``region_name`` and the subclass's fields). Field values are
    URL-escaped before formatting; a page that expects other escaping overrides ``url_values``, and
    a link whose page depends on a field overrides ``template``.
    """

    name: ClassVar[str]
    key: ClassVar[str]
    format_str: ClassVar[str]

    def format_link(self, **fields: Any) -> str:
        """The URL for ``fields``, or ``""`` when a field is missing or the partition has no console."""
        template = self.template(fields)
        if not template:
            return ""
        try:
            return template.format(**self.url_values(fields))
        except KeyError:
            return ""

    def template(self, fields: dict[str, Any]) -> str | None:
        """The URL template for ``fields``: ``format_str`` unless a subclass picks one by a field."""
        return self.format_str

    def url_values(self, fields: dict[str, Any]) -> dict[str, str]:
        """The values put into the template: each field but ``aws_domain`` percent-escaped, ``None`` left out."""
        return {k: v if k == "aws_domain" else quote(str(v), safe="") for k, v in fields.items() if v is not None}

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        """Read the persisted fields of ``ti_key`` back and format them; ``""`` when nothing was persisted."""
        from airflow.sdk.execution_time.xcom import XCom

        fields = XCom.get_value(key=self.key, ti_key=ti_key)
        return self.format_link(**fields) if isinstance(fields, dict) else ""

    @classmethod
    def persist(
        cls,
        context: Context,
        operator: BaseOperator,
        region_name: str | None,
        aws_partition: str | None,
        **fields: Any,
    ) -> None:
        """Push the link's fields to XCom under ``key`` (nothing when the operator does not push XComs).

        A failure is logged, never raised: a missing link must not fail a task that started a paid job.
        """
        if not operator.do_xcom_push:
            return
        value = {"region_name": region_name, "aws_domain": console_domain(aws_partition), **fields}
        try:
            context["ti"].xcom_push(key=cls.key, value=value)
        except Exception:
            log.warning("Could not persist the %r link", cls.name, exc_info=True)
