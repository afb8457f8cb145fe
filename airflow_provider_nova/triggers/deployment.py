"""``NovaDeploymentTrigger``: wait in the triggerer for one Bedrock custom model, deployment or throughput.

The trigger describes the resource through the core (``BedrockDeployer.model_state`` or
``endpoint_state``) in a worker thread, so the event loop never blocks, and yields exactly one
event::

    {"status": "success" | "failed" | "timeout" | "error", "resource": "model" | "endpoint",
     "arn": ..., "state": JobState.to_json() or None, "message": ..., "waited_seconds": ...}

``check_deployment_event`` turns an event back into the core's errors on the worker.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

if TYPE_CHECKING:
    from airflow_provider_nova.core.lifecycle import JobState

RESOURCES = ("model", "endpoint")


def describe_what(resource: str, platform: str | None) -> str:
    """``Bedrock custom model``, ``Bedrock on-demand deployment`` or ``Bedrock provisioned throughput``."""
    if resource == "model":
        return "Bedrock custom model"
    from airflow_provider_nova.core.deploy.plan import ENDPOINT_KIND
    from airflow_provider_nova.core.enums import DeployPlatform

    return f"Bedrock {ENDPOINT_KIND[DeployPlatform[platform or 'BEDROCK_OD']]}"


class NovaDeploymentTrigger(BaseTrigger):
    """Wait for a Bedrock custom model (``resource="model"``) or its deployment (``"endpoint"``) to finish.

    :param resource: ``"model"`` (a custom model ARN) or ``"endpoint"`` (a deployment or throughput ARN).
    :param arn: the resource's ARN.
    :param platform: for endpoints, the ``DeployPlatform`` name: ``BEDROCK_OD`` or ``BEDROCK_PT``.
    :param poll_interval: seconds between status checks.
    :param timeout: seconds to wait before a ``timeout`` event (None: no limit); Bedrock goes on creating.
    :param carry: JSON the event hands back unchanged, for the method that resumes (runners that
        drop ``defer(kwargs=...)`` once an event exists, as ``dag.test()`` does, still pass it on).
    :raises ConfigurationError: an unknown resource or platform, or a bad interval or timeout.
    """

    def __init__(
        self,
        resource: str,
        arn: str,
        *,
        platform: str | None = None,
        aws_conn_id: str | None = None,
        region_name: str | None = None,
        verify: bool | str | None = None,
        botocore_config: dict[str, Any] | None = None,
        poll_interval: float = 30,
        timeout: float | None = None,
        carry: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        _check(resource, platform, poll_interval, timeout)
        self.resource = resource
        self.arn = arn
        self.platform = platform
        self.aws_conn_id = aws_conn_id
        self.region_name = region_name
        self.verify = verify
        self.botocore_config = botocore_config
        self.poll_interval = poll_interval
        self.timeout = timeout
        self.carry = carry
        self.clock: Callable[[], float] = time.monotonic  # replaced in tests; not serialised
        self.sleep: Callable[[float], Any] = asyncio.sleep

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "resource": self.resource,
                "arn": self.arn,
                "platform": self.platform,
                "aws_conn_id": self.aws_conn_id,
                "region_name": self.region_name,
                "verify": self.verify,
                "botocore_config": self.botocore_config,
                "poll_interval": self.poll_interval,
                "timeout": self.timeout,
                "carry": self.carry,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        start = self.clock()
        try:
            describe = await asyncio.to_thread(self._describer)
        except Exception as exc:  # building the hook: a bad connection, say
            yield self._event("error", None, f"cannot check {self._what()}: {exc}", start)
            return
        from airflow_provider_nova.core.aws import is_transient

        last: JobState | None = None
        while True:
            try:
                last = await asyncio.to_thread(describe)
            except Exception as exc:
                if not is_transient(exc):  # the core's rule, as the job trigger's poller uses it
                    yield self._event("error", last, f"cannot check {self._what()}: {exc}", start)
                    return
                self.log.warning("Checking %s failed, trying again in %s s: %s", self._what(), self.poll_interval, exc)
            if last is not None and last.status.is_terminal:
                yield self._final(last, start)
                return
            waited = self.clock() - start
            if self.timeout is not None and waited >= self.timeout:
                still = last.raw if last is not None else "unknown"
                message = f"{self._what()} still {still} after {waited:g} s; Bedrock goes on creating it"
                yield self._event("timeout", last, message, start)
                return
            pause = self.poll_interval if self.timeout is None else min(self.poll_interval, self.timeout - waited)
            await self.sleep(pause)

    def _describer(self) -> Callable[[], JobState]:
        """The core's describe for this resource, over clients from the connection (runs in a thread)."""
        from airflow_provider_nova.core.deploy import BedrockDeployer
        from airflow_provider_nova.core.enums import DeployPlatform
        from airflow_provider_nova.hooks.nova import NovaHook

        hook = NovaHook(
            aws_conn_id=self.aws_conn_id, region_name=self.region_name, verify=self.verify, config=self.botocore_config
        )
        deployer = BedrockDeployer(hook.clients, poll_seconds=self.poll_interval)
        if self.resource == "model":
            return lambda: deployer.model_state(self.arn)
        platform = DeployPlatform[self.platform or "BEDROCK_OD"]
        return lambda: deployer.endpoint_state(platform, self.arn)

    def _what(self) -> str:
        return f"{describe_what(self.resource, self.platform)} {self.arn}"

    def _final(self, state: JobState, start: float) -> TriggerEvent:
        from airflow_provider_nova.core.enums import JobStatus

        if state.status is JobStatus.COMPLETED:
            return self._event("success", state, f"{self._what()} is {state.raw}", start)
        return self._event(
            "failed", state, f"{self._what()} is {state.raw}: {state.reason or 'no reason given'}", start
        )

    def _event(self, status: str, state: JobState | None, message: str, start: float) -> TriggerEvent:
        return TriggerEvent(  # type: ignore[no-untyped-call]
            {
                "status": status,
                "resource": self.resource,
                "arn": self.arn,
                "state": None if state is None else state.to_json(),
                "message": message,
                "waited_seconds": round(self.clock() - start, 3),
                **({"carry": self.carry} if self.carry is not None else {}),
            }
        )


def _check(resource: Any, platform: Any, poll_interval: Any, timeout: Any) -> None:
    from airflow_provider_nova.core.errors import ConfigurationError
    from airflow_provider_nova.core.lifecycle import check_poll

    if resource not in RESOURCES:
        raise ConfigurationError(f"resource must be 'model' or 'endpoint', got {resource!r}")
    if resource == "endpoint" and platform not in ("BEDROCK_OD", "BEDROCK_PT"):
        raise ConfigurationError(f"platform must be BEDROCK_OD or BEDROCK_PT for an endpoint, got {platform!r}")
    check_poll(poll_interval, timeout)


def check_deployment_event(event: Any) -> dict[str, Any]:
    """Return a ``success`` event; raise the core's error for any other.

    :raises DeploymentError: the resource failed (with Bedrock's reason), it could not be checked,
        or the event is malformed.
    :raises WaitTimeoutError: the wait gave up; the resource is still being created.
    """
    from airflow_provider_nova.core.deploy import DeploymentError
    from airflow_provider_nova.core.errors import WaitTimeoutError

    if not isinstance(event, dict) or event.get("status") not in ("success", "failed", "timeout", "error"):
        raise DeploymentError(f"malformed deployment trigger event: {event!r}")
    if event["status"] == "success":
        return event
    arn = event.get("arn")
    state: dict[str, Any] = event["state"] if isinstance(event.get("state"), dict) else {}
    message = str(event.get("message") or f"the wait for {arn} ended {event['status']}")
    if event["status"] == "timeout":
        what = f"Bedrock {event.get('resource')} {arn}"
        raise WaitTimeoutError(what, str(state.get("raw") or "unknown"), float(event.get("waited_seconds") or 0))
    raise DeploymentError(message, failed_arn=arn, reason=state.get("reason"))
