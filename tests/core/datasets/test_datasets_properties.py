"""Property-based tests: random and malformed input fails with DataPrepError or not at all."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_provider_nova.core.datasets import (
    STANDARD_COLUMNS,
    CSVDatasetLoader,
    JSONDatasetLoader,
    JSONLDatasetLoader,
)
from airflow_provider_nova.core.enums import Model, TrainingMethod
from airflow_provider_nova.core.errors import DataPrepError

COMBINATIONS = [(m, model) for m in TrainingMethod for model in Model if not m.is_rft or model is Model.NOVA_LITE_2]
LOADERS: dict[str, Any] = {"jsonl": JSONLDatasetLoader, "json": JSONDatasetLoader, "csv": CSVDatasetLoader}
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.text(max_size=12)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
likely_values = (
    st.sampled_from(["", " ", "hi", "s3://bkt/a.png", "s3://bkt/v.mp4", "111122223333", "data:image/png;base64,AA"])
    | json_values
)
keys = st.sampled_from(
    [*STANDARD_COLUMNS, "messages", "schemaVersion", "query", "response", "images", "system"]
) | st.text(max_size=6)
rows = st.dictionaries(keys, likely_values, max_size=6)

roles = st.sampled_from(["user", "assistant", "system", "tool", ""]) | json_values
blocks = st.dictionaries(
    st.sampled_from(["text", "image", "video", "document", "reasoningContent", "toolUse", "toolResult", "x"]),
    likely_values,
    max_size=2,
)
messages = st.lists(
    st.fixed_dictionaries({"role": roles, "content": st.lists(blocks, max_size=3) | likely_values}), max_size=4
)
formatted_rows = st.fixed_dictionaries(
    {"messages": messages},
    optional={
        "schemaVersion": st.just("bedrock-conversation-2024") | likely_values,
        "system": st.lists(blocks, max_size=2),
        "id": likely_values,
        "reference_answer": likely_values,
        "tools": json_values,
    },
)


def _write(directory: str, name: str, content: bytes) -> str:
    path = Path(directory) / name
    path.write_bytes(content)
    return str(path)


def _transform_everything(loader: Any) -> None:
    """Transform with every supported combination: DataPrepError or records that pass through again."""
    for method, model in COMBINATIONS:
        try:
            records = list(loader.transform(method, model))
        except DataPrepError:
            continue
        if not records:
            return
        with tempfile.TemporaryDirectory() as directory:
            saved = loader.save_data(str(Path(directory) / "out.jsonl"))
            again = JSONLDatasetLoader().load(saved).transform(method, model)
            assert list(again) == records, "a transformed record is accepted unchanged as already formatted"
        return


@SETTINGS
@given(data=st.lists(rows | formatted_rows, min_size=1, max_size=5))
def test_random_rows_transform_or_raise_data_prep_error(data: list[dict[str, Any]]) -> None:
    with tempfile.TemporaryDirectory() as directory:
        content = "".join(json.dumps(row) + "\n" for row in data).encode()
        try:
            loader = JSONLDatasetLoader().load(_write(directory, "rows.jsonl", content))
        except DataPrepError:
            return
        for method, model in COMBINATIONS:
            try:
                JSONLDatasetLoader().load(_write(directory, "again.jsonl", content)).transform(method, model)
            except DataPrepError as exc:
                assert str(exc).startswith("row ") and ": field " in str(exc) and ": expected " in str(exc)
        _transform_everything(loader)


@SETTINGS
@given(kind=st.sampled_from(sorted(LOADERS)), content=st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_malformed_files_load_or_raise_data_prep_error(kind: str, content: bytes) -> None:
    with tempfile.TemporaryDirectory() as directory:
        try:
            loader = LOADERS[kind]().load(_write(directory, f"in.{kind}", content))
        except DataPrepError:
            return
        if len(loader):
            loader.split_data(0.5, 0.3, 0.2, seed=1)
            loader.save_data(str(Path(directory) / "out.json"))
        _transform_everything(loader)


@SETTINGS
@given(
    header=st.lists(st.text(min_size=1, max_size=6), min_size=1, max_size=4, unique=True),
    cells=st.lists(st.lists(st.text(max_size=8), min_size=1, max_size=4), max_size=4),
)
def test_random_csv_tables_round_trip_or_raise_data_prep_error(header: list[str], cells: list[list[str]]) -> None:
    import csv
    import io

    text = io.StringIO(newline="")
    writer = csv.writer(text)
    writer.writerow(header)
    writer.writerows(cells)
    with tempfile.TemporaryDirectory() as directory:
        try:
            loader = CSVDatasetLoader().load(_write(directory, "in.csv", text.getvalue().encode()))
        except DataPrepError:
            return
        assert all(set(row) == set(header) for row in loader)
        _transform_everything(loader)


visible_text = st.text(min_size=1, max_size=40).filter(str.strip)


@SETTINGS
@given(
    pairs=st.lists(st.tuples(visible_text, visible_text, st.none() | visible_text), min_size=1, max_size=8),
    combination=st.sampled_from(COMBINATIONS),
)
def test_complete_rows_always_transform_and_round_trip(
    pairs: list[tuple[str, str, str | None]], combination: tuple[TrainingMethod, Model]
) -> None:
    method, model = combination
    data = [{"q": q, "a": a, **({"s": s} if s else {})} for q, a, s in pairs]
    with tempfile.TemporaryDirectory() as directory:
        loader = JSONDatasetLoader(question="q", answer="a", system="s").load(
            _write(directory, "in.json", json.dumps(data).encode())
        )
        records = list(loader.transform(method, model))
        assert len(records) == len(data)
        train, val, test = loader.split_data(0.6, 0.2, 0.2, seed=3)
        assert len(train) + len(val) + len(test) == len(data)
        saved = loader.save_data(str(Path(directory) / "out.json"))
        assert json.loads(Path(saved).read_text(encoding="utf-8")) == records


any_text = st.text(st.characters(codec="utf-8"))  # controls, separators, anything JSON can carry
finite_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | any_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(any_text, inner, max_size=3),
    max_leaves=6,
)


@settings(SETTINGS, max_examples=60)
@given(data=st.lists(st.dictionaries(keys | any_text, finite_values, max_size=4), max_size=5))
def test_show_prints_a_line_a_row_and_no_control_characters(data: list[dict[str, Any]]) -> None:
    import contextlib
    import io
    import unicodedata

    with tempfile.TemporaryDirectory() as directory:
        loader = JSONLDatasetLoader().load(_write(directory, "in.jsonl", b"".join(_jsonl_line(row) for row in data)))
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            loader.show()
    lines = printed.getvalue().split("\n")
    assert len(lines) == (4 + len(data) if data else 2)  # title, header, rule, rows and the final ""
    assert not [c for line in lines for c in line if unicodedata.category(c) in ("Cc", "Zl", "Zp")]


def _jsonl_line(row: dict[str, Any]) -> bytes:
    return json.dumps(row).encode() + b"\n"
