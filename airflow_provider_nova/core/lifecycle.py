"""The job-lifecycle seam's values: a reference to a started job, its state, and one way to wait.

A runtime ``plan``s a job (pure: the exact request, nothing created), ``start``s the plan and
returns a ``JobRef``, ``describe``s a ref as a ``JobState`` and ``stop``s it. A ``JobRef`` is plain
JSON, so an Airflow trigger or a retry in another process can pick the job up again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from airflow_provider_nova.core.enums import JobStatus, Platform
from airflow_provider_nova.core.errors import ConfigurationError, WaitTimeoutError

log = logging.getLogger(__name__)
# A wait rides out this many transient failures of describe in a row (each one already retried by botocore).
TRANSIENT_LIMIT = 10


@dataclass(frozen=True)
class JobRef:
    """A started job: where it runs and its name there.

    :param cluster_name: the HyperPod cluster (HyperPod jobs only).
    :param namespace: the Kubernetes namespace (HyperPod jobs only).
    """

    platform: Platform
    job_name: str
    region: str
    cluster_name: str | None = None
    namespace: str | None = None

    def to_json(self) -> dict[str, str]:
        """JSON primitives only (for XComs and trigger kwargs)."""
        out = {"platform": self.platform.value, "job_name": self.job_name, "region": self.region}
        if self.cluster_name is not None:
            out["cluster_name"] = self.cluster_name
        if self.namespace is not None:
            out["namespace"] = self.namespace
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> JobRef:
        try:
            platform = Platform(data["platform"])
            extra = {k: str(data[k]) for k in ("cluster_name", "namespace") if data.get(k) is not None}
            ref = cls(platform, str(data["job_name"]), str(data["region"]), **extra)
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigurationError(f"not a job reference: {data!r} ({exc})") from None
        if platform is Platform.SMHP and (ref.cluster_name is None or ref.namespace is None):
            raise ConfigurationError(f"a HyperPod job reference needs cluster_name and namespace: {data!r}")
        return ref


@dataclass(frozen=True)
class JobState:
    """What the service says about a job now.

    :param status: the mapped status.
    :param raw: the service's own state (``InProgress``, ``Stopped``, ...).
    :param reason: the service's failure reason, when it gave one.
    :param secondary: the service's finer-grained state (SageMaker's ``SecondaryStatus``), when it has one.
    """

    status: JobStatus
    raw: str
    reason: str | None = None
    secondary: str | None = None

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["status"] = self.status.value
        return out


def check_poll(poll_seconds: Any, timeout_seconds: Any = None) -> None:
    """Reject a poll interval or timeout that is not a positive, finite number of seconds."""
    for name, value in (("poll_seconds", poll_seconds), ("timeout_seconds", timeout_seconds)):
        if value is None and name == "timeout_seconds":
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < float("inf"):
            raise ConfigurationError(f"{name} must be a positive number of seconds, got {value!r}")


def wait_for(
    describe: Callable[[], JobState],
    what: str,
    *,
    poll_seconds: float,
    timeout_seconds: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    on_change: Callable[[JobState], None] | None = None,
    transient_limit: int = TRANSIENT_LIMIT,
) -> JobState:
    """Poll ``describe`` until the state is terminal and return it (COMPLETED or FAILED).

    A transient failure of ``describe`` (throttled, a 5xx, no answer: ``core.aws.is_transient``) is
    logged and the poll made again at the next interval; more than ``transient_limit`` in a row, or any
    other error, is raised.

    :param what: names the resource in the timeout error, e.g. ``training job my-job``.
    :param timeout_seconds: give up with ``WaitTimeoutError`` after this long; the resource keeps running.
    :param on_change: called with each state that differs from the last one seen.
    """
    from airflow_provider_nova.core.aws import is_transient

    check_poll(poll_seconds, timeout_seconds)
    start = clock()
    last: JobState | None = None
    failures = 0
    while True:
        try:
            state = describe()
        except Exception as exc:
            failures += 1
            if not is_transient(exc) or failures > transient_limit:
                raise
            log.warning("checking %s failed for now (%d in a row), trying again next poll: %s", what, failures, exc)
        else:
            failures = 0
            if on_change is not None and state != last:
                on_change(state)
            last = state
            if state.status.is_terminal:
                return state
        waited = clock() - start
        if timeout_seconds is not None and waited >= timeout_seconds:
            raise WaitTimeoutError(what, last.raw if last is not None else "unknown", waited)
        sleep(poll_seconds if timeout_seconds is None else min(poll_seconds, max(timeout_seconds - waited, 0.0)))
