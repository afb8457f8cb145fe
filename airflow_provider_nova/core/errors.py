"""The exceptions raised by the Nova core.

::

    NovaError
     +-- ConfigurationError (also ValueError): bad input, found before any AWS call
     |    +-- RecipeError: a recipe cannot be resolved, loaded or overridden
     |    +-- DataPrepError: a dataset cannot be loaded, transformed or saved
     +-- AwsCallError: an AWS call failed; carries the service's error code
     +-- JobFailedError: a job ended in a failed state; carries job, status and reason
"""

from __future__ import annotations


class NovaError(Exception):
    """Base class of every error the Nova core raises on purpose."""


class ConfigurationError(NovaError, ValueError):
    """Input that AWS would reject, caught before any call is made."""


class RecipeError(ConfigurationError):
    """A recipe cannot be resolved, loaded, or overridden as asked."""


class DataPrepError(ConfigurationError):
    """A dataset cannot be loaded, transformed, split or saved."""


class AwsCallError(NovaError):
    """An AWS call failed; ``code`` is the service's error code."""

    def __init__(self, operation: str, code: str, message: str) -> None:
        super().__init__(f"{operation} failed ({code}): {message}")
        self.operation = operation
        self.code = code


class JobFailedError(NovaError):
    """A job reached a failed state."""

    def __init__(self, job_id: str, status: str, reason: str | None = None) -> None:
        detail = f": {reason}" if reason else ""
        super().__init__(f"job {job_id} ended {status}{detail}")
        self.job_id = job_id
        self.status = status
        self.reason = reason
