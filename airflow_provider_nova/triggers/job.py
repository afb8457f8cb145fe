"""``NovaJobTrigger``: wait for a Nova job in the triggerer, and ``check_event`` to read what it reports.

Why threads and not aiobotocore: the amazon provider's async triggers need aiobotocore, which pins
botocore tightly and is not a dependency of this provider; and the waiting must go through the core's
job seam (``describe_many``, ``stop``) so that status mapping lives in one place. The core is
synchronous boto3, so every AWS call (and the Airflow connection read that building a ``NovaHook``
does) runs in a worker thread with ``asyncio.to_thread``; the event loop never blocks. Waits on jobs
with the same connection parameters and platform share one poll (see ``triggers/_poller.py``), so a
hundred deferred jobs cost one ``ListTrainingJobs`` per interval rather than a hundred describes,
and threads are needed only for those few calls.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_nova.core.enums import JobStatus
from airflow_provider_nova.core.errors import JobFailedError, NovaError, WaitTimeoutError
from airflow_provider_nova.core.lifecycle import JobRef, JobState, check_poll
from airflow_provider_nova.triggers._poller import waiting

EVENT_STATUSES = ("success", "failed", "timeout", "error")


class NovaJobTrigger(BaseTrigger):
    """Fire one event when a Nova job ends, the wait times out, or the job cannot be followed.

    The event's payload: ``status`` (``success`` for a completed job, ``failed`` for a failed or
    stopped one, ``timeout``, ``error``), ``job`` (the job reference), ``state`` (the job's last
    ``JobState`` as JSON, or None), ``message``; a timeout event also has ``waited_seconds``.

    :param job: the job's ``JobRef.to_json()``.
    :param aws_conn_id: the Airflow ``aws`` connection.
    :param region_name: the AWS region; the job's own region when omitted.
    :param verify: whether to verify SSL certificates, or a CA bundle path.
    :param botocore_config: a botocore ``Config`` as a dict.
    :param poll_interval: seconds between status polls (shared with other waits; the shortest wins).
    :param timeout: give up after this many seconds (the job keeps running); no limit when None.
    :param stop_on_kill: stop the job when a user kills the deferred task (off for a sensor that only
        watches a job something else started).
    """

    def __init__(
        self,
        job: dict[str, Any],
        *,
        aws_conn_id: str | None = None,
        region_name: str | None = None,
        verify: bool | str | None = None,
        botocore_config: dict[str, Any] | None = None,
        poll_interval: float = 60,
        timeout: float | None = None,
        stop_on_kill: bool = True,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        check_poll(poll_interval, timeout)
        self.job = dict(job)
        self.aws_conn_id = aws_conn_id
        self.region_name = region_name
        self.verify = verify
        self.botocore_config = botocore_config
        self.poll_interval = poll_interval
        self.timeout = timeout
        self.stop_on_kill = stop_on_kill

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "job": dict(self.job),
                "aws_conn_id": self.aws_conn_id,
                "region_name": self.region_name,
                "verify": self.verify,
                "botocore_config": self.botocore_config,
                "poll_interval": self.poll_interval,
                "timeout": self.timeout,
                "stop_on_kill": self.stop_on_kill,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        yield TriggerEvent(await self._wait())  # type: ignore[no-untyped-call]

    async def _wait(self) -> dict[str, Any]:
        try:
            ref = JobRef.from_json(self.job)
        except NovaError as exc:
            return self._payload("error", None, str(exc))
        started = time.monotonic()
        with waiting(self._poll_key(ref), ref.job_name, self.poll_interval, lambda: self._jobs(ref)) as waiter:
            try:
                outcome = await asyncio.wait_for(waiter.done, self.timeout)
            except TimeoutError:
                waited = time.monotonic() - started
                last = "unknown" if waiter.last is None else waiter.last.raw
                message = str(WaitTimeoutError(_what(ref), last, waited))
                return {**self._payload("timeout", waiter.last, message, ref), "waited_seconds": waited}
        if isinstance(outcome, BaseException):
            return self._payload("error", waiter.last, f"cannot follow {_what(ref)}: {outcome}", ref)
        if outcome.status is JobStatus.COMPLETED:
            return self._payload("success", outcome, f"{_what(ref)} completed", ref)
        return self._payload("failed", outcome, str(JobFailedError(ref.job_name, outcome.raw, outcome.reason)), ref)

    def _payload(self, status: str, state: JobState | None, message: str, ref: JobRef | None = None) -> dict[str, Any]:
        job = ref.to_json() if ref is not None else dict(self.job)
        return {"status": status, "job": job, "state": None if state is None else state.to_json(), "message": message}

    def _poll_key(self, ref: JobRef) -> tuple[Any, ...]:
        config = json.dumps(self.botocore_config, sort_keys=True, default=str)
        place = (ref.cluster_name, ref.namespace)  # HyperPod: one poll per cluster and namespace
        return (self.aws_conn_id, self.region_name or ref.region, self.verify, config, ref.platform.value, *place)

    def _jobs(self, ref: JobRef) -> Any:
        """The platform's job service on clients from the connection (blocking: run it in a thread)."""
        from airflow_provider_nova.core.runtimes import jobs_for
        from airflow_provider_nova.hooks.nova import NovaHook

        hook = NovaHook(
            aws_conn_id=self.aws_conn_id,
            region_name=self.region_name or ref.region,
            verify=self.verify,
            config=self.botocore_config,
        )
        jobs = jobs_for(ref.platform, hook.clients)
        if ref.cluster_name is not None and ref.namespace is not None:  # HyperPod: follow jobs by name there
            return jobs.in_namespace(ref.cluster_name, ref.namespace)
        return jobs

    async def on_kill(self) -> None:
        """Stop the job: the user marked the deferred task failed or success, or cleared it."""
        if not self.stop_on_kill:
            return
        ref = JobRef.from_json(self.job)
        self.log.info("Stopping %s because its task was killed", _what(ref))
        await asyncio.to_thread(lambda: self._jobs(ref).stop(ref))

    # cleanup() is BaseTrigger's: it runs at every exit, triggerer restarts too, so it must not stop the job.


def _what(ref: JobRef) -> str:
    return f"{ref.platform.value} job {ref.job_name}"


def check_event(event: Any) -> JobState:
    """The final ``JobState`` of a successful ``NovaJobTrigger`` event; raise for any other.

    :raises JobFailedError: the job failed or was stopped (with the service's reason).
    :raises WaitTimeoutError: the wait gave up; the job keeps running.
    :raises NovaError: the job could not be followed, or ``event`` is not such an event.
    """
    if not isinstance(event, dict) or event.get("status") not in EVENT_STATUSES:
        raise NovaError(f"not a Nova job trigger event: {event!r}")
    status, message, raw_state = event["status"], str(event.get("message", "")), event.get("state")
    job: dict[str, Any] = event["job"] if isinstance(event.get("job"), dict) else {}
    name = str(job.get("job_name", "?"))
    state = _state_of(raw_state, event) if raw_state is not None else None
    if status == "success" and state is not None and state.status is JobStatus.COMPLETED:
        return state
    if status == "failed" and state is not None:
        raise JobFailedError(name, state.raw, state.reason)
    if status == "timeout":
        waited = event.get("waited_seconds")
        last = state.raw if state is not None else "unknown"
        seconds = float(waited) if isinstance(waited, (int, float)) else 0.0
        raise WaitTimeoutError(f"{job.get('platform', 'Nova')} job {name}", last, seconds)
    if status == "error":
        raise NovaError(message or f"waiting for job {name} failed")
    raise NovaError(f"not a Nova job trigger event: {event!r}")


def _state_of(data: Any, event: dict[str, Any]) -> JobState:
    try:
        return JobState(JobStatus(data["status"]), str(data["raw"]), data.get("reason"), data.get("secondary"))
    except (KeyError, TypeError, ValueError, AttributeError):
        raise NovaError(f"not a Nova job trigger event: {event!r}") from None
