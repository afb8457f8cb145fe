"""Job results: what a started job is, as JSON-serialisable pydantic models.

``dump()`` writes a result as JSON; ``BaseJobResult.load()`` reads any result back as its own
subclass through a union discriminated on ``result_type``. A result carries the region (and, on
HyperPod, the cluster and namespace) so it can look its job up again in another process.

A result file never decides where calls go: it holds no endpoint (one in an older file is ignored),
and every field that reaches a request (region, job name, cluster, namespace, S3 paths) is checked
against AWS's format on load. The endpoint comes from the caller: ``with_clients(...)``, ``load(...,
endpoint_url=...)``, or the environment (``AWS_ENDPOINT_URL``, the AWS config file).
"""

from __future__ import annotations

import io
import json
import tarfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, Union, get_origin

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, TypeAdapter, field_validator, model_validator

from airflow_provider_nova.core.enums import JobStatus, Platform, TrainingMethod
from airflow_provider_nova.core.errors import JobFailedError, NovaError
from airflow_provider_nova.core.lifecycle import JobRef, JobState, wait_for
from airflow_provider_nova.core.s3 import read_object

if TYPE_CHECKING:
    from airflow_provider_nova.core.aws import AwsClients


class ModelArtifacts(BaseModel):
    """Where a training job's outputs are."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    checkpoint_s3_path: str | None = None
    output_s3_path: str

    @field_validator("checkpoint_s3_path", "output_s3_path")
    @classmethod
    def _s3(cls, value: str | None, info: Any) -> str | None:
        return check_s3_field(value, str(info.field_name))


class BaseJobResult(BaseModel):
    """A started job: its id, start time and platform."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)
    result_type: str

    job_id: str
    started_time: datetime
    platform: Platform
    region: str
    cluster_name: str | None = None  # HyperPod jobs: the cluster and namespace they run in
    namespace: str | None = None
    _clients: AwsClients | None = PrivateAttr(default=None)
    _endpoint_url: str | None = PrivateAttr(default=None)

    @field_validator("region")
    @classmethod
    def _region(cls, value: str) -> str:
        from airflow_provider_nova.core.formats import check_region

        return check_region(value)

    @model_validator(mode="after")
    def _names(self) -> BaseJobResult:
        """The job, cluster and namespace names are what the service accepts (they end up in request paths)."""
        from airflow_provider_nova.core.formats import check_shape

        if self.platform is Platform.SMHP:
            from airflow_provider_nova.core.runtimes.smhp import check_hyperpod_job_name, check_location

            check_hyperpod_job_name(self.job_id)
            check_location(self.cluster_name, self.namespace)
        else:
            check_shape(self.job_id, "job_id", "sagemaker", "TrainingJobName")
            if self.cluster_name is not None or self.namespace is not None:
                raise ValueError("cluster_name and namespace are for HyperPod (SMHP) jobs only")
        return self

    def __eq__(self, other: object) -> bool:
        """Results are equal when they describe the same job the same way (clients aside)."""
        if not isinstance(other, BaseJobResult):
            return NotImplemented
        return type(self) is type(other) and self.model_dump() == other.model_dump()

    __hash__ = None  # type: ignore[assignment]

    def with_clients(self, clients: AwsClients) -> BaseJobResult:
        """Use ``clients`` for this result's AWS calls; returns self."""
        self._clients = clients
        return self

    @property
    def clients(self) -> AwsClients:
        if self._clients is None:
            from airflow_provider_nova.core.aws import AwsClients

            self._clients = AwsClients(region_name=self.region, endpoint_url=self._endpoint_url)
        return self._clients

    @property
    def ref(self) -> JobRef:
        """The job this result follows."""
        return JobRef(self.platform, self.job_id, self.region, self.cluster_name, self.namespace)

    def job_state(self) -> JobState:
        """The job's state now, with the service's failure reason and secondary status."""
        from airflow_provider_nova.core.runtimes import jobs_for

        state: JobState = jobs_for(self.platform, self.clients).describe(self.ref)
        return state

    def get_job_status(self) -> tuple[JobStatus, str]:
        """Return ``(JobStatus, raw status)`` from the service."""
        state = self.job_state()
        return state.status, state.raw

    def wait_for_completion(
        self,
        poll_seconds: float = 60.0,
        timeout_seconds: float | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> tuple[JobStatus, str]:
        """Poll until the job ends; return its status when COMPLETED, raise JobFailedError when FAILED.

        :param timeout_seconds: give up (``WaitTimeoutError``, a TimeoutError) after this long; the job keeps running.
        """
        state = wait_for(
            self.job_state,
            f"job {self.job_id}",
            poll_seconds=poll_seconds,
            timeout_seconds=timeout_seconds,
            sleep=sleep,
            clock=clock,
        )
        if state.status is JobStatus.FAILED:
            raise JobFailedError(self.job_id, state.raw, state.reason)
        return state.status, state.raw

    def default_dump_path(self) -> Path:
        return Path(f"./{self.job_id}_{self.platform.value}.json")

    def dump(self, file_path: str | None = None) -> None:
        """Write this result as JSON to ``file_path`` (``./{job_id}_{platform}.json`` by default)."""
        path = Path(file_path) if file_path else self.default_dump_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(self.model_dump_json(indent=2), encoding="utf-8")
        tmp.replace(path)

    @classmethod
    def load(
        cls, file_path: str, *, endpoint_url: str | None = None, clients: AwsClients | None = None
    ) -> BaseJobResult:
        """Read a dumped result back as the subclass it was written from.

        The file decides nothing about where calls go: they use ``clients`` when given, else clients
        for the file's region sent to ``endpoint_url`` when given, else to the endpoint the environment
        configures (``AWS_ENDPOINT_URL``, the AWS config file) or AWS's own. An ``endpoint_url`` key in
        the file (written by older versions) is ignored.

        A missing or unreadable file, text that is not JSON, an unknown ``result_type`` or fields of
        the wrong shape (a region, job name, cluster, namespace or S3 path not in AWS's format) raise
        ConfigurationError naming the file.
        """
        import os

        from pydantic import ValidationError

        from airflow_provider_nova.core.errors import ConfigurationError

        if not isinstance(file_path, (str, os.PathLike)) or not str(file_path):
            raise ConfigurationError(f"file_path must be the path of a dumped result, got {file_path!r}")
        try:
            text = Path(file_path).read_text(encoding="utf-8")
        except FileNotFoundError as exc:
            raise ConfigurationError(f"result file {str(file_path)!r} does not exist") from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigurationError(f"cannot read result file {str(file_path)!r}: {exc}") from exc
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise ConfigurationError(f"result file {str(file_path)!r} is not JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise ConfigurationError(
                f"result file {str(file_path)!r} must hold a JSON object, not {type(data).__name__}"
            )
        data.pop("endpoint_url", None)  # never taken from a file: it would send signed calls there
        try:
            result: BaseJobResult = _result_adapter().validate_python(data)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'result_type'}: {err['msg']}" for err in exc.errors()[:5]
            )
            raise ConfigurationError(f"result file {str(file_path)!r} is not a valid result: {problems}") from exc
        if not isinstance(result, cls):
            raise ConfigurationError(f"{str(file_path)!r} holds a {type(result).__name__}, not a {cls.__name__}")
        result._endpoint_url = endpoint_url
        if clients is not None:
            result.with_clients(clients)
        return result


def check_s3_field(value: str | None, field: str) -> str | None:
    """``value`` when it is None or a well-formed ``s3://`` URI; a ValueError naming ``field`` otherwise."""
    from airflow_provider_nova.core.s3 import S3Uri

    if value is not None:
        S3Uri.parse(value, field)
    return value


class TrainingResult(BaseJobResult):
    """A started training job."""

    result_type: Literal["training"] = "training"
    method: TrainingMethod
    model_artifacts: ModelArtifacts
    MANIFEST: ClassVar[str] = "manifest.json"

    def job_state(self) -> JobState:
        """The job's state; once completed, also fill in ``model_artifacts.checkpoint_s3_path``."""
        state = super().job_state()
        if state.status is JobStatus.COMPLETED and self.model_artifacts.checkpoint_s3_path is None:
            checkpoint = read_job_checkpoint(self.clients, self.platform, self.model_artifacts.output_s3_path)
            self.model_artifacts = self.model_artifacts.model_copy(update={"checkpoint_s3_path": checkpoint})
        return state


def read_job_checkpoint(clients: AwsClients, platform: Platform, output_uri: str) -> str:
    """The checkpoint a finished training job names: in the manifest inside its output tar, or, on
    HyperPod, in ``manifest.json`` under its output prefix (``job_output_uri`` gives either)."""
    if platform is Platform.SMHP:
        return read_manifest(clients, output_uri.rstrip("/") + "/" + TrainingResult.MANIFEST)
    return read_checkpoint(clients, output_uri)


def read_checkpoint(clients: AwsClients, output_tar_uri: str) -> str:
    """Read the checkpoint URI from the manifest inside a finished job's output tar.

    A tar that cannot be read, has no manifest, or whose manifest is not a JSON object with an
    ``s3://`` ``checkpoint_s3_bucket`` raises NovaError naming ``output_tar_uri``.
    """
    import zlib

    data = read_object(clients.s3, output_tar_uri, "output_s3_path")
    manifest = TrainingResult.MANIFEST
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            member = next((m for m in tar.getmembers() if m.name.rsplit("/", 1)[-1] == manifest), None)
            handle = tar.extractfile(member) if member else None
            if handle is None:
                raise NovaError(f"{output_tar_uri} has no {manifest}")
            raw = handle.read()
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise NovaError(f"{output_tar_uri} is not a readable .tar.gz archive: {exc}") from exc
    return _checkpoint_of(raw, f"the {manifest} in {output_tar_uri}")


def read_manifest(clients: AwsClients, manifest_uri: str) -> str:
    """Read the checkpoint URI from a ``manifest.json`` object (where HyperPod jobs leave it)."""
    return _checkpoint_of(read_object(clients.s3, manifest_uri, "output_s3_path"), manifest_uri)


def _checkpoint_of(raw: bytes, where: str) -> str:
    """The ``checkpoint_s3_bucket`` of a manifest; NovaError naming ``where`` when it has none or a bad one."""
    from airflow_provider_nova.core.s3 import S3Uri

    try:
        content: Any = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise NovaError(f"{where} is not JSON: {exc}") from exc
    checkpoint = content.get("checkpoint_s3_bucket") if isinstance(content, dict) else None
    if not isinstance(checkpoint, str):
        raise NovaError(f"{where} has no checkpoint_s3_bucket")
    try:
        S3Uri.parse(checkpoint, "checkpoint_s3_bucket")
    except NovaError as exc:
        raise NovaError(f"{where} has a malformed checkpoint_s3_bucket: {exc}") from exc
    return checkpoint


def _concrete_results() -> list[type[BaseJobResult]]:
    found: list[type[BaseJobResult]] = []
    pending: list[type[BaseJobResult]] = [BaseJobResult]
    while pending:
        for sub in pending.pop().__subclasses__():
            pending.append(sub)
            if get_origin(sub.model_fields["result_type"].annotation) is Literal:
                found.append(sub)
    return found


def _result_adapter() -> TypeAdapter[Any]:
    """A validator for every concrete result class, discriminated on ``result_type``."""
    import airflow_provider_nova.core.job_outputs  # noqa: F401 - registers the evaluation and batch results

    members = _concrete_results()
    if len(members) == 1:
        return TypeAdapter(members[0])
    return TypeAdapter(Annotated[Union[tuple(members)], Field(discriminator="result_type")])  # type: ignore[arg-type]
