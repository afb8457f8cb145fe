"""Turn rows of the user's columns into the record format Nova trains or evaluates on.

Standard column names (map yours with ``question="user_query"`` and so on):

==================  =======================================================================
``question``        the user's prompt (required for every method)
``answer``          the expected reply (required for SFT; the ``response`` of evaluation)
``system``          optional system prompt
``reasoning``       optional reasoning text of the reply (SFT on Nova 2 models only)
``reference_answer`` optional RFT reference answer (string or JSON object), read by the reward function
``id``              optional RFT record id (a string; integers are written as strings)
``tools``           optional RFT tool definitions (a list, or a JSON string of one, as in CSV)
``image``           optional: SFT, an ``s3://`` URI of a gif/jpeg/png/webp image;
                    evaluation, a ``data:image/...;base64,`` URI or a list of them
``video``           optional SFT ``s3://`` URI of a video (mov, mkv, mp4; webm on Nova 1 models)
``bucket_owner``    the 12-digit account id owning the image/video bucket (required with them)
==================  =======================================================================

A null or whitespace-only optional value counts as absent. A row that already has the target
format's key (``messages`` for SFT and RFT, ``query`` for evaluation) and no question column is
taken as already formatted: it is checked and passed through byte for byte.
"""

from __future__ import annotations

import posixpath
from typing import TYPE_CHECKING, Any

from airflow_provider_nova.core.datasets._codec import CodecError, decode, encode
from airflow_provider_nova.core.datasets.validate import (
    MISSING,
    SCHEMA_VERSION,
    RowError,
    check_bucket_owner,
    check_converse,
    check_data_uri,
    check_eval,
    check_media_allowed,
    check_reference_answer,
    check_rft,
    check_rft_tools,
    is_blank,
    media_formats,
    require_text,
)
from airflow_provider_nova.core.enums import Model, TrainingMethod, Version
from airflow_provider_nova.core.errors import ConfigurationError, DataPrepError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

STANDARD_COLUMNS = (
    "question",
    "answer",
    "system",
    "reasoning",
    "reference_answer",
    "id",
    "tools",
    "image",
    "video",
    "bucket_owner",
)
_EXTENSION_FORMATS = {"jpg": "jpeg"}


def validate_mappings(mappings: Mapping[str, Any]) -> dict[str, str]:
    """Return the column mappings after checking names and targets; a DataPrepError otherwise."""
    unknown = sorted(set(mappings) - set(STANDARD_COLUMNS))
    if unknown:
        raise DataPrepError(
            f"unknown standard column(s) {', '.join(unknown)}; standard columns: {', '.join(STANDARD_COLUMNS)}"
        )
    for name, column in mappings.items():
        if not isinstance(column, str) or not column:
            raise DataPrepError(f"column mapping {name}= must be a non-empty column name, got {column!r}")
    return dict(mappings)


class Columns:
    """Read standard fields from a row through the user's column mapping."""

    def __init__(self, mappings: Mapping[str, str]) -> None:
        self.names = {std: mappings.get(std, std) for std in STANDARD_COLUMNS}

    def get(self, row: dict[str, Any], std: str) -> Any:
        """Return the value of ``std`` in ``row``, MISSING when the column is absent."""
        return row.get(self.names[std], MISSING)

    def optional(self, row: dict[str, Any], std: str) -> Any:
        """Return the value of ``std``, or None when it is absent, null or blank."""
        value = row.get(self.names[std], MISSING)
        return None if is_blank(value) else value

    def text(self, row: dict[str, Any], std: str) -> str:
        """Return the required text of ``std``; RowError when it is absent or empty."""
        return require_text(row.get(self.names[std], MISSING), std)


def coerce_method_model(method: Any, model: Any) -> tuple[TrainingMethod, Model]:
    """Return ``method`` and ``model`` as enum members (their values or names are accepted)."""
    try:
        method = method if isinstance(method, TrainingMethod) else TrainingMethod(str(method).lower())
    except ValueError:
        valid = ", ".join(m.name for m in TrainingMethod)
        raise ConfigurationError(f"unknown training method {method!r}; valid methods: {valid}") from None
    if not isinstance(model, Model):
        if str(model).upper() not in Model.__members__:
            raise ConfigurationError(f"unknown model {model!r}; valid models: {', '.join(Model.__members__)}")
        model = Model[str(model).upper()]
    return method, model


def row_converter(method: Any, model: Any, mappings: Mapping[str, str]) -> Callable[[int, bytes], bytes]:
    """Return a function turning one JSON row into the record ``method`` expects on ``model``.

    :raises ValueError: (a ConfigurationError) for an unknown or unsupported method/model pair.
    """
    method, model = coerce_method_model(method, model)
    if method.is_rft and model is not Model.NOVA_LITE_2:
        raise ConfigurationError(
            f"{method.name} is published for NOVA_LITE_2 only, not {model.name}; "
            "use SFT_LORA or SFT_FULLRANK on this model, or NOVA_LITE_2 for RFT"
        )
    columns = Columns(mappings)
    question = columns.names["question"]
    if method is TrainingMethod.EVALUATION:
        marker, check, build = "query", check_eval, _eval_record
    elif method.is_rft:
        marker, check, build = "messages", _check_rft, _rft_record
    else:
        marker, check, build = "messages", check_converse, _sft_record

    def convert(row_number: int, line: bytes) -> bytes:
        try:
            row = _decode_row(line)
            if marker in row and question not in row:
                check(row, model)
                return line
            return _encode_record(build(row, columns, model))
        except RowError as exc:
            raise DataPrepError(row_message(row_number, exc, columns)) from None

    return convert


def row_message(row_number: int, exc: RowError, columns: Columns) -> str:
    """Return the error message for ``exc`` in row ``row_number`` (1-based)."""
    column = columns.names.get(exc.field)
    where = f"field {exc.field!r}" + (f" (column {column!r})" if column and column != exc.field else "")
    return f"row {row_number}: {where}: expected {exc.expected}, got {exc.describe_got()}"


def _decode_row(line: bytes) -> dict[str, Any]:
    try:
        row = decode(line)
    except CodecError as exc:
        raise RowError("row", f"a JSON object ({exc})", line[:60]) from None
    if not isinstance(row, dict):
        raise RowError("row", "a JSON object", row)
    return row


def _encode_record(record: dict[str, Any]) -> bytes:
    try:
        return encode(record)
    except CodecError as exc:
        raise RowError("row", f"text that can be written as UTF-8 JSON ({exc})", MISSING) from None


def _check_rft(row: dict[str, Any], model: Model) -> None:
    check_rft(row)


# --- SFT ---------------------------------------------------------------------------------------


def _sft_record(row: dict[str, Any], columns: Columns, model: Model) -> dict[str, Any]:
    question = columns.text(row, "question")
    answer = columns.text(row, "answer")
    record: dict[str, Any] = {"schemaVersion": SCHEMA_VERSION}
    system = columns.optional(row, "system")
    if system is not None:
        record["system"] = [{"text": require_text(system, "system")}]
    user: list[dict[str, Any]] = []
    media = _media_block(row, columns, model)
    if media is not None:
        user.append(media)
    user.append({"text": question})
    assistant: list[dict[str, Any]] = []
    reasoning = columns.optional(row, "reasoning")
    if reasoning is not None:
        assistant.append(_reasoning_block(reasoning, media is not None, model))
    assistant.append({"text": answer})
    record["messages"] = [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]
    return record


def _reasoning_block(reasoning: Any, has_media: bool, model: Model) -> dict[str, Any]:
    if model.version is not Version.TWO:
        raise RowError("reasoning", "no reasoning text: it is trained on Nova 2 models only", reasoning)
    if has_media:
        raise RowError("reasoning", "no reasoning text in a row with an image or video", reasoning)
    return {"reasoningContent": {"reasoningText": {"text": require_text(reasoning, "reasoning")}}}


def _media_block(row: dict[str, Any], columns: Columns, model: Model) -> dict[str, Any] | None:
    image, video = columns.optional(row, "image"), columns.optional(row, "video")
    if image is None and video is None:
        return None
    if image is not None and video is not None:
        raise RowError("video", "no video in a row that has an image (one image or one video per row)", video)
    kind, uri = ("image", image) if image is not None else ("video", video)
    check_media_allowed(kind, model, kind, uri)
    formats = media_formats(kind, model)
    expected = f"an s3:// URI of a {'/'.join(sorted(formats))} file"
    if not isinstance(uri, str) or not uri.startswith("s3://") or len(uri) <= 5:
        raise RowError(kind, expected, uri)
    extension = posixpath.splitext(uri)[1][1:].lower()
    fmt = _EXTENSION_FORMATS.get(extension, extension)
    if fmt not in formats:
        raise RowError(kind, expected, uri)
    owner = check_bucket_owner(columns.get(row, "bucket_owner"), "bucket_owner")
    return {kind: {"format": fmt, "source": {"s3Location": {"uri": uri, "bucketOwner": owner}}}}


# --- RFT ---------------------------------------------------------------------------------------


def _rft_record(row: dict[str, Any], columns: Columns, model: Model) -> dict[str, Any]:
    for kind in ("image", "video"):
        if columns.optional(row, kind) is not None:
            raise RowError(kind, f"no {kind}: RFT records are text only", columns.get(row, kind))
    record: dict[str, Any] = {}
    record_id = columns.optional(row, "id")
    if record_id is not None:
        record["id"] = _rft_id(record_id)
    messages = []
    system = columns.optional(row, "system")
    if system is not None:
        messages.append({"role": "system", "content": require_text(system, "system")})
    messages.append({"role": "user", "content": columns.text(row, "question")})
    record["messages"] = messages
    reference = columns.optional(row, "reference_answer")
    if reference is not None:
        check_reference_answer(reference, "reference_answer")
        record["reference_answer"] = reference
    tools = columns.optional(row, "tools")
    if tools is not None:
        record["tools"] = _rft_tools(tools)
    return record


def _rft_id(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return require_text(value, "id")


def _rft_tools(value: Any) -> list[Any]:
    if isinstance(value, str):
        try:
            value = decode(value)
        except CodecError:
            raise RowError("tools", "a list of tool definitions, or a JSON string of one", value) from None
    check_rft_tools(value, "tools")
    tools: list[Any] = value
    return tools


# --- Evaluation --------------------------------------------------------------------------------


def _eval_record(row: dict[str, Any], columns: Columns, model: Model) -> dict[str, Any]:
    if columns.optional(row, "video") is not None:
        raise RowError("video", "no video: evaluation records take images only", columns.get(row, "video"))
    record: dict[str, Any] = {"query": columns.text(row, "question"), "response": columns.text(row, "answer")}
    system = columns.optional(row, "system")
    if system is not None:
        record["system"] = require_text(system, "system")
    images = columns.optional(row, "image")
    if images is not None:
        check_media_allowed("image", model, "image", images)
        uris = images if isinstance(images, list) and images else [images]
        record["images"] = [{"data": check_data_uri(uri, "image")} for uri in uris]
    return record
