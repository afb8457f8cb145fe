"""transform(): golden records per method (checked by hand against nova-facts.md), validation, errors."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_nova.core.datasets import CSVDatasetLoader, JSONDatasetLoader, JSONLDatasetLoader
from airflow_provider_nova.core.enums import Model, TrainingMethod
from airflow_provider_nova.core.errors import ConfigurationError, DataPrepError

GOLDEN = Path(__file__).parent / "golden"


def write_rows(path: Path, rows: list[dict[str, Any]]) -> str:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return str(path)


def transformed(
    tmp_path: Path, rows: list[dict[str, Any]], method: TrainingMethod, model: Model, **mappings: str
) -> list[Any]:
    loader = JSONLDatasetLoader(**mappings).load(write_rows(tmp_path / "in.jsonl", rows))
    return list(loader.transform(method, model))


# --- golden files ----------------------------------------------------------------------------------
# Each golden output was read line by line against nova-facts.md "Data formats" (and the public SDK's
# validators for media, reasoning and tools): SFT records carry schemaVersion bedrock-conversation-2024,
# an optional system [{text}], and user/assistant messages alternating from user to assistant with
# [{"text": ...}] content; RFT records carry OpenAI-style messages with string content plus optional id,
# reference_answer and tools; evaluation records are {query, response, system}. Rows already in the
# target format (the last row of the SFT and RFT inputs) come out byte for byte.

GOLDEN_CASES = [
    (
        "sft_input.jsonl",
        JSONLDatasetLoader,
        {"question": "prompt", "answer": "reply"},
        TrainingMethod.SFT_LORA,
        Model.NOVA_LITE,
        "sft_lora__nova_lite.jsonl",
    ),
    (
        "sft2_input.jsonl",
        JSONLDatasetLoader,
        {},
        TrainingMethod.SFT_FULLRANK,
        Model.NOVA_LITE_2,
        "sft_fullrank__nova_lite_2.jsonl",
    ),
    (
        "rft_input.jsonl",
        JSONLDatasetLoader,
        {},
        TrainingMethod.RFT_LORA,
        Model.NOVA_LITE_2,
        "rft_lora__nova_lite_2.jsonl",
    ),
    (
        "eval_input.csv",
        CSVDatasetLoader,
        {"question": "query_text", "answer": "expected"},
        TrainingMethod.EVALUATION,
        Model.NOVA_PRO,
        "evaluation__nova_pro.jsonl",
    ),
]


@pytest.mark.parametrize(("source", "loader_class", "mappings", "method", "model", "golden"), GOLDEN_CASES)
def test_transform_matches_the_golden_file(
    tmp_path: Path,
    source: str,
    loader_class: Any,
    mappings: dict[str, str],
    method: TrainingMethod,
    model: Model,
    golden: str,
) -> None:
    loader = loader_class(**mappings).load(str(GOLDEN / source)).transform(method, model)
    out = loader.save_data(str(tmp_path / "out.jsonl"))
    assert Path(out).read_bytes() == (GOLDEN / golden).read_bytes()


def test_rows_already_in_the_target_format_pass_through_byte_for_byte(tmp_path: Path) -> None:
    source = (GOLDEN / "sft_fullrank__nova_lite_2.jsonl").read_bytes()
    (tmp_path / "ready.jsonl").write_bytes(source)
    loader = (
        JSONLDatasetLoader().load(str(tmp_path / "ready.jsonl")).transform(TrainingMethod.SFT_LORA, Model.NOVA_LITE_2)
    )
    assert Path(loader.save_data(str(tmp_path / "again.jsonl"))).read_bytes() == source


def test_sft_record_shape(tmp_path: Path) -> None:
    [record] = transformed(
        tmp_path,
        [{"q": "Hi", "a": "Hello", "s": "Be kind"}],
        TrainingMethod.SFT_LORA,
        Model.NOVA_MICRO,
        question="q",
        answer="a",
        system="s",
    )
    assert record == {
        "schemaVersion": "bedrock-conversation-2024",
        "system": [{"text": "Be kind"}],
        "messages": [
            {"role": "user", "content": [{"text": "Hi"}]},
            {"role": "assistant", "content": [{"text": "Hello"}]},
        ],
    }


def test_evaluation_record_shape(tmp_path: Path) -> None:
    [record] = transformed(
        tmp_path,
        [{"question": "2+2?", "answer": "4", "system": "Be exact"}],
        TrainingMethod.EVALUATION,
        Model.NOVA_MICRO,
    )
    assert record == {"query": "2+2?", "response": "4", "system": "Be exact"}


def test_methods_and_models_may_be_given_by_value_or_name(tmp_path: Path) -> None:
    rows = [{"question": "Hi", "answer": "Hello"}]
    by_name: Any = ("sft_lora", "nova_pro")
    assert transformed(tmp_path, rows, *by_name) == transformed(tmp_path, rows, TrainingMethod.SFT_LORA, Model.NOVA_PRO)


# --- unsupported combinations: ValueError -----------------------------------------------------------


@pytest.mark.parametrize("method", [TrainingMethod.RFT, TrainingMethod.RFT_LORA])
@pytest.mark.parametrize("model", [Model.NOVA_MICRO, Model.NOVA_LITE, Model.NOVA_PRO])
def test_rft_is_rejected_on_models_other_than_nova_lite_2(tmp_path: Path, method: TrainingMethod, model: Model) -> None:
    loader = JSONLDatasetLoader().load(write_rows(tmp_path / "in.jsonl", [{"question": "Hi"}]))
    with pytest.raises(
        ConfigurationError, match=f"{method.name} is published for NOVA_LITE_2 only, not {model.name}"
    ) as info:
        loader.transform(method, model)
    assert isinstance(info.value, ValueError) and not isinstance(info.value, DataPrepError)


@pytest.mark.parametrize(
    ("method", "model", "message"),
    [
        ("dpo", Model.NOVA_LITE, "unknown training method 'dpo'"),
        (TrainingMethod.SFT_LORA, "nova_mega", "unknown model 'nova_mega'"),
    ],
)
def test_unknown_methods_and_models_are_value_errors(tmp_path: Path, method: Any, model: Any, message: str) -> None:
    loader = JSONLDatasetLoader().load(write_rows(tmp_path / "in.jsonl", [{"question": "Hi", "answer": "Hello"}]))
    with pytest.raises(ValueError, match=message):
        loader.transform(method, model)


# --- rows that cannot be transformed: DataPrepError naming row, field and expectation ---------------

ERROR_CASES = [
    # (rows, method, model, mappings, expected message)
    (
        [{"question": "Hi", "answer": "Hello"}, {"question": "Hi"}],
        TrainingMethod.SFT_LORA,
        Model.NOVA_LITE,
        {},
        "row 2: field 'answer': expected a non-empty string, got nothing (the field is missing)",
    ),
    (
        [{"user_query": "Hi", "bot_response": ""}],
        TrainingMethod.SFT_LORA,
        Model.NOVA_LITE,
        {"question": "user_query", "answer": "bot_response"},
        "row 1: field 'answer' (column 'bot_response'): expected a non-empty string, got ''",
    ),
    (
        [{"question": 42, "answer": "x"}],
        TrainingMethod.SFT_LORA,
        Model.NOVA_LITE,
        {},
        "row 1: field 'question': expected a non-empty string, got 42",
    ),
    (
        [{"question": "Look", "answer": "A cat", "image": "s3://b-media/cat.png", "bucket_owner": "111122223333"}],
        TrainingMethod.SFT_LORA,
        Model.NOVA_MICRO,
        {},
        "row 1: field 'image': expected no image: Nova Micro is a text-only model, got 's3://b-media/cat.png'",
    ),
    (
        [{"question": "Look", "answer": "A cat", "video": "s3://b-media/cat.webm", "bucket_owner": "111122223333"}],
        TrainingMethod.SFT_LORA,
        Model.NOVA_LITE_2,
        {},
        "row 1: field 'video': expected an s3:// URI of a mkv/mov/mp4 file, got 's3://b-media/cat.webm'",
    ),
    (
        [{"question": "Look", "answer": "A cat", "image": "s3://b-media/cat.png"}],
        TrainingMethod.SFT_LORA,
        Model.NOVA_LITE,
        {},
        "row 1: field 'bucket_owner': expected the 12-digit AWS account id that owns the bucket, got nothing",
    ),
    *(
        (  # only ASCII digits: str.isdigit() would take these
            [{"question": "Look", "answer": "A cat", "image": "s3://b-media/cat.png", "bucket_owner": owner}],
            TrainingMethod.SFT_LORA,
            Model.NOVA_LITE,
            {},
            f"row 1: field 'bucket_owner': expected the 12-digit AWS account id that owns the bucket, got {owner!r}",
        )
        for owner in ("\uff11" * 12, "\u0661" * 12, "\u00b2" * 12, "11112222333\n")  # fullwidth, Arabic, superscript
    ),
    (
        [{"question": "Why?", "answer": "Because", "reasoning": "think"}],
        TrainingMethod.SFT_LORA,
        Model.NOVA_LITE,
        {},
        "row 1: field 'reasoning': expected no reasoning text: it is trained on Nova 2 models only, got 'think'",
    ),
    (
        [
            {
                "schemaVersion": "bedrock-conversation-2024",
                "messages": [
                    {"role": "assistant", "content": [{"text": "Hi"}]},
                    {"role": "user", "content": [{"text": "Yo"}]},
                ],
            }
        ],
        TrainingMethod.SFT_LORA,
        Model.NOVA_LITE,
        {},
        "row 1: field 'messages[0].role': expected 'user' (roles alternate, starting with user), got 'assistant'",
    ),
    (
        [
            {
                "schemaVersion": "bedrock-conversation-2024",
                "messages": [
                    {"role": "user", "content": [{"text": "Hi"}]},
                    {"role": "assistant", "content": [{"text": ""}]},
                ],
            }
        ],
        TrainingMethod.SFT_LORA,
        Model.NOVA_LITE,
        {},
        "row 1: field 'messages[1].content[0].text': expected a non-empty string, got ''",
    ),
    (
        [
            {
                "schemaVersion": "bedrock-conversation-2024",
                "messages": [
                    {"role": "user", "content": [{"text": "a"}]},
                    {"role": "assistant", "content": [{"text": "b"}]},
                    {"role": "user", "content": [{"text": "c"}]},
                ],
            }
        ],
        TrainingMethod.SFT_LORA,
        Model.NOVA_LITE,
        {},
        "row 1: field 'messages[2].role': expected the last message to be from the assistant",
    ),
    (
        [{"schemaVersion": "2023", "messages": []}],
        TrainingMethod.SFT_LORA,
        Model.NOVA_LITE,
        {},
        "row 1: field 'schemaVersion': expected 'bedrock-conversation-2024', got '2023'",
    ),
    (
        [
            {
                "schemaVersion": "bedrock-conversation-2024",
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {
                                "image": {
                                    "format": "png",
                                    "source": {"s3Location": {"uri": "s3://b-m/x.png", "bucketOwner": "111122223333"}},
                                }
                            }
                        ],
                    },
                    {"role": "assistant", "content": [{"text": "A cat"}]},
                ],
            }
        ],
        TrainingMethod.SFT_LORA,
        Model.NOVA_MICRO,
        {},
        "row 1: field 'messages[0].content[0].image': expected no image: Nova Micro is a text-only model",
    ),
    (
        [{"question": "Hi", "reference_answer": ""}, {"question": "Hi", "reference_answer": 4}],
        TrainingMethod.RFT,
        Model.NOVA_LITE_2,
        {},
        "row 2: field 'reference_answer': expected a non-empty string or a non-empty JSON object, got 4",
    ),
    (
        [{"question": "Hi", "tools": "not json"}],
        TrainingMethod.RFT,
        Model.NOVA_LITE_2,
        {},
        "row 1: field 'tools': expected a list of tool definitions, or a JSON string of one",
    ),
    (
        [{"messages": [{"role": "user", "content": "Hi"}, {"role": "system", "content": "late"}]}],
        TrainingMethod.RFT,
        Model.NOVA_LITE_2,
        {},
        "row 1: field 'messages[1].role': expected 'user' or 'assistant' (a system message comes first), got 'system'",
    ),
    (
        [{"messages": [{"role": "system", "content": "Only a system prompt"}]}],
        TrainingMethod.RFT,
        Model.NOVA_LITE_2,
        {},
        "row 1: field 'messages': expected at least one message with role 'user'",
    ),
    (
        [{"question": "Hi", "image": "s3://b-m/x.png"}],
        TrainingMethod.RFT,
        Model.NOVA_LITE_2,
        {},
        "row 1: field 'image': expected no image: RFT records are text only",
    ),
    (
        [{"query": "Hi", "response": " "}],
        TrainingMethod.EVALUATION,
        Model.NOVA_LITE,
        {},
        "row 1: field 'response': expected a non-empty string, got ' '",
    ),
    (
        [{"question": "Hi", "answer": "Yo", "image": "http://x/cat.png"}],
        TrainingMethod.EVALUATION,
        Model.NOVA_LITE,
        {},
        "row 1: field 'image': expected a base64 image data URI 'data:image/<format>;base64,...'",
    ),
    (
        [{"question": "Hi", "answer": "Yo", "image": "data:image/png;base64,AAAA"}],
        TrainingMethod.EVALUATION,
        Model.NOVA_MICRO,
        {},
        "row 1: field 'image': expected no image: Nova Micro is a text-only model",
    ),
]


@pytest.mark.parametrize(("rows", "method", "model", "mappings", "message"), ERROR_CASES)
def test_row_errors_name_the_row_the_field_and_the_expectation(
    tmp_path: Path,
    rows: list[dict[str, Any]],
    method: TrainingMethod,
    model: Model,
    mappings: dict[str, str],
    message: str,
) -> None:
    with pytest.raises(DataPrepError, match=re.escape(message)):
        transformed(tmp_path, rows, method, model, **mappings)


def test_row_numbers_in_errors_are_those_of_the_source_file(tmp_path: Path) -> None:
    path = tmp_path / "gaps.jsonl"
    path.write_text('{"question": "a", "answer": "b"}\n\n\n{"question": "c"}\n')
    with pytest.raises(DataPrepError, match=r"^row 4: field 'answer'"):
        JSONLDatasetLoader().load(str(path)).transform(TrainingMethod.SFT_LORA, Model.NOVA_LITE)


def test_errors_in_a_split_name_the_source_row(tmp_path: Path) -> None:
    rows = [{"question": f"q{i}", "answer": f"a{i}"} for i in range(50)]
    rows[37] = {"question": "q37"}
    loader = JSONLDatasetLoader().load(write_rows(tmp_path / "in.jsonl", rows))
    bad = next(s for s in loader.split_data(0.5, 0.25, 0.25, seed=3) if any("answer" not in r for r in s))
    with pytest.raises(DataPrepError, match=r"^row 38: field 'answer'"):
        bad.transform(TrainingMethod.SFT_LORA, Model.NOVA_LITE)


def test_a_failed_transform_keeps_the_previous_rows(tmp_path: Path) -> None:
    loader = JSONLDatasetLoader().load(
        write_rows(tmp_path / "in.jsonl", [{"question": "a", "answer": "b"}, {"question": "c"}])
    )
    before = list(loader)
    with pytest.raises(DataPrepError):
        loader.transform(TrainingMethod.SFT_LORA, Model.NOVA_LITE)
    assert list(loader) == before


def test_transform_after_split_and_split_after_transform_agree(tmp_path: Path) -> None:
    rows = [{"question": f"q{i}", "answer": f"a{i}"} for i in range(40)]
    path = write_rows(tmp_path / "in.jsonl", rows)
    first = [
        list(s)
        for s in JSONLDatasetLoader().load(path).transform(TrainingMethod.SFT_LORA, Model.NOVA_LITE).split_data(seed=9)
    ]
    second = [
        list(s.transform(TrainingMethod.SFT_LORA, Model.NOVA_LITE))
        for s in JSONLDatasetLoader().load(path).split_data(seed=9)
    ]
    assert first == second


def test_unknown_standard_columns_are_rejected_at_construction() -> None:
    with pytest.raises(DataPrepError, match="unknown standard column"):
        JSONLDatasetLoader(questoin="q")
    allowed = "question, answer, system, reasoning, reference_answer, id, tools, image, video, bucket_owner"
    for loader_class in (JSONLDatasetLoader, JSONDatasetLoader, CSVDatasetLoader):  # clients= is a client, not a column
        with pytest.raises(DataPrepError) as info:
            loader_class(clients="customer_id", question="q")  # type: ignore[arg-type]
        assert str(info.value) == f"unknown standard column(s) clients; standard columns: {allowed}"
    with pytest.raises(DataPrepError, match="must be a non-empty column name"):
        JSONLDatasetLoader(question="")
