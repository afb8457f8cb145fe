"""One status poll per AWS connection, region and platform, shared by every job trigger waiting there.

A triggerer runs many deferred tasks in one event loop. Polling each job on its own would send one
``DescribeTrainingJob`` per job per interval; here every trigger with the same connection parameters
and platform registers a ``Waiter`` with one ``JobPoller``, whose task asks the core's
``describe_many`` once per interval for all their jobs (``ListTrainingJobs`` pages, and a describe
only for a job that failed or was stopped, for its reason) and hands each waiter its state.

- The interval is the smallest ``poll_interval`` among the waiters; a waiter that asks for a shorter
  one wakes the poller.
- A waiter is settled with the job's final ``JobState``, or with the error that makes following the
  job impossible (the job does not exist, the service reports an unknown state, the connection or
  platform is unusable). Transient AWS errors (throttling, 5xx, no answer) are logged and the poll is
  made again at the next interval; no waiter fails for them.
- When a shared poll fails for another reason, the jobs are described one by one in that round, so
  only the waiters whose own job is the problem are settled with the error.
- The poller's task ends when its last waiter leaves (settled, timed out or cancelled).
- Every blocking call (reading the Airflow connection, the AWS calls) runs in a worker thread.
- The registry is kept per event loop: the triggerer runs one; tests run several ``asyncio.run``\\ s.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING, Any, Union

from airflow_provider_nova.core.aws import is_transient

if TYPE_CHECKING:
    from airflow_provider_nova.core.lifecycle import JobState

log = logging.getLogger(__name__)

Outcome = Union["JobState", BaseException]  # what settles a waiter: the final state or the error
Connect = Callable[[], Any]  # builds the platform's job service (blocking: reads the Airflow connection)


class Waiter:
    """One trigger's wait for one job: settled once, with its last non-final state kept for a timeout."""

    def __init__(self, job_name: str, interval: float) -> None:
        self.job_name = job_name
        self.interval = interval
        self.done: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self.last: JobState | None = None

    def settle(self, outcome: Outcome) -> None:
        if not self.done.done():
            self.done.set_result(outcome)


class JobPoller:
    """The shared poll of one key's jobs: one task, one ``describe_many`` per interval."""

    def __init__(self, key: Any, connect: Connect, registry: dict[Any, JobPoller]) -> None:
        self.key = key
        self.connect = connect
        self.registry = registry
        self.waiters: set[Waiter] = set()
        self.task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    @property
    def interval(self) -> float:
        return min(w.interval for w in self.waiters)

    def add(self, waiter: Waiter) -> None:
        if self.waiters and waiter.interval < self.interval:
            self._wake.set()
        self.waiters.add(waiter)
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._run(), name=f"nova-job-poller {self.key}")

    def discard(self, waiter: Waiter) -> None:
        self.waiters.discard(waiter)
        if not self.waiters:
            if self.task is not None:
                self.task.cancel()
            if self.registry.get(self.key) is self:
                del self.registry[self.key]

    async def _run(self) -> None:
        try:
            jobs = await asyncio.to_thread(self.connect)
        except Exception as exc:  # no usable connection, an unsupported platform: no waiter can be served
            log.error("cannot poll Nova jobs for %s: %s", self.key, exc)
            for waiter in list(self.waiters):
                waiter.settle(exc)
            return
        while self.waiters:
            self._deliver(await self._poll(jobs, sorted({w.job_name for w in self.waiters})))
            if self.waiters:
                await self._sleep()

    async def _poll(self, jobs: Any, names: list[str]) -> dict[str, Outcome]:
        try:
            states: dict[str, Outcome] = await asyncio.to_thread(jobs.describe_many, names)
        except Exception as exc:
            if is_transient(exc):
                log.warning("polling %d Nova job(s) failed for now, trying again next interval: %s", len(names), exc)
                return {}
            return await asyncio.to_thread(_each, jobs, names)
        return states

    def _deliver(self, outcomes: dict[str, Outcome]) -> None:
        for waiter in list(self.waiters):
            outcome = outcomes.get(waiter.job_name)
            if outcome is None:
                continue
            if isinstance(outcome, BaseException):
                if is_transient(outcome):
                    log.warning("describing Nova job %s failed for now: %s", waiter.job_name, outcome)
                else:
                    waiter.settle(outcome)
                continue
            waiter.last = outcome
            if outcome.status.is_terminal:
                waiter.settle(outcome)

    async def _sleep(self) -> None:
        self._wake.clear()
        with suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), self.interval)


def _each(jobs: Any, names: list[str]) -> dict[str, Outcome]:
    """Each job described on its own, its error kept in place of its state (blocking)."""
    outcomes: dict[str, Outcome] = {}
    for name in names:
        try:
            outcomes[name] = jobs.describe(jobs.ref(name))
        except Exception as exc:  # kept for this job's waiters alone
            outcomes[name] = exc
    return outcomes


_REGISTRIES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[Any, JobPoller]] = weakref.WeakKeyDictionary()


def pollers() -> dict[Any, JobPoller]:
    """The running event loop's pollers by key."""
    return _REGISTRIES.setdefault(asyncio.get_running_loop(), {})


@contextmanager
def waiting(key: Any, job_name: str, interval: float, connect: Connect) -> Iterator[Waiter]:
    """Register a waiter for ``job_name`` with ``key``'s poller (started when absent); leave it on exit."""
    registry = pollers()
    poller = registry.get(key)
    if poller is None:
        poller = registry[key] = JobPoller(key, connect, registry)
    waiter = Waiter(job_name, interval)
    poller.add(waiter)
    try:
        yield waiter
    finally:
        poller.discard(waiter)
