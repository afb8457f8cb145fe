"""The base of the operators that run one Nova job: started once, found again, stopped when killed.

A job runs as a SageMaker training job, or on a SageMaker HyperPod cluster when ``cluster_name`` and
``namespace`` are given (its ConfigMap and PyTorchJob, created through the cluster's EKS API).

How a task instance keeps to one job (Airflow 3.3 deletes a task's XComs before each try, so
nothing here relies on them):

- The job name is derived from the DAG, the run, the task and the map index (``job_name`` overrides it).
- Before the job is created, its name is written to the task's state store (``task_state_store``),
  so a try that dies after ``CreateTrainingJob`` was sent, even one whose answer never arrived,
  leaves the next try the name to look up.
- A retry finds the stored job: still running, it waits on it again; completed, it returns its
  result; failed or stopped, it starts a new job under the next free name (``<name>-2``, ...).
- When the stored job was already returned by a successful try, the task was cleared: a Clear
  means "do it again", so a new job starts under the next free name.
- A name that exists but that this task instance never recorded is handled by ``if_job_exists``:
  ``reattach`` (wait on it, or start anew when it failed), ``fail``, or ``new_name``.
- ``on_kill`` (and, while deferred, the trigger's ``on_kill``) stops the job.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow.sdk.configuration import conf

from airflow_provider_nova.links.sagemaker import SageMakerTrainingJobLink, TrainingJobLogsLink
from airflow_provider_nova.operators.base import NovaBaseOperator, aws_template_fields
from airflow_provider_nova.operators.naming import HYPERPOD_MAX, hyperpod_job_name, job_name_for, next_free_name
from airflow_provider_nova.operators.values import as_bool, as_float, as_int, member, optional_text

if TYPE_CHECKING:
    from airflow.sdk import BaseOperatorLink

    from airflow_provider_nova.core import NovaModelCustomizer
    from airflow_provider_nova.core.customizer import JobPlan
    from airflow_provider_nova.core.lifecycle import JobRef, JobState

IF_JOB_EXISTS = ("reattach", "fail", "new_name")
STATE_KEY = "nova_job"  # the task state store key; renaming it strands in-flight retries
DEADLINE_MARGIN = 3600  # a deferred wait gives up this long after the job's own MaxRuntimeInSeconds
STOP_WAIT_SECONDS = 4.0  # on_kill waits this long for the stop request (Airflow SIGKILLs the task 5 s after SIGTERM)


@dataclass(frozen=True)
class Launched:
    """The job a try follows: its reference, where it writes, its runtime limit, and its state if known."""

    ref: JobRef
    output_s3_path: str
    max_runtime_seconds: int | None
    state: JobState | None = None


class NovaJobOperator(NovaBaseOperator):
    """Runs one Nova job on SageMaker Training Jobs or SageMaker HyperPod and returns a small JSON result.

    :param model: the Nova model (``Model`` member or its name, e.g. ``"NOVA_MICRO"``).
    :param instance_type: the instance type, e.g. ``ml.p5.48xlarge``.
    :param instance_count: how many instances (a number or its string form).
    :param output_s3_path: where the job writes; the SageMaker default bucket when omitted.
    :param recipe_path: a recipe YAML (local or ``s3://``) to start from instead of the published one.
    :param overrides: recipe values by the spec's keys (``{"max_epochs": 2, "lr": 5e-6}``); numbers may be strings.
    :param job_name: the job's name; derived from the DAG, run, task and map index when omitted.
    :param if_job_exists: when a job of that name exists that this task did not start:
        ``reattach`` (default), ``fail`` or ``new_name``.
    :param cluster_name: run on this SageMaker HyperPod cluster (EKS-orchestrated) instead of SageMaker
        Training Jobs; needs ``namespace``. The AWS connection's identity must be able to reach the
        cluster's Kubernetes API (an EKS access entry and RBAC: see the README).
    :param namespace: the Kubernetes namespace HyperPod jobs run in.
    :param execution_role: the IAM role the job runs as; the connection's own role when omitted
        (SageMaker Training Jobs only: HyperPod jobs run as the cluster's instance group role).
    :param max_job_runtime: the job's ``MaxRuntimeInSeconds`` (default one day; SageMaker Training Jobs only).
    :param allow_cross_account: let the job run as a role, or call a function a recipe names, in another
        account than the connection's; refused before anything is created by default.
    :param validation_config: turn checks off by name (``{"data": False}``), as the core's customizer takes.
    :param wait_for_completion: wait for the job to end (default); otherwise return once it started.
    :param poll_interval: seconds between status checks.
    :param max_wait: give up waiting after this many seconds (the job keeps running); by default the
        job's own ``MaxRuntimeInSeconds`` plus an hour.
    :param deferrable: wait in the triggerer, not on a worker; ``[operators] default_deferrable`` by default.
    """

    template_fields: tuple[str, ...] = aws_template_fields(
        "model",
        "instance_type",
        "instance_count",
        "output_s3_path",
        "recipe_path",
        "overrides",
        "job_name",
        "cluster_name",
        "namespace",
        "execution_role",
        "max_job_runtime",
        "poll_interval",
        "max_wait",
    )
    template_fields_renderers = {"overrides": "json"}
    operator_extra_links: tuple[BaseOperatorLink, ...] = (SageMakerTrainingJobLink(), TrainingJobLogsLink())
    ui_color = "#f3e8ff"
    job_kind = "job"

    def __init__(
        self,
        *,
        model: Any,
        instance_type: str,
        instance_count: int | str = 1,
        output_s3_path: str | None = None,
        recipe_path: str | None = None,
        overrides: dict[str, Any] | str | None = None,
        job_name: str | None = None,
        if_job_exists: str = "reattach",
        cluster_name: str | None = None,
        namespace: str | None = None,
        execution_role: str | None = None,
        max_job_runtime: int | str | None = None,
        validation_config: dict[str, bool] | None = None,
        allow_cross_account: bool = False,
        wait_for_completion: bool = True,
        poll_interval: float | str = 60,
        max_wait: float | str | None = None,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.model = model
        self.instance_type = instance_type
        self.instance_count = instance_count
        self.output_s3_path = output_s3_path
        self.recipe_path = recipe_path
        self.overrides = overrides
        self.job_name = job_name
        self.if_job_exists = if_job_exists
        self.cluster_name = cluster_name
        self.namespace = namespace
        self.execution_role = execution_role
        self.max_job_runtime = max_job_runtime
        self.validation_config = validation_config
        self.allow_cross_account = as_bool(allow_cross_account, "allow_cross_account")
        self.wait_for_completion = wait_for_completion
        self.poll_interval = poll_interval
        self.max_wait = max_wait
        self.deferrable = deferrable
        self._ref: JobRef | None = None

    # -- what each operator defines -----------------------------------------------------------
    @abstractmethod
    def plan_job(self, customizer: NovaModelCustomizer, job_name: str) -> JobPlan:
        """Check everything and build the job's request (nothing is created)."""

    @abstractmethod
    def result(self, ref: JobRef, output_s3_path: str, state: JobState) -> dict[str, Any]:
        """The XCom of a finished job."""

    def customizer_inputs(self) -> tuple[Any, str]:
        """The customizer's method and data path (evaluation and batch inference train nothing)."""
        from airflow_provider_nova.core import TrainingMethod

        return TrainingMethod.EVALUATION, self._placeholder_data()

    def model_path_of_customizer(self) -> str | None:
        return None

    # -- the task -----------------------------------------------------------------------------
    def execute(self, context: Any) -> dict[str, Any]:
        self._check_parameters()
        launched = self._launch(context)
        self._ref = launched.ref
        self.persist_links(context, launched.ref)
        if not self.wait_for_completion:
            return self._started(launched)
        if launched.state is not None and launched.state.status.is_terminal:
            return self._finish(context, launched.ref, launched.output_s3_path, launched.state)
        timeout = self._timeout(launched.max_runtime_seconds)
        if self.deferrable:
            from airflow_provider_nova.triggers.job import NovaJobTrigger

            self.defer(
                trigger=NovaJobTrigger(
                    launched.ref.to_json(), **self.aws_kwargs, poll_interval=float(self.poll_interval), timeout=timeout
                ),
                method_name="execute_complete",
                kwargs={"output_s3_path": launched.output_s3_path},
            )
        state = self._wait(launched.ref, timeout)
        return self._finish(context, launched.ref, launched.output_s3_path, state)

    def execute_complete(
        self, context: Any, event: dict[str, Any], output_s3_path: str | None = None
    ) -> dict[str, Any]:
        """Resume after the trigger's event: the job's result, or the service's reason it failed.

        ``output_s3_path`` comes from the deferral; when a runner does not pass it on, it is read back from the job.
        """
        from airflow_provider_nova.core.lifecycle import JobRef
        from airflow_provider_nova.triggers.job import check_event

        state = check_event(event)  # refuses an event without its job
        self._ref = JobRef.from_json(event["job"])
        output = output_s3_path or self._jobs().settings(self._ref).output_s3_path
        return self._finish(context, self._ref, output, state)

    def on_kill(self) -> None:
        """Stop the job this try started or re-attached to.

        Airflow calls this from the task's SIGTERM handler, on the main thread, wherever that thread
        was (possibly inside a status poll on the same clients), and SIGKILLs the task 5 seconds
        later. The stop request runs in its own thread, so it never waits on a lock the interrupted
        poll holds; the handler waits for it at most ``STOP_WAIT_SECONDS``.
        """
        import threading

        ref = self._ref
        if ref is None:
            return
        self.log.info("Stopping %s %s", self.job_kind, ref.job_name)
        outcome: list[BaseException | None] = []

        def stop() -> None:
            try:
                self._jobs().stop(ref)
            except Exception as exc:  # reported below, with the job's name
                outcome.append(exc)
            else:
                outcome.append(None)

        stopper = threading.Thread(target=stop, name=f"stop {ref.job_name}", daemon=True)
        stopper.start()
        stopper.join(STOP_WAIT_SECONDS)
        if not outcome:
            self.log.error("No answer to stopping %s %s yet; check that it stopped", self.job_kind, ref.job_name)
        elif outcome[0] is not None:
            self.log.error("Could not stop %s %s: %s", self.job_kind, ref.job_name, outcome[0])
        else:
            self.log.info("Stop requested for %s %s", self.job_kind, ref.job_name)

    # -- starting or finding the job ----------------------------------------------------------
    def _launch(self, context: Any) -> Launched:
        store = context.get("task_state_store")
        record = _read(store)
        base = optional_text(self.job_name) or self._derived_name(context)
        jobs = self._jobs()
        if record is not None and not record.get("done"):
            found = self._find(jobs, record["job_name"])
            if found is not None and found.state is not None and found.state.status.name != "FAILED":
                self.log.info("Re-attaching to %s, started by an earlier try", found.ref.job_name)
                return found
            if found is None:
                return self._start(store, record["job_name"])
            self.log.warning("%s ended %s; starting a new job", found.ref.job_name, found.state and found.state.raw)
            return self._start(store, next_free_name(base, jobs.exists, max_len=self._name_limit))
        if record is not None:
            self.log.info("The task was cleared after %s succeeded: starting a new job", record["job_name"])
            return self._start(store, next_free_name(base, jobs.exists, max_len=self._name_limit))
        existing = self._find(jobs, base)
        if existing is None:
            return self._start(store, base)
        if self.if_job_exists == "fail":
            from airflow_provider_nova.core.errors import ConfigurationError

            where = existing.ref.region
            if existing.ref.cluster_name is not None:
                where = f"namespace {existing.ref.namespace} of HyperPod cluster {existing.ref.cluster_name}"
            raise ConfigurationError(
                f"job_name {base!r} is taken in {where} and if_job_exists='fail'; "
                "pass another job_name, or if_job_exists='reattach' or 'new_name'"
            )
        if self.if_job_exists == "reattach" and existing.state is not None and existing.state.status.name != "FAILED":
            self.log.info("Re-attaching to the existing job %s (if_job_exists='reattach')", base)
            _write(store, {"job_name": base, "done": False})
            return existing
        return self._start(store, next_free_name(base, jobs.exists, max_len=self._name_limit))

    @property
    def _on_hyperpod(self) -> bool:
        return optional_text(self.cluster_name) is not None

    @property
    def _name_limit(self) -> int:
        from airflow_provider_nova.operators.naming import MAX_NAME

        return HYPERPOD_MAX if self._on_hyperpod else MAX_NAME

    def _derived_name(self, context: Any) -> str:
        derived = job_name_for(context)
        return hyperpod_job_name(derived) if self._on_hyperpod else derived

    def _start(self, store: Any, job_name: str) -> Launched:
        """Create the job. A name taken meanwhile is the runtime's to judge: it uses the job when this very
        request created it (a create whose answer was lost) and raises ConfigurationError otherwise."""
        customizer = self._customizer()
        plan = self.plan_job(customizer, job_name)
        _write(store, {"job_name": job_name, "done": False})
        self.log.info("Starting %s %s", self.job_kind, job_name)
        ref = customizer.infra.start(plan.runtime)
        runtime = plan.request.get("StoppingCondition", {}).get("MaxRuntimeInSeconds")
        return Launched(ref, plan.output_s3_path, runtime)

    def _find(self, jobs: Any, job_name: str) -> Launched | None:
        found = jobs.find(job_name)
        if found is None:
            return None
        state, settings = found
        return Launched(jobs.ref(job_name), settings.output_s3_path, settings.max_runtime_seconds, state)

    # -- waiting and finishing ----------------------------------------------------------------
    def _wait(self, ref: JobRef, timeout: float | None) -> JobState:
        from airflow_provider_nova.core.lifecycle import wait_for

        jobs = self._jobs()
        return wait_for(
            lambda: jobs.describe(ref),
            f"{self.job_kind} {ref.job_name}",
            poll_seconds=float(self.poll_interval),
            timeout_seconds=timeout,
            on_change=lambda state: self.log.info(
                "%s %s: %s", self.job_kind, ref.job_name, state.secondary or state.raw
            ),
        )

    def _finish(self, context: Any, ref: JobRef, output_s3_path: str, state: JobState) -> dict[str, Any]:
        from airflow_provider_nova.core.errors import JobFailedError

        if state.status.name != "COMPLETED":
            raise JobFailedError(ref.job_name, state.raw, state.reason)
        result = self.result(ref, output_s3_path, state)
        self._finished = result
        _write(context.get("task_state_store"), {"job_name": ref.job_name, "done": True})
        self.emit_outlets(context, result)
        return result

    def _started(self, launched: Launched) -> dict[str, Any]:
        state = launched.state or self._jobs().describe(launched.ref)
        return {
            "job_name": launched.ref.job_name,
            "status": state.status.value,
            "region": launched.ref.region,
            "output_s3_path": launched.output_s3_path,
        }

    def _timeout(self, max_runtime_seconds: int | None) -> float | None:
        if self.max_wait is not None:
            return float(self.max_wait)
        return None if max_runtime_seconds is None else float(max_runtime_seconds + DEADLINE_MARGIN)

    # -- hooks for links, assets and lineage -------------------------------------------------
    def lineage_paths(self, result: dict[str, Any]) -> tuple[list[str], list[str]]:
        """What the finished job read and wrote, as S3 URIs (for OpenLineage)."""
        return [], []

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """The S3 data the job read as input and what it wrote as outputs (None without OpenLineage)."""
        from airflow_provider_nova.lineage import operator_lineage

        finished = getattr(self, "_finished", None)
        if finished is None:
            return None
        inputs, outputs = self.lineage_paths(finished)
        return operator_lineage([p for p in inputs if p], [p for p in outputs if p])

    def persist_links(self, context: Any, ref: JobRef) -> None:
        """Store the console links of the job before waiting, so they show while it runs."""
        from airflow_provider_nova.links import persist_training_job_links

        if ref.cluster_name is not None:  # a HyperPod job has no SageMaker training job page
            return
        persist_training_job_links(
            context, self, region_name=ref.region, aws_partition=self.hook.partition, job_name=ref.job_name
        )

    def emit_outlets(self, context: Any, result: dict[str, Any]) -> None:
        """Put the result's plain values (not the metrics mapping) on each declared outlet Asset's event."""
        self.publish_outlets(context, {k: v for k, v in result.items() if _json_scalar(v)})

    # -- building core objects ----------------------------------------------------------------
    def _check_parameters(self) -> None:
        from airflow_provider_nova.core import Model
        from airflow_provider_nova.core.errors import ConfigurationError

        self.model = member(Model, self.model, "model")
        self.instance_count = as_int(self.instance_count, "instance_count", minimum=1)
        self.poll_interval = as_float(self.poll_interval, "poll_interval", minimum=0.001)
        self.max_wait = (
            None if optional_text(self.max_wait) is None else as_float(self.max_wait, "max_wait", minimum=0.001)
        )
        self.max_job_runtime = (
            None
            if optional_text(self.max_job_runtime) is None
            else as_int(self.max_job_runtime, "max_job_runtime", minimum=1)
        )
        self.wait_for_completion = as_bool(self.wait_for_completion, "wait_for_completion")
        self.deferrable = as_bool(self.deferrable, "deferrable")
        if (optional_text(self.cluster_name) is None) != (optional_text(self.namespace) is None):
            raise ConfigurationError(
                "cluster_name and namespace go together: pass both to run on SageMaker HyperPod, or neither for "
                f"SageMaker Training Jobs (got cluster_name={self.cluster_name!r}, namespace={self.namespace!r})"
            )
        if self._on_hyperpod and (optional_text(self.execution_role) or self.max_job_runtime is not None):
            raise ConfigurationError(
                "execution_role and max_job_runtime apply to SageMaker Training Jobs only; a HyperPod job runs as "
                "its cluster's instance group role until it ends"
            )
        if self.if_job_exists not in IF_JOB_EXISTS:
            raise ConfigurationError(
                f"if_job_exists must be one of {', '.join(IF_JOB_EXISTS)}, got {self.if_job_exists!r}"
            )

    def _runtime(self) -> Any:
        from airflow_provider_nova.core import SMHPRuntimeManager, SMTJRuntimeManager

        if self._on_hyperpod:
            return SMHPRuntimeManager(
                self.instance_type,
                int(self.instance_count),
                str(self.cluster_name),
                str(self.namespace),
                clients=self.hook.clients,
                allow_cross_account=self.allow_cross_account,
            )
        extra: dict[str, Any] = {"allow_cross_account": self.allow_cross_account}
        if optional_text(self.execution_role):
            extra["execution_role"] = optional_text(self.execution_role)
        if self.max_job_runtime is not None:
            extra["max_job_runtime"] = self.max_job_runtime
        return SMTJRuntimeManager(self.instance_type, int(self.instance_count), clients=self.hook.clients, **extra)

    def _customizer(self) -> NovaModelCustomizer:
        from airflow_provider_nova.core import NovaModelCustomizer

        method, data = self.customizer_inputs()
        return NovaModelCustomizer(
            self.model,
            method,
            self._runtime(),
            data,
            optional_text(self.output_s3_path),
            self.model_path_of_customizer(),
            self.validation_config,
        )

    def _jobs(self) -> Any:
        """The job service: ``TrainingJobs``, or ``NamespaceJobs`` of the HyperPod cluster and namespace."""
        from airflow_provider_nova.core import Platform
        from airflow_provider_nova.core.runtimes import jobs_for

        if self._on_hyperpod:
            return jobs_for(Platform.SMHP, self.hook.clients).in_namespace(str(self.cluster_name), str(self.namespace))
        return jobs_for(Platform.SMTJ, self.hook.clients)

    def _placeholder_data(self) -> str:
        """A data path for a customizer that trains nothing (it is never read)."""
        return optional_text(self.output_s3_path) or "s3://nova-unused/"


def _read(store: Any) -> dict[str, Any] | None:
    if store is None:
        return None
    value = store.get(STATE_KEY)
    return value if isinstance(value, dict) and isinstance(value.get("job_name"), str) else None


def _write(store: Any, record: dict[str, Any]) -> None:
    if store is not None:
        store.set(STATE_KEY, record)


def _json_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))
