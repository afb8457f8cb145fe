"""Every published SMTJ training and evaluation recipe, rendered through the core from the stand-in's hub.

Overrides use the names the spec documents (recipe keys); each rendered value must be the one
asked for, with the parameter's type, and every other parameter its published default.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from airflow_provider_nova.core.aws import AwsClients
from airflow_provider_nova.core.enums import Model
from airflow_provider_nova.core.recipes import RecipeCache, RecipeHub, build_recipe
from airflow_provider_nova.core.recipes.render import get_path, slots
from airflow_provider_nova.sandbox.hub_snapshot import build

try:
    REFERENCE: Path | None = build.find_reference(Path(__file__).resolve().parent)
except FileNotFoundError:
    REFERENCE = None
# the override names the spec documents for train() (Nova 2 spells the LoRA+ ratio lora_plus_lr_ratio
# and counts max_steps) and for evaluate() and batch_inference()
TRAINING_KEYS = (
    "max_epochs",
    "max_steps",
    "lr",
    "warmup_steps",
    "loraplus_lr_ratio",
    "lora_plus_lr_ratio",
    "global_batch_size",
    "max_length",
)
EVALUATION_KEYS = ("max_new_tokens", "top_k", "top_p", "temperature", "top_logprobs")
PY_TYPES = {"integer": int, "float": float, "string": str, "boolean": bool}
MODELS = {m.hub_content_name: m for m in Model}


def published_smtj() -> list[dict[str, Any]]:
    if REFERENCE is None:
        return []
    docs = [by["smtj"] for by in build.load_documents(REFERENCE).values() if "smtj" in by]
    # distillation recipes take none of the spec's training overrides (and no training method runs them)
    return [
        d
        for d in docs
        if d["metadata"]["Model_ID"] in MODELS and str(d["metadata"].get("CustomizationTechnique")).upper() != "DISTILL"
    ]


DOCS = published_smtj()


def other_value(spec: dict[str, Any]) -> Any:
    """A value the parameter allows that differs from its default, of its type."""
    default, kind = spec["default"], spec["type"]
    if "enum" in spec:
        return next(v for v in reversed(spec["enum"]) if v != default)
    low, high = spec.get("min"), spec.get("max")
    if kind == "integer":
        return default + 1 if high is None or default + 1 <= high else default - 1
    if high is not None and high > default:
        return float(default + (high - default) / 2)
    return float((low + default) / 2) if low is not None else float(default) + 0.5


def literal_value(literal: Any) -> Any:
    return literal // 2 if isinstance(literal, int) and not isinstance(literal, bool) else literal / 2


@pytest.fixture(scope="module")
def hub(sandbox: Any) -> RecipeHub:
    return RecipeHub(AwsClients(region_name="us-east-1", endpoint_url=sandbox.endpoint_url), RecipeCache())


@pytest.mark.skipif(REFERENCE is None, reason="shared/reference/published-hub is not checked out")
@pytest.mark.parametrize("doc", DOCS, ids=[d["metadata"]["Name"] for d in DOCS])
def test_published_recipe_renders_with_the_spec_names(hub: RecipeHub, doc: dict[str, Any]) -> None:
    meta = doc["metadata"]
    model = MODELS[meta["Model_ID"]]
    entry = next(e for e in hub.recipes(model) if e.name == meta["Name"])
    template = hub.template(entry)
    assert template.text == doc["template_yaml"]
    params = doc["override_parameters"]
    evaluation = meta["Type"] == "Evaluation"
    count = 1 if evaluation else (hub.allowed_replicas(model, entry, entry.instance_types[0]) or (1,))[-1]

    overrides: dict[str, Any] = {}
    expected: dict[tuple[str, ...], Any] = {}
    by_key = {s.key: s for s in slots(template.tree)}
    for key in EVALUATION_KEYS if evaluation else TRAINING_KEYS:
        slot = by_key.get(key)
        if slot is None:
            continue
        if slot.placeholder:
            spec = params[slot.placeholder]
            overrides[key] = other_value(spec)
            expected[slot.path] = (overrides[key], PY_TYPES[spec["type"]])
        else:
            overrides[key] = literal_value(slot.value)
            expected[slot.path] = (overrides[key], type(slot.value))
    assert overrides, "the spec's names reach no value of this recipe"

    managed = {"name": "fidelity-job", "replicas": count, "model_name_or_path": model.model_path}
    built = build_recipe(template, model, managed, overrides)
    recipe = yaml.safe_load(built.yaml)  # what the job reads
    for path, (value, kind) in expected.items():
        assert get_path(recipe, path) == value, path
        assert type(get_path(recipe, path)) is kind, path
    assert recipe["run"]["replicas"] == count
    assert recipe["run"]["name"] == "fidelity-job"
    for slot in slots(template.tree):
        if slot.placeholder and slot.path not in expected and slot.placeholder not in ("name", "model_name_or_path"):
            spec = params[slot.placeholder]
            rendered = get_path(recipe, slot.path)
            assert rendered == spec["default"] and type(rendered) is PY_TYPES[spec["type"]], slot.dotted
    assert "{{" not in built.yaml
