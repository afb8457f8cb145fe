"""The exceptions raised by the Nova core.

::

    NovaError
     +-- ConfigurationError (also ValueError): bad input, found before any AWS call
     |    +-- RecipeError: a recipe cannot be resolved, loaded or overridden
     |    +-- DataPrepError: a dataset cannot be loaded, transformed or saved
     +-- UnsupportedError (also NotImplementedError): a platform or feature this release does not offer
     +-- AwsCallError: an AWS call failed; carries the operation and the service's error code
     +-- KubernetesCallError: a Kubernetes API call failed; carries the operation and the HTTP status
     +-- JobFailedError: a job ended in a failed state; carries job, status and reason
     +-- UnknownStatusError: a service reported a state this package does not know
     +-- WaitTimeoutError (also TimeoutError): a wait gave up; the resource keeps running

Every error pickles and unpickles with its attributes (Airflow moves exceptions between processes).
"""

from __future__ import annotations

from typing import Any

from airflow_provider_nova.core.redact import redact


def _rebuild(cls: type[BaseException], args: tuple[Any, ...], state: dict[str, Any]) -> BaseException:
    exc = cls.__new__(cls, *args)
    exc.args = args
    exc.__dict__.update(state)
    return exc


class NovaError(Exception):
    """Base class of every error the Nova core raises on purpose."""

    def __reduce__(self) -> Any:
        # BaseException pickles as cls(*args), which fails for errors whose __init__ takes other arguments
        return (_rebuild, (type(self), self.args, dict(self.__dict__)))


class ConfigurationError(NovaError, ValueError):
    """Input that AWS would reject, caught before any call is made."""


class RecipeError(ConfigurationError):
    """A recipe cannot be resolved, loaded, or overridden as asked."""


class DataPrepError(ConfigurationError):
    """A dataset cannot be loaded, transformed, split or saved."""


class UnsupportedError(NovaError, NotImplementedError):
    """A platform, method or feature this release does not offer."""


class AwsCallError(NovaError):
    """An AWS call failed; ``code`` is the service's error code."""

    def __init__(self, operation: str, code: str, message: str) -> None:
        super().__init__(redact(f"{operation} failed ({code}): {message}"))
        self.operation = operation
        self.code = code


class KubernetesCallError(NovaError):
    """A Kubernetes API call failed; ``status`` is the HTTP status (0 when no answer came)."""

    def __init__(self, operation: str, status: int, reason: str, message: str) -> None:
        super().__init__(redact(f"{operation} failed ({status} {reason}): {message}"))
        self.operation = operation
        self.status = status
        self.reason = reason

    @property
    def transient(self) -> bool:
        """Throttled, a server error or no answer: worth trying again later."""
        return self.status in (0, 429) or self.status >= 500


class JobFailedError(NovaError):
    """A job reached a failed state."""

    def __init__(self, job_id: str, status: str, reason: str | None = None) -> None:
        detail = f": {reason}" if reason else ""
        super().__init__(f"job {job_id} ended {status}{detail}")
        self.job_id = job_id
        self.status = status
        self.reason = reason


class UnknownStatusError(NovaError):
    """A service reported a state that no mapping knows; never read as 'still in progress'."""

    def __init__(self, resource: str, raw: str, known: tuple[str, ...] = ()) -> None:
        hint = f"; known: {', '.join(known)}" if known else ""
        super().__init__(f"unknown {resource} status {raw!r}{hint}")
        self.resource = resource
        self.raw = raw


class WaitTimeoutError(NovaError, TimeoutError):
    """A wait gave up before the resource reached a final state; the resource keeps running."""

    def __init__(self, what: str, last_status: str, waited_seconds: float) -> None:
        super().__init__(f"{what} still {last_status} after {waited_seconds:g}s; it keeps running")
        self.what = what
        self.last_status = last_status
        self.waited_seconds = waited_seconds
