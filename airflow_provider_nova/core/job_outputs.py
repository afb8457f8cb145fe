"""Results of evaluation and batch inference jobs: fetch, parse and show what the job wrote.

A finished SageMaker evaluation job leaves ``<output>/<job>/output/output.tar.gz``. Inside it,
``<run>/eval_results/results_<time>.json`` holds the metrics, ``<run>/eval_results/
inference_output.jsonl`` the generations (gen_qa and batch inference), and ``tensorboard_results/``
the TensorBoard event files. Files are found by name anywhere in the tree, as their parent
folders vary with the run name.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import tarfile
import tempfile
import zlib
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import PrivateAttr, field_validator

from airflow_provider_nova.core.aws import aws_errors
from airflow_provider_nova.core.enums import EvaluationTask, JobStatus, Platform
from airflow_provider_nova.core.errors import NovaError
from airflow_provider_nova.core.results import BaseJobResult, check_s3_field
from airflow_provider_nova.core.s3 import S3Uri, object_errors, write_object

TENSORBOARD_DIR = "tensorboard_results"


class _CachedOutput(BaseJobResult):
    """A result whose job output is downloaded once into a local cache folder."""

    _cache: Path | None = PrivateAttr(default=None)
    OUTPUT_FIELD: ClassVar[str] = "output path"

    def output_uri(self) -> str:
        raise NotImplementedError

    def _local_output(self) -> Path | None:
        """The extracted output folder, or None while the job is not complete."""
        status, raw = self.get_job_status()
        if status is not JobStatus.COMPLETED:
            print(f"job {self.job_id} is {raw}: no results yet")
            return None
        if self._cache is None or not self._cache.exists():
            cache = Path(tempfile.mkdtemp(prefix=f"nova-{self.job_id}-"))
            try:
                self._download(cache)
            except BaseException:
                shutil.rmtree(cache, ignore_errors=True)  # a failed download is retried, never read as "no results"
                raise
            self._cache = cache
        return self._cache

    def _download(self, into: Path) -> None:
        if self.output_uri().endswith("/"):  # HyperPod leaves files under a prefix, not a tar
            self._download_prefix(into / "output")
            return
        uri = S3Uri.parse(self.output_uri(), self.OUTPUT_FIELD, require_key=True)
        archive = into / "output.tar.gz"
        with object_errors("GetObject", uri):
            self.clients.s3.download_file(uri.bucket, uri.key, str(archive))
        _extract(archive, into / "output", str(uri))
        archive.unlink()

    def _download_prefix(self, target: Path) -> None:
        """Download every object under the output prefix, refusing keys that would land outside ``target``."""
        uri = S3Uri.parse(self.output_uri(), self.OUTPUT_FIELD)
        target.mkdir(parents=True, exist_ok=True)
        request = {"Bucket": uri.bucket, "Prefix": uri.key}
        while True:
            with aws_errors("ListObjectsV2"):
                page = self.clients.s3.list_objects_v2(**request)
            for item in page.get("Contents", []):
                relative = str(item["Key"])[len(uri.key) :].lstrip("/")
                dest = (target / relative).resolve()
                if not relative or not dest.is_relative_to(target.resolve()):
                    continue
                dest.parent.mkdir(parents=True, exist_ok=True)
                with object_errors("GetObject", uri.join(relative)):
                    self.clients.s3.download_file(uri.bucket, item["Key"], str(dest))
            if not page.get("IsTruncated"):
                return
            request["ContinuationToken"] = page["NextContinuationToken"]

    def _find(self, pattern: str) -> Path | None:
        root = self._local_output()
        if root is None:
            return None
        found = sorted(root.rglob(pattern))
        return found[0] if found else None

    def clean(self) -> None:
        """Remove the local cache of downloaded results."""
        if self._cache is not None:
            shutil.rmtree(self._cache, ignore_errors=True)
            self._cache = None


def _extract(archive: Path, target: Path, source: str) -> None:
    """Extract a job's tar (downloaded from ``source``), refusing members that would land outside ``target``."""
    target.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar.getmembers():
                dest = (target / member.name).resolve()
                if not dest.is_relative_to(target.resolve()) or member.issym() or member.islnk():
                    raise NovaError(f"refusing unsafe member {member.name!r} in {source}")
            tar.extractall(target)  # noqa: S202 - every member checked above
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise NovaError(f"{source} is not a readable .tar.gz archive: {exc}") from exc


class EvaluationResult(_CachedOutput):
    """A started evaluation job and, once it completes, its metrics."""

    eval_task: EvaluationTask
    eval_output_path: str
    OUTPUT_FIELD: ClassVar[str] = "eval_output_path"

    @field_validator("eval_output_path")
    @classmethod
    def _s3(cls, value: str) -> str:
        return str(check_s3_field(value, "eval_output_path"))

    def output_uri(self) -> str:
        return self.eval_output_path

    def get(self) -> dict[str, Any]:
        """The contents of the job's ``results_*.json``; ``{}`` while the job is not complete."""
        path = self._find("results_*.json")
        if path is None:
            return {}
        try:
            results = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, RecursionError) as exc:
            raise NovaError(f"{path.name} in {self.eval_output_path} is not JSON: {exc}") from exc
        if not isinstance(results, dict):
            raise NovaError(f"{path.name} in {self.eval_output_path} is not a JSON object")
        return results

    def show(self) -> None:
        """Print the metrics as a table: task, metric, value and standard error."""
        results = self.get()
        rows = [("task", "metric", "value", "stderr")]
        for task, metrics in (results.get("results") or {}).items():
            for name, value in metrics.items():
                if not name.endswith("_stderr"):
                    stderr = metrics.get(f"{name}_stderr")
                    rows.append((task, name, _number(value), "" if stderr is None else _number(stderr)))
        if len(rows) == 1:
            print(f"no evaluation results for {self.job_id}")
            return
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        print(f"{self.eval_task.name} evaluation {self.job_id}")
        for row in rows:
            print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())

    def upload_tensorboard_results(self, tensorboard_s3_path: str | None = None) -> None:
        """Copy the job's TensorBoard files to ``tensorboard_s3_path`` (beside the output by default)."""
        root = self._find(TENSORBOARD_DIR)
        if root is None or not root.is_dir():
            print(f"no TensorBoard results for {self.job_id}")
            return
        default = self.eval_output_path.rsplit("/", 1)[0] + f"/{TENSORBOARD_DIR}/"
        target = S3Uri.parse(tensorboard_s3_path or default, "tensorboard_s3_path")
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            with aws_errors("PutObject"):
                write_object(self.clients.s3, target.join(path.relative_to(root).as_posix()), path.read_bytes())
        print(f"TensorBoard results uploaded to {target}")


class SMTJEvaluationResult(EvaluationResult):
    """An evaluation run as a SageMaker training job."""

    result_type: Literal["smtj_evaluation"] = "smtj_evaluation"
    platform: Platform = Platform.SMTJ


class SMHPEvaluationResult(EvaluationResult):
    """An evaluation run on SageMaker HyperPod."""

    result_type: Literal["smhp_evaluation"] = "smhp_evaluation"
    platform: Platform = Platform.SMHP


_SYSTEM = re.compile(r"'role':\s*'system',\s*'content':\s*'([^']+)'")
_QUERY = re.compile(r"'role':\s*'user',\s*'content':\s*['\"]([^'\"]+)['\"]")


def format_inference_line(entry: dict[str, Any]) -> dict[str, Any]:
    """One ``inference_output.jsonl`` line as ``system``, ``query``, ``gold_response``,
    ``inference_response`` and ``metadata`` (``{}`` when the line has none): always all five keys."""
    system, query = _prompt_parts(str(entry.get("prompt", "")))
    metadata = entry.get("metadata")
    return {
        "system": system,
        "query": query,
        "gold_response": entry.get("gold", ""),
        "inference_response": _inference_text(entry.get("inference", "")),
        "metadata": {} if metadata is None else metadata,
    }


def _prompt_parts(prompt: str) -> tuple[str, str]:
    """System and user text of a prompt written as a Python list of messages."""
    try:
        messages = ast.literal_eval(prompt)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        messages = None
    if isinstance(messages, list) and all(isinstance(m, dict) for m in messages):
        by_role = {str(m.get("role")): str(m.get("content", "")) for m in messages}
        return by_role.get("system", ""), by_role.get("user", "")
    system, query = _SYSTEM.search(prompt), _QUERY.search(prompt)
    return (system.group(1) if system else "", query.group(1) if query else "")


def _inference_text(inference: Any) -> str:
    """The model's text from an inference field written as a Python list of strings."""
    if isinstance(inference, list):
        return "".join(str(x) for x in inference)
    try:
        value = ast.literal_eval(str(inference))
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return str(inference)
    return "".join(str(x) for x in value) if isinstance(value, list) else str(value)


class BatchInferenceResult(_CachedOutput):
    """A started batch inference job and, once it completes, its generations."""

    inference_output_path: str
    OUTPUT_FIELD: ClassVar[str] = "inference_output_path"

    @field_validator("inference_output_path")
    @classmethod
    def _s3(cls, value: str) -> str:
        return str(check_s3_field(value, "inference_output_path"))

    def output_uri(self) -> str:
        return self.inference_output_path

    def get(self, s3_path: str | None = None) -> dict[str, Any]:
        """``{"results": [...]}`` with one formatted item per input row; ``{}`` while not complete.

        :param s3_path: also write the formatted items to this object (``s3://bucket/key``) as JSON Lines.
        """
        target = S3Uri.parse(s3_path, "s3_path", require_key=True) if s3_path is not None else None
        path = self._find("inference_output.jsonl")
        if path is None:
            return {}
        results = [format_inference_line(entry) for entry in self._entries(path)]
        if target is not None:
            body = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in results).encode("utf-8")
            write_object(self.clients.s3, target, body, "application/jsonlines", field="s3_path")
        return {"results": results}

    def _entries(self, path: Path) -> list[dict[str, Any]]:
        """The JSON objects of ``inference_output.jsonl``; NovaError naming the file and line otherwise."""
        where = f"{path.name} in {self.inference_output_path}"
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise NovaError(f"{where} is not UTF-8 text: {exc}") from exc
        entries: list[dict[str, Any]] = []
        for number, line in enumerate(text.split("\n"), 1):  # not splitlines: U+2028 may sit inside a string
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except (ValueError, RecursionError) as exc:
                raise NovaError(f"line {number} of {where} is not JSON: {exc}") from exc
            if not isinstance(entry, dict):
                raise NovaError(f"line {number} of {where} is not a JSON object")
            entries.append(entry)
        return entries

    def show(self, n: int = 10) -> None:
        """Print the first ``n`` generations beside their gold responses."""
        results = self.get().get("results", [])
        print(f"batch inference {self.job_id}: {len(results)} results")
        for i, item in enumerate(results[:n], 1):
            print(f"[{i}] query: {_cut(item['query'])}")
            print(f"    gold:      {_cut(str(item['gold_response']))}")
            print(f"    inference: {_cut(item['inference_response'])}")


class SMTJBatchInferenceResult(BatchInferenceResult):
    """A batch inference run as a SageMaker training job."""

    result_type: Literal["smtj_batch_inference"] = "smtj_batch_inference"
    platform: Platform = Platform.SMTJ


class SMHPBatchInferenceResult(BatchInferenceResult):
    """A batch inference run on SageMaker HyperPod (its output is a prefix, like an evaluation's)."""

    result_type: Literal["smhp_batch_inference"] = "smhp_batch_inference"
    platform: Platform = Platform.SMHP


def _cut(text: str, width: int = 100) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _number(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)
