"""The packaged hub snapshot: model documents, SMTJ templates and their override params."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml

from airflow_provider_nova.sandbox import hub_snapshot

MODEL_TYPES = {
    "nova-textgeneration-micro": "amazon.nova-micro-v1:0:128k",
    "nova-textgeneration-lite": "amazon.nova-lite-v1:0:300k",
    "nova-textgeneration-lite-v2": "amazon.nova-2-lite-v1:0:256k",
    "nova-textgeneration-pro": "amazon.nova-pro-v1:0:300k",
}
PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")
PY_TYPES: dict[str, tuple[type, ...]] = {"integer": (int,), "float": (float, int), "string": (str,), "boolean": (bool,)}
ENTRY_KEYS = {"Name", "DisplayName", "RecipeFilePath", "Type", "SupportedInstanceTypes", "Hardware", "Version"}


def smtj_entries() -> list[tuple[str, dict[str, Any]]]:
    return [
        (name, entry)
        for name in hub_snapshot.list_model_documents()
        for entry in hub_snapshot.load_model_document(name)["Recipes"]
        if "SmtjImageUris" in entry
    ]


def template_and_params(entry: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    template = hub_snapshot.read_recipe_file(entry["Name"], "smtj_recipe_template.yaml").decode()
    params = json.loads(hub_snapshot.read_recipe_file(entry["Name"], "smtj_override_params.json"))
    return template, params


def render(template: str, values: dict[str, Any]) -> dict[str, Any]:
    return yaml.safe_load(PLACEHOLDER.sub(lambda m: json.dumps(values[m.group(1)]), template))


def entry_named(hub_name: str, recipe_name: str) -> dict[str, Any]:
    recipes = hub_snapshot.load_model_document(hub_name)["Recipes"]
    return next(entry for entry in recipes if entry["Name"] == recipe_name)


SMTJ = smtj_entries()
SMTJ_IDS = [entry["Name"] for _, entry in SMTJ]


def test_four_model_documents() -> None:
    assert hub_snapshot.list_model_documents() == sorted(MODEL_TYPES)
    for name, model_type in MODEL_TYPES.items():
        doc = hub_snapshot.load_model_document(name)
        assert doc["HubContentName"] == name
        assert doc["ModelType"] == model_type
        assert doc["HubContentDisplayName"].startswith("Amazon Nova")
        assert doc["Recipes"], name


def test_unknown_document_and_file_are_key_errors() -> None:
    with pytest.raises(KeyError):
        hub_snapshot.load_model_document("nova-textgeneration-premier")
    with pytest.raises(KeyError):
        hub_snapshot.read_recipe_file("../models", "nova-textgeneration-micro.json")


@pytest.mark.parametrize("hub_name", sorted(MODEL_TYPES))
def test_entries_have_hub_fields(hub_name: str) -> None:
    for entry in hub_snapshot.load_model_document(hub_name)["Recipes"]:
        assert entry.keys() >= ENTRY_KEYS, entry["Name"]
        assert entry["RecipeFilePath"].startswith("recipes/")
        assert entry["RecipeFilePath"].endswith(f"/{entry['Name']}.yaml")
        assert entry["Type"] in {"FineTuning", "Evaluation"}
        assert entry.get("Peft", "LORA") == "LORA"
        assert ("EvaluationKind" in entry) == (entry["Type"] == "Evaluation")
        assert ("CustomizationTechnique" in entry) == (entry["Type"] == "FineTuning")
        assert "gamma" not in json.dumps(entry) and "900867814919" not in json.dumps(entry)


def test_smtj_entries_point_at_their_files() -> None:
    assert len(SMTJ) > 20
    for _, entry in SMTJ:
        prefix = f"recipes/nova/{entry['Name']}/"
        assert entry["SmtjRecipeTemplateKey"] == prefix + "smtj_recipe_template.yaml"
        assert entry["SmtjOverrideParamsKey"] == prefix + "smtj_override_params.json"


@pytest.mark.parametrize(("hub_name", "entry"), SMTJ, ids=SMTJ_IDS)
def test_template_renders_with_defaults(hub_name: str, entry: dict[str, Any]) -> None:
    template, params = template_and_params(entry)
    recipe = render(template, {name: spec["default"] for name, spec in params.items()})
    assert recipe["run"]["model_type"] == MODEL_TYPES[hub_name]
    assert recipe["run"]["name"] == params["name"]["default"]
    if "replicas" in params:
        assert recipe["run"]["replicas"] == params["replicas"]["default"] == entry["InstanceCount"]


@pytest.mark.parametrize(("hub_name", "entry"), SMTJ, ids=SMTJ_IDS)
def test_placeholders_match_override_params(hub_name: str, entry: dict[str, Any]) -> None:
    template, params = template_and_params(entry)
    assert set(PLACEHOLDER.findall(template)) == set(params)
    assert "model_type" not in params
    assert not {"learning_rate", "learning_rate_ratio", "max_context_length"} & set(params)
    if entry["Type"] == "FineTuning":
        assert "model_name_or_path" in params


@pytest.mark.parametrize(("hub_name", "entry"), SMTJ, ids=SMTJ_IDS)
def test_defaults_satisfy_their_constraints(hub_name: str, entry: dict[str, Any]) -> None:
    _, params = template_and_params(entry)
    for name, spec in params.items():
        default = spec["default"]
        assert isinstance(default, PY_TYPES[spec["type"]]), name
        assert spec["type"] == "boolean" or not isinstance(default, bool), name
        assert "conditional_constraints" not in spec, name
        assert default in spec.get("enum", [default]), name
        assert spec.get("min", default) <= default <= spec.get("max", default), name


def test_micro_lora_sft_on_p5_allows_two_four_eight_replicas() -> None:
    entry = entry_named("nova-textgeneration-micro", "nova_micro_1_0_p5_p4d_gpu_lora_sft")
    assert "ml.p5.48xlarge" in entry["SupportedInstanceTypes"]
    assert entry["Peft"] == "LORA" and entry["CustomizationTechnique"] == "SFT"
    _, params = template_and_params(entry)
    assert params["replicas"]["enum"] == [2, 4, 8]
    assert params["replicas"]["default"] == 2


def test_only_nova_lite_2_has_smtj_rft() -> None:
    for hub_name in MODEL_TYPES:
        rft = [e for h, e in SMTJ if h == hub_name and e.get("CustomizationTechnique") == "RLVR"]
        if hub_name == "nova-textgeneration-lite-v2":
            assert sorted(e.get("Peft", "FULL") for e in rft) == ["FULL", "LORA"]
        else:
            assert rft == []


def test_smtj_rft_template_wires_the_reward_lambda() -> None:
    entry = entry_named("nova-textgeneration-lite-v2", "nova_lite_v2_smtj_p5_p5en_gpu_lora_rft")
    template, params = template_and_params(entry)
    values = {name: spec["default"] for name, spec in params.items()} | {"reward_lambda_arn": "arn:aws:lambda:x"}
    recipe = render(template, values)
    assert recipe["run"]["reward_lambda_arn"] == "arn:aws:lambda:x"
    assert recipe["training_config"]["rollout"]["rewards"]["api_endpoint"]["lambda_arn"] == "arn:aws:lambda:x"
    assert {"lr", "loraplus_lr_ratio", "max_length"} <= set(params)


def test_nova_lite_2_sft_images() -> None:
    image = "708977205387.dkr.ecr.us-east-1.amazonaws.com/nova-fine-tune-repo:SM-TJ-SFT-V2-latest"
    doc = hub_snapshot.load_model_document("nova-textgeneration-lite-v2")
    sft = [e for e in doc["Recipes"] if e.get("CustomizationTechnique") == "SFT" and "SmtjImageUris" in e]
    assert sorted(e.get("Peft", "FULL") for e in sft) == ["FULL", "LORA"]
    for entry in sft:
        assert entry["SmtjImageUris"]["us-east-1"] == image
