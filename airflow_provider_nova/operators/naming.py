"""Job names an operator can find again: derived from the task instance, never random.

A retry of a task must find the job its earlier try started, even when that try died before
telling anyone, so the name is a function of the DAG, the run, the task and the map index. A
name stays a valid SageMaker job name (``[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}``) with room for ``-<n>``.
Pure standard library: operators import this at DAG parse time.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import Any

MAX_NAME = 63
_BASE = 56  # leaves room for "-999" when a name must be replaced
HYPERPOD_MAX = 50  # the HyperPod runtime's limit (pods and services are named <job>-worker-<i>)
HYPERPOD_BASE = HYPERPOD_MAX - 4
_NOT_NAME = re.compile(r"[^a-zA-Z0-9]+")


def _slug(text: str, size: int) -> str:
    return _NOT_NAME.sub("-", text).strip("-")[:size].strip("-")


def derived_job_name(dag_id: str, run_id: str, task_id: str, map_index: int | None = None) -> str:
    """``<dag>-<task>-<hash of dag, run, task, map index>``: the same for every try of one task instance."""
    key = "\x1f".join((dag_id, run_id, task_id, str(-1 if map_index is None else map_index)))
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:12]
    head = "-".join(part for part in (_slug(dag_id, 20), _slug(task_id, 20)) if part) or "nova"
    return f"{head}-{digest}"[:_BASE]


def job_name_for(context: Any) -> str:
    """The derived name of the task instance running in ``context``."""
    ti = context["ti"]
    map_index = getattr(ti, "map_index", -1)
    return derived_job_name(ti.dag_id, ti.run_id, ti.task_id, map_index)


def hyperpod_job_name(derived: str) -> str:
    """A derived name as a HyperPod job (PyTorchJob) name: lower case, starting with a letter, 46 characters at most.

    Kubernetes names are DNS labels and the training operator derives pod and service names from the
    job's, so the name keeps room for ``-<n>`` within the runtime's 50 characters. The derived name's
    last 12 characters (its hash) are always kept.
    """
    slug = _NOT_NAME.sub("-", derived.lower()).strip("-") or "nova"
    if not slug[0].isalpha():
        slug = f"nova-{slug}"
    if len(slug) > HYPERPOD_BASE:
        slug = slug[: HYPERPOD_BASE - 13].rstrip("-") + "-" + slug[-12:]
    return slug


def next_free_name(base: str, taken: Callable[[str], bool], limit: int = 999, max_len: int = MAX_NAME) -> str:
    """``base-2``, ``base-3``, ...: the first one ``taken`` says is free, ``max_len`` characters at most."""
    stem = base[: max_len - 4].rstrip("-")
    for number in range(2, limit + 1):
        candidate = f"{stem}-{number}"
        if not taken(candidate):
            return candidate
    from airflow_provider_nova.core.errors import ConfigurationError

    raise ConfigurationError(f"job names {stem}-2 to {stem}-{limit} are all taken; pass another job_name")
