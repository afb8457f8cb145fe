"""A job name already taken is refused by evaluate() and batch_inference() before anything is written."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_nova.core import (
    AwsClients,
    ConfigurationError,
    EvaluationTask,
    Model,
    NovaModelCustomizer,
    SMTJRuntimeManager,
    TrainingMethod,
)
from airflow_provider_nova.sandbox import rehearsal

GEN_QA = "s3://my-bucket/eval/gen_qa.jsonl"
TAKEN = "a training job named 'taken' already exists in us-east-1"


@pytest.fixture
def customizer(account: dict[str, str]) -> NovaModelCustomizer:
    rehearsal.put_jsonl(account["endpoint_url"], GEN_QA, rehearsal.SAMPLE_GEN_QA_ROWS)
    infra = SMTJRuntimeManager("ml.p5.48xlarge", 2, clients=AwsClients(region_name="us-east-1"))
    out = "s3://my-bucket/output/"
    return NovaModelCustomizer(Model.NOVA_MICRO, TrainingMethod.SFT_LORA, infra, "s3://my-bucket/training-data/", out)


def writes(clients: AwsClients) -> list[str]:
    calls: list[str] = []
    for service in ("sagemaker", "s3"):
        clients.client(service).meta.events.register(
            "before-call",
            lambda model, **_: calls.append(model.name) if model.name.startswith(("Create", "Put")) else None,
        )
    return calls


def recipe_of(clients: AwsClients, prefix: str) -> bytes:
    body: bytes = clients.s3.get_object(Bucket="my-bucket", Key=f"{prefix}/taken/input/recipe/recipe.yaml")[
        "Body"
    ].read()
    return body


def test_evaluate_with_a_taken_name(customizer: NovaModelCustomizer) -> None:
    customizer.evaluate("taken", EvaluationTask.MMLU, subtask="anatomy")
    clients = customizer.infra.clients
    first = recipe_of(clients, "output")
    sent = writes(clients)
    with pytest.raises(ConfigurationError, match=TAKEN):
        customizer.evaluate("taken", EvaluationTask.GEN_QA, data_s3_path=GEN_QA)
    with pytest.raises(ConfigurationError, match=TAKEN):
        customizer.batch_inference("taken", GEN_QA, "s3://my-bucket/output/")
    assert sent == []
    assert recipe_of(clients, "output") == first and b"anatomy" in first


def test_batch_inference_with_a_taken_name(customizer: Any) -> None:
    customizer.batch_inference("taken", GEN_QA, "s3://my-bucket/batch/")
    clients = customizer.infra.clients
    first = recipe_of(clients, "batch")
    sent = writes(clients)
    with pytest.raises(ConfigurationError, match=TAKEN):
        customizer.batch_inference("taken", GEN_QA, "s3://my-bucket/batch/", overrides={"max_new_tokens": 7})
    assert sent == []
    assert recipe_of(clients, "batch") == first
