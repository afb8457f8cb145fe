"""load / show / save_data for each format, local and on the S3 stand-in, with their documented errors."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any

import pytest

import airflow_provider_nova.core.datasets as datasets
from airflow_provider_nova.core.datasets import CSVDatasetLoader, DatasetLoader, JSONDatasetLoader, JSONLDatasetLoader
from airflow_provider_nova.core.enums import Model, TrainingMethod
from airflow_provider_nova.core.errors import DataPrepError

ROWS = [
    {
        "user_query": "How do I reset my password?",
        "bot_response": "Settings > Security > Reset.",
        "system": "Support agent",
    },
    {"user_query": "Où est ma commande ?", "bot_response": "Elle arrive demain ✓", "system": ""},
    {"user_query": 'Quote "this", please\nand a newline', "bot_response": "Done, with a comma, here.", "system": "x"},
]


def write_source(path: Path, kind: str, rows: list[dict[str, Any]]) -> None:
    if kind == "jsonl":
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    elif kind == "json":
        path.write_text(json.dumps(rows, indent=2, ensure_ascii=False), encoding="utf-8")
    else:
        with path.open("w", newline="", encoding="utf-8") as out:
            writer = csv.DictWriter(out, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)


LOADERS: dict[str, Any] = {"jsonl": JSONLDatasetLoader, "json": JSONDatasetLoader, "csv": CSVDatasetLoader}


def test_public_names() -> None:
    assert set(datasets.__all__) == {
        "DatasetLoader",
        "JSONLDatasetLoader",
        "JSONDatasetLoader",
        "CSVDatasetLoader",
        "STANDARD_COLUMNS",
    }
    assert all(issubclass(c, DatasetLoader) for c in LOADERS.values())
    with pytest.raises(TypeError):
        DatasetLoader()  # type: ignore[abstract]


@pytest.mark.parametrize("kind", sorted(LOADERS))
@pytest.mark.parametrize("out_ext", [".jsonl", ".json"])
def test_local_round_trip(tmp_path: Path, kind: str, out_ext: str) -> None:
    write_source(tmp_path / f"in.{kind}", kind, ROWS)
    loader = LOADERS[kind]().load(str(tmp_path / f"in.{kind}"))
    assert len(loader) == 3 and list(loader) == ROWS
    saved = loader.save_data(str(tmp_path / "out" / f"rows{out_ext}"))
    reloaded = (JSONLDatasetLoader if out_ext == ".jsonl" else JSONDatasetLoader)().load(saved)
    assert list(reloaded) == ROWS
    if out_ext == ".json":
        assert json.loads(Path(saved).read_text(encoding="utf-8")) == ROWS


@pytest.mark.parametrize("kind", sorted(LOADERS))
@pytest.mark.parametrize("out_ext", [".jsonl", ".json"])
def test_s3_round_trip(tmp_path: Path, aws: Any, kind: str, out_ext: str) -> None:
    bucket = f"ds-{kind}-{out_ext[1:]}"
    aws.s3.create_bucket(Bucket=bucket)
    write_source(tmp_path / f"in.{kind}", kind, ROWS)
    aws.s3.upload_file(str(tmp_path / f"in.{kind}"), bucket, f"raw/in.{kind}")
    loader = LOADERS[kind](clients=aws, question="user_query", answer="bot_response").load(
        f"s3://{bucket}/raw/in.{kind}"
    )
    assert list(loader) == ROWS
    loader.transform(TrainingMethod.SFT_LORA, Model.NOVA_LITE)
    uri = f"s3://{bucket}/prepared/train{out_ext}"
    assert loader.save_data(uri) == uri
    again = (JSONLDatasetLoader if out_ext == ".jsonl" else JSONDatasetLoader)(clients=aws.s3).load(uri)
    assert list(again) == list(loader)
    assert next(iter(again))["messages"][1]["content"] == [{"text": "Settings > Security > Reset."}]


def test_default_clients_come_from_the_environment(sandbox: Any, tmp_path: Path) -> None:
    from airflow_provider_nova.core.aws import AwsClients

    AwsClients(region_name="us-east-1", endpoint_url=sandbox.endpoint_url).s3.create_bucket(Bucket="ds-default")
    write_source(tmp_path / "in.jsonl", "jsonl", ROWS)
    JSONLDatasetLoader().load(str(tmp_path / "in.jsonl")).save_data("s3://ds-default/rows.jsonl")
    assert list(JSONLDatasetLoader().load("s3://ds-default/rows.jsonl")) == ROWS


def test_s3_errors_are_data_prep_errors(aws: Any, tmp_path: Path) -> None:
    aws.s3.create_bucket(Bucket="ds-errors")
    with pytest.raises(DataPrepError, match=r"GetObject s3://ds-errors/missing.jsonl failed \(NoSuchKey\)"):
        JSONLDatasetLoader(clients=aws).load("s3://ds-errors/missing.jsonl")
    write_source(tmp_path / "in.jsonl", "jsonl", ROWS)
    loader = JSONLDatasetLoader(clients=aws).load(str(tmp_path / "in.jsonl"))
    with pytest.raises(DataPrepError, match="NoSuchBucket"):
        loader.save_data("s3://ds-no-such-bucket/rows.jsonl")
    with pytest.raises(DataPrepError, match="invalid bucket name"):
        loader.save_data("s3://UPPER/rows.jsonl")


def test_a_failed_s3_save_leaves_no_object(aws: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    aws.s3.create_bucket(Bucket="ds-partial")
    write_source(tmp_path / "in.jsonl", "jsonl", ROWS)
    loader = JSONLDatasetLoader(clients=aws).load(str(tmp_path / "in.jsonl"))
    monkeypatch.setattr("airflow_provider_nova.core.datasets.jsonl.write_lines", _fail_after_first_write)
    with pytest.raises(DataPrepError, match=r"cannot save .*: disk full"):
        loader.save_data("s3://ds-partial/rows.jsonl")
    assert "Contents" not in aws.s3.list_objects_v2(Bucket="ds-partial")


def _fail_after_first_write(lines: Any, out: Any, *args: Any, **kwargs: Any) -> None:
    out.write(next(iter(lines)))
    raise OSError("disk full")


def test_a_failed_local_save_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_source(tmp_path / "in.jsonl", "jsonl", ROWS)
    loader = JSONLDatasetLoader().load(str(tmp_path / "in.jsonl"))
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.jsonl").write_text("previous\n")
    monkeypatch.setattr("airflow_provider_nova.core.datasets.jsonl.write_lines", _fail_after_first_write)
    with pytest.raises(DataPrepError, match=r"cannot save .*: disk full"):
        loader.save_data(str(tmp_path / "out" / "new.jsonl"))
    with pytest.raises(DataPrepError, match=r"cannot save .*: disk full"):
        loader.save_data(str(tmp_path / "out" / "keep.jsonl"))
    assert sorted(os.listdir(tmp_path / "out")) == ["keep.jsonl"]
    assert (tmp_path / "out" / "keep.jsonl").read_text() == "previous\n"


def test_saving_over_the_loaded_file_is_safe(tmp_path: Path) -> None:
    path = tmp_path / "data.jsonl"
    write_source(path, "jsonl", ROWS)
    loader = JSONLDatasetLoader(question="user_query", answer="bot_response").load(str(path))
    loader.save_data(str(path))
    loader.transform(TrainingMethod.SFT_LORA, Model.NOVA_LITE).save_data(str(path))
    assert len(list(JSONLDatasetLoader().load(str(path)))) == 3


@pytest.mark.parametrize("bad", ["out.csv", "out.txt", "out", "gs://bucket/out.jsonl"])
def test_save_data_rejects_other_formats_and_schemes(tmp_path: Path, bad: str) -> None:
    write_source(tmp_path / "in.jsonl", "jsonl", ROWS)
    loader = JSONLDatasetLoader().load(str(tmp_path / "in.jsonl"))
    with pytest.raises(DataPrepError, match="save_path must"):
        loader.save_data(bad if "://" in bad else str(tmp_path / bad))


def test_save_and_show_need_data(tmp_path: Path) -> None:
    with pytest.raises(DataPrepError, match=r"JSONLDatasetLoader has no data: call load\(path\) first"):
        JSONLDatasetLoader().save_data(str(tmp_path / "x.jsonl"))
    with pytest.raises(DataPrepError, match="no data"):
        JSONLDatasetLoader().show()
    (tmp_path / "empty.jsonl").write_text("\n\n")
    empty = JSONLDatasetLoader().load(str(tmp_path / "empty.jsonl"))
    assert len(empty) == 0
    with pytest.raises(DataPrepError, match="nothing to save"):
        empty.save_data(str(tmp_path / "x.jsonl"))


def test_jsonl_tolerates_blank_lines_crlf_and_a_bom(tmp_path: Path) -> None:
    path = tmp_path / "messy.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"a": 1}\r\n\r\n   \n  {"a": 2}  \r\n{"a": 3}')
    assert list(JSONLDatasetLoader().load(str(path))) == [{"a": 1}, {"a": 2}, {"a": 3}]


LOAD_ERRORS = [
    ("jsonl", b'{"a": 1}\n{"a": 2\n', "line 2: expected one JSON object, got malformed JSON"),
    ("jsonl", b'{"a": 1}\n[1, 2]\n', "line 2: expected a JSON object, got list"),
    ("jsonl", b'{"a": NaN}\n', "line 1: expected one JSON object, got malformed JSON"),
    ("jsonl", b'{"a": "\xff"}\n', "line 1: expected one JSON object, got malformed JSON"),
    ("json", b'{"a": 1}', "expected a JSON array of objects"),
    ("json", b'[{"a": 1}, 2]', "row 2: expected a JSON object, got '2]'"),
    ("json", b'[{"a": 1}, {"a": }]', "row 2: malformed JSON (Expecting value)"),
    ("json", b'[{"a": 1} {"a": 2}]', "row 1: expected ',' or ']' after the object"),
    ("json", b'[{"a": NaN}]', "row 1: malformed JSON (NaN is not valid JSON)"),
    ("json", b'[{"a": 1}] trailing', "expected the end of the file after the array"),
    ("json", b'[{"a": 1}', "expected ',' or ']' after the object, got ''"),
    ("json", b'[{"a": "\xff"}]', "expected UTF-8 text"),
    ("csv", b"a,b\n1,2\n3\n", "row 2 (line 3): expected 2 fields like the header, got 1"),
    ("csv", b"a,a\n1,2\n", "line 1: expected distinct column names, got duplicates ['a']"),
    ("csv", b"a,\n1,2\n", "line 1: expected a header row naming every column"),
    ("csv", b'a,b\n"1,2\n', "malformed CSV"),
    ("csv", b"a,b\n\xff,1\n", "expected UTF-8 text"),
]


@pytest.mark.parametrize(("kind", "content", "message"), LOAD_ERRORS)
def test_load_errors_name_the_line_or_row(tmp_path: Path, kind: str, content: bytes, message: str) -> None:
    path = tmp_path / f"bad.{kind}"
    path.write_bytes(content)
    with pytest.raises(DataPrepError) as info:
        LOADERS[kind]().load(str(path))
    assert message in str(info.value) and str(path) in str(info.value)


def test_load_of_a_missing_file_or_odd_path(tmp_path: Path) -> None:
    with pytest.raises(DataPrepError, match="no such file"):
        JSONLDatasetLoader().load(str(tmp_path / "absent.jsonl"))
    with pytest.raises(DataPrepError, match="must be a local path or an s3:// URI"):
        JSONLDatasetLoader().load("https://example.com/data.jsonl")
    with pytest.raises(DataPrepError, match="must be a local path or an s3:// URI"):
        JSONLDatasetLoader().load(None)  # type: ignore[arg-type]


def test_a_failed_load_keeps_the_previous_data(tmp_path: Path) -> None:
    write_source(tmp_path / "in.jsonl", "jsonl", ROWS)
    (tmp_path / "bad.jsonl").write_text("{oops\n")
    loader = JSONLDatasetLoader().load(str(tmp_path / "in.jsonl"))
    with pytest.raises(DataPrepError):
        loader.load(str(tmp_path / "bad.jsonl"))
    assert list(loader) == ROWS


def test_large_json_array_elements_are_read_across_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("airflow_provider_nova.core.datasets.json_array._CHUNK_BYTES", 7)
    rows = [{"text": "x" * 100, "n": i, "nested": {"list": [1, 2.5, None, True]}} for i in range(20)]
    (tmp_path / "big.json").write_text(json.dumps(rows))
    assert list(JSONDatasetLoader().load(str(tmp_path / "big.json"))) == rows
    (tmp_path / "empty.json").write_text(" [ ] ")
    assert len(JSONDatasetLoader().load(str(tmp_path / "empty.json"))) == 0


def test_show_prints_a_table_with_the_row_count(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = [{"question": f"Question number {i} " + "very long text " * 10, "answer": f"A{i}"} for i in range(25)]
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    loader = JSONLDatasetLoader().load(str(tmp_path / "in.jsonl"))
    loader.show(3)
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"JSONLDatasetLoader: 25 rows from {tmp_path / 'in.jsonl'} (showing the first 3)"
    assert out[1].split(" | ") == ["row", "question".ljust(40), "answer"]
    assert out[3] == "1   | Question number 0 very long text very... | A0" and len(out) == 6
    loader.transform(TrainingMethod.SFT_LORA, Model.NOVA_LITE).show()
    out = capsys.readouterr().out.splitlines()
    assert [c.strip() for c in out[1].split("|")] == ["row", "user", "assistant", "turns"] and len(out) == 13
    loader.show(0)
    assert capsys.readouterr().out.strip().endswith("(showing none)")
    with pytest.raises(DataPrepError, match="n must be a non-negative integer"):
        loader.show(-1)


def test_repr_names_the_rows_and_source(tmp_path: Path) -> None:
    write_source(tmp_path / "in.csv", "csv", ROWS)
    assert repr(CSVDatasetLoader()) == "CSVDatasetLoader(no data loaded)"
    assert (
        repr(CSVDatasetLoader().load(str(tmp_path / "in.csv")))
        == f"CSVDatasetLoader(3 rows from {tmp_path / 'in.csv'})"
    )


def test_csv_values_are_strings_and_blank_lines_are_skipped(tmp_path: Path) -> None:
    (tmp_path / "in.csv").write_bytes(b"\xef\xbb\xbfq,a\r\n\r\n1,2\r\n\r\n3,\r\n")
    assert list(CSVDatasetLoader().load(str(tmp_path / "in.csv"))) == [{"q": "1", "a": "2"}, {"q": "3", "a": ""}]


@pytest.mark.parametrize(("kind", "where"), [("jsonl", "line 2"), ("json", "row 2")])
@pytest.mark.parametrize("literal", ["1e400", "-1E+400", "1" + "0" * 400 + ".5"])
def test_numbers_out_of_range_are_refused_alike_naming_the_row_and_field(
    tmp_path: Path, kind: str, where: str, literal: str
) -> None:
    rows = ['{"a": 1.5e300, "b": [1e-400]}', '{"a": 1, "meta": {"scores": [0.5, ' + literal + "]}}"]
    content = "\n".join(rows) if kind == "jsonl" else "[" + ",\n".join(rows) + "]"
    (tmp_path / f"in.{kind}").write_text(content)
    with pytest.raises(DataPrepError) as info:
        LOADERS[kind]().load(str(tmp_path / f"in.{kind}"))
    shown = literal if len(literal) <= 40 else literal[:37] + "..."
    assert str(info.value) == (
        f"{tmp_path / f'in.{kind}'}: {where}: field 'meta.scores[1]': number {shown} is out of range "
        "(a JSON number must fit a 64-bit float)"
    )
    (tmp_path / f"in.{kind}").write_text(content.replace(literal, "2.5"))
    assert [r["a"] for r in LOADERS[kind]().load(str(tmp_path / f"in.{kind}"))] == [1.5e300, 1]


def test_csv_cells_over_128_kib_load_and_the_field_limit_is_put_back(tmp_path: Path) -> None:
    default = csv.field_size_limit()
    long_text = "word, " * 60_000 + '"quoted"\nand a second line'  # 360 KiB, commas, quotes, newlines
    write_source(tmp_path / "in.csv", "csv", [{"question": long_text, "answer": "a"}, {"question": "q", "answer": "a"}])
    assert [row["question"] for row in CSVDatasetLoader().load(str(tmp_path / "in.csv"))] == [long_text, "q"]
    assert csv.field_size_limit() == default
    (tmp_path / "bad.csv").write_text(f'question\n"{long_text}"x\n')
    with pytest.raises(DataPrepError, match="malformed CSV"):
        CSVDatasetLoader().load(str(tmp_path / "bad.csv"))
    assert csv.field_size_limit() == default


def test_the_csv_field_limit_stays_lifted_until_the_last_reader_is_done() -> None:
    from airflow_provider_nova.core.datasets.csv_file import _LONG_FIELDS

    default = csv.field_size_limit()
    first, second = _LONG_FIELDS.lifted(), _LONG_FIELDS.lifted()  # two overlapping loads, as two threads do
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert next(csv.reader(["x" * 200_000])) == ["x" * 200_000]
    second.__exit__(None, None, None)
    assert csv.field_size_limit() == default
    try:
        with _LONG_FIELDS.lifted():
            csv.field_size_limit(1 << 20)  # other code sets its own limit meanwhile: it is kept
        assert csv.field_size_limit() == 1 << 20
    finally:
        csv.field_size_limit(default)


def test_show_escapes_control_characters_from_the_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = [
        {"question": "red \x1b[31mALERT\x1b[0m\x07", "answer": "line one\nline two\tcol\r"},
        {"question": "csi \x9b2J del \x7f sep \u2028 end", "answer": ["\x9b", {"k": "\x1b]0;title\x07"}]},
        {"ques\x1btion": "key", "answer": "emoji 👩‍💻 and accents é stay"},
    ]
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    JSONLDatasetLoader().load(str(tmp_path / "in.jsonl")).show()
    out = capsys.readouterr().out
    assert out.count("\n") == 6  # title, header, rule and one line a row: nothing breaks a line
    assert not [char for char in out if char != "\n" and not char.isprintable() and char != "\u200d"]
    cells = [[cell.strip() for cell in line.split("|")] for line in out.splitlines()[1:]]
    assert cells[0] == ["row", "question", "answer", "ques\\x1btion"]
    assert cells[2:] == [
        ["1", "red \\x1b[31mALERT\\x1b[0m\\x07", "line one\\nline two\\tcol\\r", ""],
        ["2", "csi \\x9b2J del \\x7f sep \\u2028 end", '["\\x9b",{"k":"\\u001b]0;title\\u0007"}]', ""],
        ["3", "", "emoji 👩‍💻 and accents é stay", "key"],
    ]


def test_saving_to_a_symbolic_link_writes_its_target_and_keeps_the_link(tmp_path: Path) -> None:
    write_source(tmp_path / "in.jsonl", "jsonl", ROWS)
    loader = JSONLDatasetLoader().load(str(tmp_path / "in.jsonl"))
    (tmp_path / "store").mkdir()
    (tmp_path / "links").mkdir()
    target = tmp_path / "store" / "train.jsonl"
    target.write_text("old\n")
    target.chmod(0o600)
    (tmp_path / "links" / "current.jsonl").symlink_to("../store/train.jsonl")
    (tmp_path / "links" / "chained.json").symlink_to("current.jsonl")  # a link to a link
    (tmp_path / "links" / "dangling.jsonl").symlink_to("../store/new.jsonl")
    assert loader.save_data(str(tmp_path / "links" / "current.jsonl")) == str(tmp_path / "links" / "current.jsonl")
    assert os.readlink(tmp_path / "links" / "current.jsonl") == "../store/train.jsonl"
    assert list(JSONLDatasetLoader().load(str(target))) == ROWS and target.stat().st_mode & 0o777 == 0o600
    loader.save_data(str(tmp_path / "links" / "chained.json"))
    assert (tmp_path / "links" / "chained.json").is_symlink() and (tmp_path / "links" / "current.jsonl").is_symlink()
    assert json.loads(target.read_text()) == ROWS
    loader.save_data(str(tmp_path / "links" / "dangling.jsonl"))
    assert (tmp_path / "links" / "dangling.jsonl").is_symlink()
    assert list(JSONLDatasetLoader().load(str(tmp_path / "store" / "new.jsonl"))) == ROWS
    assert sorted(os.listdir(tmp_path / "store")) == ["new.jsonl", "train.jsonl"]  # no temporary files left
    assert sorted(os.listdir(tmp_path / "links")) == ["chained.json", "current.jsonl", "dangling.jsonl"]


def test_saving_to_a_symbolic_link_loop_is_refused(tmp_path: Path) -> None:
    write_source(tmp_path / "in.jsonl", "jsonl", ROWS)
    (tmp_path / "a.jsonl").symlink_to("b.jsonl")
    (tmp_path / "b.jsonl").symlink_to("a.jsonl")
    with pytest.raises(DataPrepError, match=r"cannot save .*a\.jsonl: its symbolic links form a loop"):
        JSONLDatasetLoader().load(str(tmp_path / "in.jsonl")).save_data(str(tmp_path / "a.jsonl"))
    assert os.readlink(tmp_path / "a.jsonl") == "b.jsonl" and os.readlink(tmp_path / "b.jsonl") == "a.jsonl"
