"""A plain-text table of rows for ``show()``: one column per field, long values cut.

Records with ``messages`` (SFT and RFT formats) show the first text of each role instead.
Control characters in the data are shown as escapes (``\\n``, ``\\t``, ``\\x1b``), so a value
can neither break the table nor send escape sequences to the terminal.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from airflow_provider_nova.core.datasets._codec import CodecError, encode

_MAX_WIDTH = 40
_READABLE = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}
# C0 and C1 controls and DEL (Cc), and the Unicode line and paragraph separators.
_ESCAPED_CATEGORIES = frozenset({"Cc", "Zl", "Zp"})


def _escape_char(char: str) -> str:
    if char in _READABLE:
        return _READABLE[char]
    if unicodedata.category(char) not in _ESCAPED_CATEGORIES:
        return char
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape(text: str) -> str:
    """Return ``text`` with control characters written as backslash escapes."""
    if text.isprintable():
        return text
    return "".join(_escape_char(char) for char in text)


def _cell(value: Any) -> str:
    if isinstance(value, str):
        text = value
    else:
        try:
            text = encode(value).decode()
        except CodecError:
            text = repr(value)
    text = escape(text)
    return text if len(text) <= _MAX_WIDTH else text[: _MAX_WIDTH - 3] + "..."


def _message_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return _cell(content)
    parts = []
    for block in content:
        if isinstance(block, dict) and isinstance(block.get("text"), str):
            parts.append(block["text"])
        elif isinstance(block, dict) and block:
            parts.append(f"[{next(iter(block))}]")
    return " ".join(parts)


def display_row(row: dict[str, Any]) -> dict[str, Any]:
    """Return ``row`` with its ``messages`` shown as one column per role (first turn) and a turn count."""
    messages = row.get("messages")
    if not isinstance(messages, list):
        return row
    shown: dict[str, Any] = {k: v for k, v in row.items() if k not in ("schemaVersion", "messages")}
    if isinstance(row.get("system"), list):
        shown["system"] = _message_text(row["system"])
    for message in messages:
        if isinstance(message, dict) and isinstance(message.get("role"), str):
            shown.setdefault(message["role"], _message_text(message.get("content")))
    shown["turns"] = len(messages)
    return shown


def format_table(title: str, rows: list[tuple[int, dict[str, Any]]]) -> str:
    """Return ``title`` and a table of ``rows`` (source row number, record)."""
    columns: dict[str, None] = {}
    rows = [(number, display_row(row)) for number, row in rows]
    for _, row in rows:
        columns.update(dict.fromkeys(row))
    header = ["row", *(_cell(column) for column in columns)]
    body = [[str(number), *(_cell(row[c]) if c in row else "" for c in columns)] for number, row in rows]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]

    def render(cells: list[str]) -> str:
        return " | ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)).rstrip()

    lines = [escape(title)]
    if rows:
        lines += [render(header), "-+-".join("-" * w for w in widths)]
        lines += [render(line) for line in body]
    return "\n".join(lines)
