"""Check a sample of a job's input data before the job is started (and paid for).

::

    check_input_sample(clients.s3, "s3://my-bucket/train/", kind="sft", model=Model.NOVA_MICRO)

The URI is a prefix, as SageMaker reads it: the first few data objects under it are listed
(directory markers, ``_SUCCESS``-style markers, dot files and manifests are skipped), the first
``sample_bytes`` of each are fetched with one ranged GetObject, and every complete JSON line is
checked with the row checks of :mod:`airflow_provider_nova.core.datasets.validate`:

=========  =====================================================================================
``sft``    Bedrock conversation records (``bedrock-conversation-2024``), checked for the model's
           generation (reasoning, tools and documents on Nova 2 only, no media on Nova Micro)
``rft``    OpenAI-style ``messages`` with a ``reference_answer`` for the reward function
``gen_qa`` ``query``/``response`` rows: batch inference and evaluation with your own data
=========  =====================================================================================

Rows in another shape (raw ``question``/``answer`` rows, a CSV export, a JSON array) fail with
the object, the row and the field, and name the dataset loader call that converts them.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, get_args

from airflow_provider_nova.core.aws import aws_errors
from airflow_provider_nova.core.datasets._codec import CodecError, decode
from airflow_provider_nova.core.datasets.validate import (
    MISSING,
    RowError,
    check_converse,
    check_eval,
    check_rft,
)
from airflow_provider_nova.core.enums import Model, TrainingMethod
from airflow_provider_nova.core.errors import AwsCallError, ConfigurationError, DataPrepError
from airflow_provider_nova.core.s3 import S3Uri

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

InputKind = Literal["sft", "rft", "gen_qa"]

_METHODS: dict[InputKind, tuple[TrainingMethod, ...]] = {
    "sft": (TrainingMethod.SFT_LORA, TrainingMethod.SFT_FULLRANK),
    "rft": (TrainingMethod.RFT_LORA, TrainingMethod.RFT),
    "gen_qa": (TrainingMethod.EVALUATION,),
}
_FORMATS = {"sft": "Bedrock conversation", "rft": "RFT", "gen_qa": "gen_qa (query/response)"}
_COLUMNS = {
    "sft": "question=..., answer=...",
    "rft": "question=..., reference_answer=...",
    "gen_qa": "question=..., answer=...",
}
_MARKERS = {"sft": "messages", "rft": "messages", "gen_qa": "query"}
_DENIED = frozenset({"AccessDenied", "AllAccessDisabled", "403"})  # "403": a denial without an error body
_SKIPPED_NAMES = frozenset({"manifest", "manifest.json", "_success"})
_SKIPPED_SUFFIXES = (".crc", ".manifest", "_$folder$")
_BOM = b"\xef\xbb\xbf"
_MAX_PAGES = 5


@dataclass(frozen=True)
class InputSample:
    """What :func:`check_input_sample` read: the objects sampled, rows checked and bytes fetched."""

    uri: str
    objects: tuple[str, ...]
    rows: int
    bytes_read: int


def input_kind(method: TrainingMethod) -> InputKind:
    """Return the input format ``method`` trains or evaluates on (``EVALUATION`` reads ``gen_qa``)."""
    return next(kind for kind, methods in _METHODS.items() if method in methods)


def check_input_sample(
    s3_client: Any,
    uri: str,
    *,
    kind: InputKind,
    model: Model,
    method: TrainingMethod | None = None,
    field: str = "data_s3_path",
    sample_bytes: int = 1 << 20,
    max_objects: int = 3,
) -> InputSample:
    """Check the start of the data at ``uri`` (an object or a prefix) is in the ``kind`` format for ``model``.

    :param s3_client: a boto3 S3 client.
    :param kind: ``"sft"``, ``"rft"`` or ``"gen_qa"`` (see :func:`input_kind`).
    :param method: the training method, named in the hint to transform raw rows; the default
        method of ``kind`` when omitted.
    :param field: the parameter ``uri`` came from, named in every error.
    :param sample_bytes: how much of each object is fetched; a line cut off at the end is ignored
        (so a first row longer than the sample is not checked).
    :param max_objects: how many data objects under the prefix are sampled.
    :raises DataPrepError: no data under ``uri``, a line that is not JSON, or a row not in the format.
    :raises ConfigurationError: a missing bucket or access denied; a bad ``kind``/``method`` pair.
    :raises AwsCallError: any other S3 error.
    """
    hint_method = _hint_method(kind, method)
    loc = S3Uri.parse(uri, field)
    objects = _data_objects(s3_client, loc, field, max_objects)
    rows = bytes_read = 0
    for key, size in objects:
        data = _read_start(s3_client, S3Uri(loc.bucket, key), field, sample_bytes)
        bytes_read += len(data)
        rows += _check_lines(data, len(data) < size, _Source(field, S3Uri(loc.bucket, key), kind, model, hint_method))
    return InputSample(str(loc), tuple(str(S3Uri(loc.bucket, key)) for key, _ in objects), rows, bytes_read)


def _hint_method(kind: str, method: TrainingMethod | None) -> TrainingMethod:
    if kind not in _METHODS:
        raise ConfigurationError(f"unknown input kind {kind!r}; known: {', '.join(get_args(InputKind))}")
    if method is None:
        return _METHODS[kind][0]
    if method not in _METHODS[kind]:
        allowed = ", ".join(m.name for m in _METHODS[kind])
        raise ConfigurationError(f"{kind} input is for {allowed}, not {method.name}")
    return method


# --- listing and reading -----------------------------------------------------------------------


def _data_objects(s3_client: Any, loc: S3Uri, field: str, max_objects: int) -> list[tuple[str, int]]:
    """Return ``(key, size)`` of the first non-empty data objects under ``loc``."""
    found: list[tuple[str, int]] = []
    seen: list[str] = []
    kwargs: dict[str, Any] = {"Bucket": loc.bucket, "Prefix": loc.key}
    for _ in range(_MAX_PAGES):
        with _s3_errors("ListObjectsV2", field, loc):
            page = s3_client.list_objects_v2(**kwargs)
        for obj in page.get("Contents", []):
            seen.append(obj["Key"])
            if _is_data_key(obj["Key"]) and obj.get("Size", 0) > 0:
                found.append((obj["Key"], obj["Size"]))
        if len(found) >= max_objects or not page.get("IsTruncated"):
            break
        kwargs["ContinuationToken"] = page["NextContinuationToken"]
    if not found:
        raise DataPrepError(_no_data_message(field, loc, seen))
    return found[:max_objects]


def _is_data_key(key: str) -> bool:
    name = key.rsplit("/", 1)[-1].lower()
    return (
        bool(name)
        and not name.startswith(("_", "."))
        and name not in _SKIPPED_NAMES
        and not name.endswith(_SKIPPED_SUFFIXES)
    )


def _no_data_message(field: str, loc: S3Uri, seen: list[str]) -> str:
    if not seen:
        return f"{field} {loc} has no objects: upload the data first"
    shown = ", ".join(seen[:5]) + (", ..." if len(seen) > 5 else "")
    return (
        f"{field} {loc} has no data: its objects ({shown}) are empty, directory markers or manifests; "
        "upload JSON Lines data"
    )


def _read_start(s3_client: Any, loc: S3Uri, field: str, sample_bytes: int) -> bytes:
    """Return at most ``sample_bytes`` from the start of the object, fetched with a ranged GetObject."""
    with _s3_errors("GetObject", field, loc):
        body = s3_client.get_object(Bucket=loc.bucket, Key=loc.key, Range=f"bytes=0-{sample_bytes - 1}")["Body"]
    try:
        data: bytes = body.read(sample_bytes)
    finally:
        body.close()
    return data


@contextmanager
def _s3_errors(operation: str, field: str, loc: S3Uri) -> Iterator[None]:
    """Wrap botocore errors; a missing bucket or a denial becomes a ConfigurationError naming ``field``."""
    try:
        with aws_errors(operation):
            yield
    except AwsCallError as exc:
        if exc.code == "NoSuchBucket":
            raise ConfigurationError(f"{field} {loc}: bucket {loc.bucket} does not exist") from exc
        if exc.code in _DENIED:
            action, resource = (
                ("s3:ListBucket", f"arn:aws:s3:::{loc.bucket}")
                if operation == "ListObjectsV2"
                else ("s3:GetObject", f"arn:aws:s3:::{loc.bucket}/{loc.key}")
            )
            raise ConfigurationError(
                f"{field} {loc}: access denied ({operation}): allow {action} on {resource} to the caller "
                "and to the job's execution role"
            ) from exc
        raise


# --- checking rows -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Source:
    field: str
    loc: S3Uri
    kind: str
    model: Model
    method: TrainingMethod

    def fail(self, where: str, problem: str, hint: str = "") -> DataPrepError:
        return DataPrepError(f"{self.field} {self.loc}: {where}: {problem}" + (f"; {hint}" if hint else ""))

    def transform_hint(self, loader: str) -> str:
        return (
            f"convert it first: {loader}({_COLUMNS[self.kind]}).load({str(self.loc)!r})"
            f".transform(method=TrainingMethod.{self.method.name}, model=Model.{self.model.name})"
            f".save_data('s3://.../{'gen_qa' if self.kind == 'gen_qa' else 'train'}.jsonl')"
        )


def _check_lines(data: bytes, cut: bool, source: _Source) -> int:
    """Check every complete line of ``data``; return the number of rows checked."""
    lines = data.split(b"\n")
    if cut:
        lines.pop()  # the object goes on past the sample: its last line may be incomplete
        if not lines and not data.lstrip(_BOM + b" \t\r").startswith(b"{"):
            raise source.fail("line 1", "expected one JSON object a line (JSON Lines)", _loader_hint(source, data))
    check = _row_check(source.kind)
    rows = 0
    for number, line in enumerate(lines, 1):
        body = line.strip()
        if not body:
            continue
        if number == 1 and body.startswith(_BOM):
            raise source.fail("line 1", "starts with a UTF-8 byte order mark; save the file without one")
        _check_row(_decode_line(body, number, source), number, check, source)
        rows += 1
    return rows


def _decode_line(body: bytes, number: int, source: _Source) -> dict[str, Any]:
    try:
        row = decode(body)
    except CodecError as exc:
        hint = _loader_hint(source, body) if number == 1 else ""
        raise source.fail(f"line {number}", f"expected one JSON object, got malformed JSON ({exc})", hint) from None
    if not isinstance(row, dict):
        hint = source.transform_hint("JSONDatasetLoader") if isinstance(row, list) else ""
        raise source.fail(f"line {number}", f"expected a JSON object, got {type(row).__name__}", hint)
    return row


def _loader_hint(source: _Source, first_line: bytes) -> str:
    """Name the loader for data that is not JSON Lines: a CSV export or a JSON array."""
    start = first_line.lstrip(_BOM + b" \t\r\n")
    if start.startswith(b"["):
        return "for a JSON array, " + source.transform_hint("JSONDatasetLoader")
    if source.loc.key.lower().endswith(".csv") or (not start.startswith(b"{") and b"," in start[:500]):
        return "for a CSV export, " + source.transform_hint("CSVDatasetLoader")
    return ""


def _check_row(
    row: dict[str, Any], number: int, check: Callable[[dict[str, Any], Model], None], source: _Source
) -> None:
    marker = _MARKERS[source.kind]
    if marker not in row:
        columns = ", ".join(sorted(row)[:6]) or "no fields"
        raise source.fail(
            f"row {number}",
            f"field {marker!r} is missing: expected {_FORMATS[source.kind]} records, got raw rows ({columns})",
            source.transform_hint("JSONLDatasetLoader"),
        )
    try:
        check(row, source.model)
    except RowError as exc:
        problem = f"field {exc.field!r}: expected {exc.expected}, got {exc.describe_got()}"
        raise source.fail(f"row {number}", problem) from None


def _row_check(kind: str) -> Callable[[dict[str, Any], Model], None]:
    return {"sft": check_converse, "rft": _check_rft_row, "gen_qa": check_eval}[kind]


def _check_rft_row(row: dict[str, Any], model: Model) -> None:
    """An RFT row as the service reads it: ``check_rft`` plus the required ``reference_answer``."""
    check_rft(row)
    if "reference_answer" not in row:
        raise RowError(
            "reference_answer", "the expected output or criteria the reward function scores against", MISSING
        )
