"""SageMaker training jobs with a lifecycle: InProgress, then Completed, Stopped or Failed.

A job stays ``InProgress`` for ``job_seconds`` (set when the stand-in starts, or changed through
its control API), then completes and writes what a Nova job writes: the output tar with the
checkpoint manifest, and CloudWatch log lines. A job whose inputs do not exist fails the way
SageMaker does, with a ``FailureReason``. ``StopTrainingJob`` moves it to ``Stopping`` and on to
``Stopped``. Time is read from an injectable clock so tests never sleep.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_nova.sandbox import moto_state, outputs, paging
from airflow_provider_nova.sandbox.errors import ServiceError, validation

LOG_GROUP = "/aws/sagemaker/TrainingJobs"
_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
_ROLE = re.compile(r"^arn:aws[a-z\-]*:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+$")


@dataclass
class Job:
    """One training job and the request that created it."""

    name: str
    region: str
    request: dict[str, Any]
    created: float
    status: str = "InProgress"
    secondary: str = "Starting"
    failure_reason: str | None = None
    ended: float | None = None
    forced: str | None = None  # "Completed" or "Failed" asked through the control API
    forced_reason: str | None = None
    stop_requested: float | None = None
    transitions: list[dict[str, Any]] = field(default_factory=list)

    @property
    def arn(self) -> str:
        return f"arn:aws:sagemaker:{self.region}:{moto_state.ACCOUNT_ID}:training-job/{self.name.lower()}"


_SORT_FIELDS = {"Name": "name", "CreationTime": "created", "Status": "status"}


def _ordered(jobs: list[Job], request: dict[str, Any]) -> list[Job]:
    """The jobs ``NameContains`` and ``CreationTimeAfter`` keep, in ``SortBy``/``SortOrder`` order.

    The order is CreationTime, Ascending unless asked otherwise.
    """
    by, order = request.get("SortBy", "CreationTime"), request.get("SortOrder", "Ascending")
    if by not in _SORT_FIELDS or order not in ("Ascending", "Descending"):
        raise validation(f"SortBy must be one of {', '.join(_SORT_FIELDS)} and SortOrder Ascending or Descending")
    contains, after = request.get("NameContains"), request.get("CreationTimeAfter")
    kept = [j for j in jobs if (not contains or contains in j.name) and (after is None or j.created > float(after))]
    field = _SORT_FIELDS[by]
    return sorted(kept, key=lambda j: (getattr(j, field), j.name), reverse=order == "Descending")


def _split_s3(uri: str) -> tuple[str, str]:
    bucket, _, key = uri[5:].partition("/")
    return bucket, key


class TrainingJobs:
    """The training jobs of the stand-in, across regions."""

    def __init__(self, job_seconds: float = 5.0, clock: Callable[[], float] = time.time) -> None:
        self.job_seconds = self.start_seconds = job_seconds
        self.clock = clock
        self._jobs: dict[tuple[str, str], Job] = {}
        self._lock = threading.RLock()

    # -- API operations --------------------------------------------------------------------
    def create(self, region: str, request: dict[str, Any]) -> dict[str, Any]:
        name = request.get("TrainingJobName", "")
        if not _NAME.match(name):
            raise validation(
                f"1 validation error detected: Value '{name}' at 'trainingJobName' failed to satisfy "
                "constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"
            )
        if not _ROLE.match(request.get("RoleArn", "")):
            raise validation(f"Invalid RoleArn: {request.get('RoleArn')!r}")
        with self._lock:
            if (region, name) in self._jobs:
                raise ServiceError(
                    "ResourceInUse",
                    f"Training job names must be unique within an AWS account and region, and a training job with this name already exists ({self._jobs[(region, name)].arn})",
                )
            job = Job(name=name, region=region, request=request, created=self.clock())
            self._transition(job, "Starting", "Preparing the instances for training")
            self._jobs[(region, name)] = job
        moto_state.append_log_lines(
            region,
            LOG_GROUP,
            self._stream(job),
            [
                f"Nova sandbox (local stand-in, not AWS): training job {name} started",
                f"Image: {request['AlgorithmSpecification'].get('TrainingImage')}",
                f"Instances: {request['ResourceConfig']['InstanceCount']} x {request['ResourceConfig']['InstanceType']}",
            ],
        )
        return {"TrainingJobArn": job.arn}

    def describe(self, region: str, name: str) -> dict[str, Any]:
        job = self._get(region, name)
        self.advance(job)
        req = job.request
        out: dict[str, Any] = {
            "TrainingJobName": job.name,
            "TrainingJobArn": job.arn,
            "TrainingJobStatus": job.status,
            "SecondaryStatus": job.secondary,
            "AlgorithmSpecification": req["AlgorithmSpecification"],
            "RoleArn": req["RoleArn"],
            "InputDataConfig": req.get("InputDataConfig", []),
            "OutputDataConfig": req["OutputDataConfig"],
            "ResourceConfig": req["ResourceConfig"],
            "StoppingCondition": req["StoppingCondition"],
            "HyperParameters": req.get("HyperParameters", {}),
            "CreationTime": job.created,
            "TrainingStartTime": job.created,
            "LastModifiedTime": job.ended or job.created,
            "SecondaryStatusTransitions": job.transitions,
        }
        for key in ("TensorBoardOutputConfig", "Environment", "VpcConfig"):
            if key in req:
                out[key] = req[key]
        if job.ended is not None:
            out["TrainingEndTime"] = job.ended
            out["TrainingTimeInSeconds"] = int(job.ended - job.created)
            out["BillableTimeInSeconds"] = int(job.ended - job.created)
        if job.status == "Completed":
            out["ModelArtifacts"] = {"S3ModelArtifacts": self._output_prefix(job) + "output/model.tar.gz"}
        if job.failure_reason:
            out["FailureReason"] = job.failure_reason
        return out

    def stop(self, region: str, name: str) -> dict[str, Any]:
        job = self._get(region, name)
        self.advance(job)
        with self._lock:
            if job.status != "InProgress":
                raise validation(f"The request was rejected because the training job is in status {job.status}.")
            job.status, job.stop_requested = "Stopping", self.clock()
            self._transition(job, "Stopping", "Stopping the training job")
        return {}

    def list_jobs(self, region: str, request: dict[str, Any]) -> dict[str, Any]:
        """``ListTrainingJobs`` as SageMaker pages it.

        ``NameContains`` and ``CreationTimeAfter`` select the jobs; each page is a window of ``MaxResults``
        (default 10, at most 100) of them in ``SortBy``/``SortOrder`` order (default CreationTime,
        Ascending), and ``StatusEquals`` then filters the window: a page may hold fewer rows than
        ``MaxResults``, even none, and still carry a ``NextToken``.
        """
        limit = request.get("MaxResults", 10)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 100:
            raise validation(f"Value '{limit}' at 'maxResults' failed to satisfy constraint: 1 <= value <= 100")
        start = paging.start(request.get("NextToken"))
        with self._lock:
            jobs = [j for (r, _), j in self._jobs.items() if r == region]
            for job in jobs:
                self.advance(job)
        selected = _ordered(jobs, request)
        window = selected[start : start + limit]
        status = request.get("StatusEquals")
        answer: dict[str, Any] = {
            "TrainingJobSummaries": [
                {
                    "TrainingJobName": j.name,
                    "TrainingJobArn": j.arn,
                    "CreationTime": j.created,
                    "TrainingJobStatus": j.status,
                    "SecondaryStatus": j.secondary,
                    "LastModifiedTime": j.ended or j.created,
                    **({"TrainingEndTime": j.ended} if j.ended is not None else {}),
                }
                for j in window
                if not status or status == j.status
            ]
        }
        if start + limit < len(selected):
            answer["NextToken"] = paging.token(start + limit)
        return answer

    # -- control API -------------------------------------------------------------------------
    def force(self, region: str, name: str, outcome: str, reason: str | None = None) -> dict[str, Any]:
        """Make the job end ``Completed`` or ``Failed`` at its next observation."""
        if outcome not in ("Completed", "Failed"):
            raise validation(f"outcome must be Completed or Failed, got {outcome!r}")
        job = self._get(region, name)
        with self._lock:
            job.forced, job.forced_reason = outcome, reason or "AlgorithmError: failure injected by the sandbox"
        self.advance(job)
        return {"TrainingJobStatus": job.status}

    def reset(self) -> None:
        """Forget every job; jobs last ``job_seconds`` as at start again."""
        with self._lock:
            self._jobs.clear()
            self.job_seconds = self.start_seconds

    def advance_all(self) -> None:
        for job in list(self._jobs.values()):
            self.advance(job)

    # -- lifecycle -----------------------------------------------------------------------------
    def advance(self, job: Job) -> None:
        """Move ``job`` along its lifecycle to where the clock says it is."""
        with self._lock:
            if job.status in ("Completed", "Failed", "Stopped"):
                return
            now = self.clock()
            if job.status == "Stopping":
                self._finish(job, "Stopped", "Stopped", None)
                return
            if job.secondary == "Starting" and job.forced is None and now - job.created < self.job_seconds / 2:
                return
            if job.secondary == "Starting":
                self._transition(job, "Training", "Training image download completed. Training in progress.")
            problem = self._missing_input(job)
            if problem:
                self._finish(job, "Failed", "Failed", problem)
            elif job.forced == "Failed":
                self._finish(job, "Failed", "Failed", job.forced_reason)
            elif job.forced == "Completed" or now - job.created >= self.job_seconds:
                try:
                    self._write_outputs(job)
                except outputs.JobInputError as exc:
                    self._finish(job, "Failed", "Failed", str(exc))
                else:
                    self._finish(job, "Completed", "Completed", None)

    def _finish(self, job: Job, status: str, secondary: str, reason: str | None) -> None:
        job.status, job.failure_reason, job.ended = status, reason, self.clock()
        self._transition(job, secondary, reason or f"Training job {status.lower()}")
        moto_state.append_log_lines(
            job.region,
            LOG_GROUP,
            self._stream(job),
            [f"Training job {job.name} {status}" + (f": {reason}" if reason else "")],
        )

    def _transition(self, job: Job, status: str, message: str) -> None:
        now = self.clock()
        if job.transitions:
            job.transitions[-1]["EndTime"] = now
        job.secondary = status
        job.transitions.append({"Status": status, "StartTime": now, "StatusMessage": message})

    def _missing_input(self, job: Job) -> str | None:
        for channel in job.request.get("InputDataConfig", []):
            uri = channel["DataSource"]["S3DataSource"]["S3Uri"]
            bucket, key = _split_s3(uri)
            if not moto_state.prefix_has_objects(bucket, key):
                return (
                    f'ClientError: No S3 objects found under S3 URL "{uri}" given in input data source '
                    f"(channel {channel['ChannelName']}). Please ensure that the bucket exists in the selected "
                    "region, that objects exist under that S3 prefix, and that the role has access to them."
                )
        return None

    def _output_prefix(self, job: Job) -> str:
        return str(job.request["OutputDataConfig"]["S3OutputPath"]).rstrip("/") + f"/{job.name}/"

    def _write_outputs(self, job: Job) -> None:
        """Write the job's output tar; a job whose inputs its container rejects fails instead."""
        recipe = outputs.job_recipe(job.request)
        if "evaluation" in recipe:
            files = outputs.evaluation_files(job.name, job.created, recipe, job.request)
        else:
            files = outputs.training_files(job.name, job.created, job.region)
        bucket, prefix = outputs.split_s3(self._output_prefix(job))
        moto_state.ensure_bucket(bucket, job.region)
        moto_state.put_object(bucket, prefix + "output/output.tar.gz", outputs.tar_gz(files))
        if "evaluation" not in recipe:
            moto_state.put_object(bucket, prefix + "output/model.tar.gz", outputs.tar_gz({}))
        moto_state.append_log_lines(job.region, LOG_GROUP, self._stream(job), self._log_lines(job, recipe))

    def _log_lines(self, job: Job, recipe: dict[str, Any]) -> list[str]:
        hp = job.request.get("HyperParameters", {})
        base = hp.get("base_model") or hp.get("base_model_location", "")
        head = [f"Loading recipe from {hp.get('sagemaker_recipe_local_path', '')}", f"Base model: {base}"]
        if "evaluation" in recipe:
            task = (recipe.get("evaluation") or {}).get("task")
            return [*head, f"Evaluating task {task}", "Writing evaluation results"]
        steps = (f"Step {i * 10}: loss={2.0 / (i + 1):.4f}" for i in range(5))
        return [*head, *steps, "Saving checkpoint to the escrow bucket"]

    def _stream(self, job: Job) -> str:
        return f"{job.name}/algo-1-{int(job.created)}"

    def _get(self, region: str, name: str) -> Job:
        job = self._jobs.get((region, name))
        if job is None:
            raise ServiceError(
                "ValidationException", f"Requested resource not found: training job {name} does not exist"
            )
        return job
