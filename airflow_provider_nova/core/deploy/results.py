"""What a deploy hands back: each step's resource, the finished deployment, or the error listing what exists."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from airflow_provider_nova.core.enums import DeployPlatform
from airflow_provider_nova.core.errors import ConfigurationError, NovaError


@dataclass(frozen=True)
class Started:
    """A Bedrock resource a step created or found.

    :param arn: the resource's ARN.
    :param created: True when this step created it, False when an earlier attempt had.
    :param replaced: the ARN of a ``Failed`` resource of the same name this step deleted first, if any.
    """

    arn: str
    created: bool
    replaced: str | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON primitives only (for XComs and trigger kwargs)."""
        return {"arn": self.arn, "created": self.created, "replaced": self.replaced}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Started:
        arn, created, replaced = data.get("arn"), data.get("created"), data.get("replaced")
        if not isinstance(arn, str) or not isinstance(created, bool) or not isinstance(replaced, (str, type(None))):
            raise ConfigurationError(f"not a started Bedrock resource: {data!r}")
        return cls(arn, created, replaced)


class EndpointInfo(BaseModel):
    """Where a deployed model is invoked: ``uri`` is the deployment ARN (OD) or provisioned model ARN (PT)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    platform: DeployPlatform
    endpoint_name: str
    uri: str
    model_artifact_path: str
    created_at: datetime


class DeploymentResult(BaseModel):
    """A finished deployment; ``uri`` is the custom model ARN, ``endpoint.uri`` what callers invoke.

    ``created`` lists the ARNs this deploy created, ``reused`` those an earlier attempt had created.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    endpoint: EndpointInfo
    platform: DeployPlatform
    endpoint_name: str
    uri: str
    model_artifact_path: str
    created_at: datetime
    status: str
    created: list[str] = []
    reused: list[str] = []


class DeploymentError(NovaError):
    """A deploy failed part-way; ``created`` and ``reused`` list the Bedrock ARNs that exist.

    :param message: what went wrong.
    :param created: ARNs this deploy created (they exist and may be billed).
    :param reused: ARNs an earlier attempt had created.
    :param failed_arn: the resource that failed or timed out, when one did.
    :param reason: Bedrock's failure message, when it gave one.
    """

    def __init__(
        self,
        message: str,
        created: Iterable[str] = (),
        reused: Iterable[str] = (),
        failed_arn: str | None = None,
        reason: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.created = list(created)
        self.reused = list(reused)
        self.failed_arn = failed_arn
        self.reason = reason

    def record(self, started: Iterable[Started]) -> DeploymentError:
        """Put the ARNs of the steps that ran first in ``created`` and ``reused``; return self."""
        done = list(started)
        created = [s.arn for s in done if s.created]
        reused = [s.arn for s in done if not s.created]
        self.created = created + [arn for arn in self.created if arn not in created]
        self.reused = reused + [arn for arn in self.reused if arn not in reused]
        return self

    def __str__(self) -> str:
        parts = [self.message]
        if self.created:
            parts.append(
                f"created by this deploy (they exist and may be billed until deleted): {', '.join(self.created)}"
            )
        if self.reused:
            parts.append(f"reused from an earlier attempt: {', '.join(self.reused)}")
        return "; ".join(parts)
