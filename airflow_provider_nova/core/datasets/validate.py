"""Checks of records already in a Nova training or evaluation format.

Each ``check_*`` function raises :class:`RowError` naming the field (a JSON path such as
``messages[1].role``) and what was expected; the transform adds the row number. The rules are
what the service rejects, as published in the Nova user guide and enforced by the public Nova
SDK's validators (``amzn-nova-forge``): see ``nova-facts.md``, section "Data formats".
"""

from __future__ import annotations

import re
from typing import Any

from airflow_provider_nova.core.enums import Model, Version

SCHEMA_VERSION = "bedrock-conversation-2024"
IMAGE_FORMATS = frozenset({"gif", "jpeg", "png", "webp"})
VIDEO_FORMATS = {Version.ONE: frozenset({"mov", "mkv", "mp4", "webm"}), Version.TWO: frozenset({"mov", "mkv", "mp4"})}
DOCUMENT_FORMATS = frozenset({"pdf"})
RFT_ROLES = ("system", "user", "assistant")

_ACCOUNT_ID = re.compile(r"[0-9]{12}")  # fullmatch: str.isdigit() also takes non-ASCII digits
_MEDIA_KINDS = ("image", "video", "document")
_BLOCK_KINDS = ("text", *_MEDIA_KINDS, "reasoningContent", "toolUse", "toolResult")


class _Missing:
    def __repr__(self) -> str:
        return "nothing (the field is missing)"


MISSING: Any = _Missing()


class RowError(Exception):
    """One field of one row is not what the format requires."""

    def __init__(self, field: str, expected: str, got: Any = MISSING) -> None:
        super().__init__(field, expected)
        self.field = field
        self.expected = expected
        self.got = got

    def describe_got(self) -> str:
        """Return a short representation of the offending value."""
        text = repr(self.got)
        return text if len(text) <= 80 else text[:77] + "..."


def is_blank(value: Any) -> bool:
    """True for a missing value: absent, null, or a string of whitespace only."""
    return value is MISSING or value is None or (isinstance(value, str) and not value.strip())


def require_text(value: Any, field: str) -> str:
    """Return ``value`` if it is a string with visible content, else raise RowError."""
    if not isinstance(value, str) or not value.strip():
        raise RowError(field, "a non-empty string", value)
    return value


def _require_list(value: Any, field: str, what: str) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise RowError(field, f"a non-empty list of {what}", value)
    return value


def _require_dict(value: Any, field: str, what: str = "a JSON object") -> dict[str, Any]:
    if not isinstance(value, dict):
        raise RowError(field, what, value)
    return value


def check_bucket_owner(value: Any, field: str) -> str:
    """Return ``value`` if it is a 12-digit AWS account id."""
    if not isinstance(value, str) or not _ACCOUNT_ID.fullmatch(value):
        raise RowError(field, "the 12-digit AWS account id that owns the bucket", value)
    return value


def check_media_allowed(kind: str, model: Model, field: str, value: Any) -> None:
    """Raise RowError when ``model`` does not accept ``kind`` (image, video, document) input."""
    if model is Model.NOVA_MICRO:
        raise RowError(field, f"no {kind}: Nova Micro is a text-only model", value)
    if kind == "document" and model.version is not Version.TWO:
        raise RowError(field, "no document: documents are accepted by Nova 2 models only", value)


def media_formats(kind: str, model: Model) -> frozenset[str]:
    """Return the file formats the service accepts for ``kind`` on ``model``."""
    if kind == "image":
        return IMAGE_FORMATS
    if kind == "video":
        return VIDEO_FORMATS[model.version]
    return DOCUMENT_FORMATS


# --- SFT: the Bedrock conversation schema -------------------------------------------------------


def check_converse(row: dict[str, Any], model: Model) -> None:
    """Check a record of the Bedrock conversation schema (``bedrock-conversation-2024``)."""
    version = row.get("schemaVersion", MISSING)
    if version != SCHEMA_VERSION:
        raise RowError("schemaVersion", repr(SCHEMA_VERSION), version)
    if "system" in row:
        for i, block in enumerate(_require_list(row["system"], "system", "{'text': ...} blocks")):
            require_text(
                _require_dict(block, f"system[{i}]", "a {'text': ...} block").get("text", MISSING), f"system[{i}].text"
            )
    if "toolConfig" in row:
        _check_tool_config(row["toolConfig"], model)
    messages = _require_list(row.get("messages", MISSING), "messages", "user and assistant messages")
    if len(messages) < 2:
        raise RowError("messages", "at least a user message followed by an assistant message", messages)
    for i, message in enumerate(messages):
        _check_converse_message(message, i, model)
    if len(messages) % 2:
        raise RowError(f"messages[{len(messages) - 1}].role", "the last message to be from the assistant", "user")


def _check_tool_config(value: Any, model: Model) -> None:
    if model.version is not Version.TWO:
        raise RowError("toolConfig", "no toolConfig: tool use is trained on Nova 2 models only", value)
    tools = _require_list(_require_dict(value, "toolConfig").get("tools", MISSING), "toolConfig.tools", "tools")
    for i, tool in enumerate(tools):
        spec = _require_dict(
            _require_dict(tool, f"toolConfig.tools[{i}]").get("toolSpec", MISSING), f"toolConfig.tools[{i}].toolSpec"
        )
        require_text(spec.get("name", MISSING), f"toolConfig.tools[{i}].toolSpec.name")


def _check_converse_message(message: Any, index: int, model: Model) -> None:
    path = f"messages[{index}]"
    message = _require_dict(message, path, "a message object with role and content")
    role = "user" if index % 2 == 0 else "assistant"
    if message.get("role", MISSING) != role:
        raise RowError(f"{path}.role", f"{role!r} (roles alternate, starting with user)", message.get("role", MISSING))
    content = _require_list(message.get("content", MISSING), f"{path}.content", "content blocks")
    kinds = [_check_converse_block(block, f"{path}.content[{j}]", role, model) for j, block in enumerate(content)]
    media = {kind for kind in kinds if kind in _MEDIA_KINDS}
    if len(media) > 1:
        raise RowError(f"{path}.content", "one kind of media (image, video or document) per message", sorted(media))


def _check_converse_block(block: Any, path: str, role: str, model: Model) -> str:
    present = [k for k in _BLOCK_KINDS if k in block] if isinstance(block, dict) else []
    if len(present) != 1:
        raise RowError(path, f"a content block with exactly one of {', '.join(_BLOCK_KINDS)}", block)
    kind = present[0]
    value = block[kind]
    if kind == "text":
        require_text(value, f"{path}.text")
    elif kind in _MEDIA_KINDS:
        _check_media_block(value, kind, f"{path}.{kind}", role, model)
    elif kind == "reasoningContent":
        _check_reasoning(value, f"{path}.reasoningContent", role, model)
    elif kind == "toolUse":
        _check_tool_use(value, f"{path}.toolUse", role)
    else:
        _check_tool_result(value, f"{path}.toolResult", role)
    return kind


def _check_media_block(value: Any, kind: str, path: str, role: str, model: Model) -> None:
    if role != "user":
        raise RowError(path, f"no {kind} in an assistant message: media belongs to user messages", value)
    check_media_allowed(kind, model, path, value)
    media = _require_dict(value, path, "an object with format and source")
    formats = media_formats(kind, model)
    if media.get("format", MISSING) not in formats:
        raise RowError(f"{path}.format", f"one of {', '.join(sorted(formats))}", media.get("format", MISSING))
    source = _require_dict(media.get("source", MISSING), f"{path}.source", "an object with s3Location")
    location = _require_dict(
        source.get("s3Location", MISSING), f"{path}.source.s3Location", "an object with uri and bucketOwner"
    )
    uri = location.get("uri", MISSING)
    if not isinstance(uri, str) or not uri.startswith("s3://") or len(uri) <= 5:
        raise RowError(f"{path}.source.s3Location.uri", "an s3:// URI", uri)
    check_bucket_owner(location.get("bucketOwner", MISSING), f"{path}.source.s3Location.bucketOwner")


def _check_reasoning(value: Any, path: str, role: str, model: Model) -> None:
    if role != "assistant":
        raise RowError(path, "no reasoningContent in a user message: it belongs to assistant messages", value)
    if model.version is not Version.TWO:
        raise RowError(path, "no reasoningContent: reasoning text is trained on Nova 2 models only", value)
    reasoning = _require_dict(_require_dict(value, path).get("reasoningText", MISSING), f"{path}.reasoningText")
    require_text(reasoning.get("text", MISSING), f"{path}.reasoningText.text")


def _check_tool_use(value: Any, path: str, role: str) -> None:
    if role != "assistant":
        raise RowError(path, "no toolUse in a user message: it belongs to assistant messages", value)
    use = _require_dict(value, path, "an object with toolUseId, name and input")
    require_text(use.get("toolUseId", MISSING), f"{path}.toolUseId")
    require_text(use.get("name", MISSING), f"{path}.name")
    _require_dict(use.get("input", MISSING), f"{path}.input")


def _check_tool_result(value: Any, path: str, role: str) -> None:
    if role != "user":
        raise RowError(path, "no toolResult in an assistant message: it belongs to user messages", value)
    result = _require_dict(value, path, "an object with toolUseId and content")
    require_text(result.get("toolUseId", MISSING), f"{path}.toolUseId")
    _require_list(result.get("content", MISSING), f"{path}.content", "result blocks")


# --- RFT: OpenAI-style messages ---------------------------------------------------------------


def check_rft(row: dict[str, Any]) -> None:
    """Check a reinforcement fine-tuning record: ``messages`` plus optional id, reference_answer, tools."""
    if "id" in row:
        require_text(row["id"], "id")
    messages = _require_list(row.get("messages", MISSING), "messages", "messages")
    for i, message in enumerate(messages):
        message = _require_dict(message, f"messages[{i}]", "a message object with role and content")
        role = message.get("role", MISSING)
        if role not in RFT_ROLES or (role == "system" and i > 0):
            expected = (
                "'user' or 'assistant' (a system message comes first)"
                if role == "system"
                else "one of 'system', 'user', 'assistant'"
            )
            raise RowError(f"messages[{i}].role", expected, role)
        require_text(message.get("content", MISSING), f"messages[{i}].content")
    if not any(message["role"] == "user" for message in messages):
        raise RowError("messages", "at least one message with role 'user'", messages)
    if "reference_answer" in row:
        check_reference_answer(row["reference_answer"], "reference_answer")
    if "tools" in row:
        check_rft_tools(row["tools"], "tools")


def check_reference_answer(value: Any, field: str) -> None:
    """Check an RFT reference answer: a non-empty string or a non-empty JSON object."""
    if isinstance(value, dict) and value:
        return
    if isinstance(value, str) and value.strip():
        return
    raise RowError(field, "a non-empty string or a non-empty JSON object", value)


def check_rft_tools(value: Any, field: str) -> None:
    """Check OpenAI-style function tool definitions with distinct names."""
    names: set[str] = set()
    for i, tool in enumerate(_require_list(value, field, "tool definitions")):
        path = f"{field}[{i}]"
        tool = _require_dict(tool, path, "a tool object with type and function")
        if tool.get("type", MISSING) != "function":
            raise RowError(f"{path}.type", "'function'", tool.get("type", MISSING))
        function = _require_dict(
            tool.get("function", MISSING), f"{path}.function", "an object with name, description, parameters"
        )
        name = require_text(function.get("name", MISSING), f"{path}.function.name")
        require_text(function.get("description", MISSING), f"{path}.function.description")
        params = _require_dict(function.get("parameters", MISSING), f"{path}.function.parameters")
        if params.get("type", MISSING) != "object":
            raise RowError(f"{path}.function.parameters.type", "'object'", params.get("type", MISSING))
        _require_dict(params.get("properties", MISSING), f"{path}.function.parameters.properties")
        if name in names:
            raise RowError(f"{path}.function.name", "a tool name not used by an earlier tool", name)
        names.add(name)


# --- Evaluation with your own data (GEN_QA) ----------------------------------------------------


def check_eval(row: dict[str, Any], model: Model) -> None:
    """Check an evaluation record: ``query``, ``response``, optional ``system`` and ``images``."""
    require_text(row.get("query", MISSING), "query")
    require_text(row.get("response", MISSING), "response")
    if "system" in row and not isinstance(row["system"], str):
        raise RowError("system", "a string", row["system"])
    if "images" in row:
        check_media_allowed("image", model, "images", row["images"])
        for i, image in enumerate(_require_list(row["images"], "images", "{'data': ...} images")):
            image = _require_dict(image, f"images[{i}]", "an object {'data': 'data:image/...;base64,...'}")
            check_data_uri(image.get("data", MISSING), f"images[{i}].data")


def check_data_uri(value: Any, field: str) -> str:
    """Return ``value`` if it is a base64 image data URI (``data:image/png;base64,...``)."""
    if not isinstance(value, str) or not value.startswith("data:image/") or ";base64," not in value[:64].lower():
        raise RowError(field, "a base64 image data URI 'data:image/<format>;base64,...'", value)
    return value
