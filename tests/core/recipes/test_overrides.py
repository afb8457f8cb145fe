from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_nova.core import RecipeError
from airflow_provider_nova.core.recipes import MANAGED, OverrideParams
from airflow_provider_nova.core.recipes.overrides import OverrideKeys, check_overrides
from airflow_provider_nova.core.recipes.render import parse_template

# the shape of a published Nova 1 LoRA SFT template: recipe keys hold the parameters' placeholders
TEMPLATE = parse_template(
    """run:
  name: '{{name}}'
  replicas: 2
training_config:
  max_length: 32768
  global_batch_size: '{{global_batch_size}}'
  reasoning_enabled: '{{reasoning_enabled}}'
  trainer:
    max_epochs: '{{max_epochs}}'
  model:
    optim:
      lr: '{{learning_rate}}'
      name: distributed_fused_adam
      eps: 1.0e-06
      adam_w_mode: true
    peft:
      peft_scheme: lora
      lora_tuning:
        loraplus_lr_ratio: '{{learning_rate_ratio}}'
processor:
  preprocessing:
    enabled: false
  postprocessing:
    enabled: true
"""
)
PARAMS = OverrideParams.from_json(
    {
        "name": {"type": "string", "default": "run"},
        "learning_rate": {"type": "float", "default": 1e-5, "min": 0, "max": 1},
        "learning_rate_ratio": {"type": "float", "default": 16.0, "min": 1.0, "max": 70.0},
        "max_epochs": {"type": "integer", "default": 2, "min": 1, "max": 100},
        "global_batch_size": {"type": "integer", "default": 64, "enum": [64, 128, 256]},
        "reasoning_enabled": {"type": "boolean", "default": False},
        "max_context_length": {"type": "integer", "default": 8192, "min": 1, "max": 131072},
    }
)
KEYS = OverrideKeys(TEMPLATE, PARAMS)


def check(overrides: Any) -> tuple[dict[str, Any], dict[tuple[str, ...], Any]]:
    resolved = check_overrides(KEYS, overrides, MANAGED)
    return resolved.values, resolved.literals


def test_recipe_keys_resolve_to_the_placeholder_at_their_place() -> None:
    values, literals = check({"lr": 5e-6, "max_epochs": 10, "global_batch_size": 128, "loraplus_lr_ratio": 8})
    assert values == {"learning_rate": 5e-6, "max_epochs": 10, "global_batch_size": 128, "learning_rate_ratio": 8.0}
    assert isinstance(values["learning_rate_ratio"], float) and literals == {}
    assert check(None) == ({}, {})


def test_the_parameter_documents_own_name_is_accepted_too() -> None:
    assert check({"learning_rate": 1}) == ({"learning_rate": 1.0}, {})


def test_both_spellings_of_one_parameter_are_refused() -> None:
    with pytest.raises(RecipeError, match="overrides 'lr' and 'learning_rate' both set learning_rate"):
        check({"lr": 1e-5, "learning_rate": 2e-5})


def test_literal_keys_take_a_value_of_the_literals_type() -> None:
    assert check({"max_length": 8192, "eps": 1, "adam_w_mode": False})[1] == {
        ("training_config", "max_length"): 8192,
        ("training_config", "model", "optim", "eps"): 1.0,
        ("training_config", "model", "optim", "adam_w_mode"): False,
    }
    with pytest.raises(
        RecipeError, match=r"override 'max_length' must be an integer like the recipe's 32768, got '8k'"
    ):
        check({"max_length": "8k"})
    with pytest.raises(RecipeError, match=r"override 'adam_w_mode' must be a boolean"):
        check({"adam_w_mode": 1})


def test_a_key_at_several_places_is_resolved_deliberately() -> None:
    # name: the placeholder at run.name, never the optimizer's literal name (and it is the customizer's)
    with pytest.raises(RecipeError, match="override 'name' is set by the customizer; use job_name instead"):
        check({"name": "x"})
    with pytest.raises(RecipeError) as info:
        check({"enabled": True})
    assert str(info.value) == (
        "override 'enabled' is ambiguous: the recipe has it at processor.preprocessing.enabled, "
        "processor.postprocessing.enabled; name one by its path"
    )
    assert check({"processor.preprocessing.enabled": True})[1] == {("processor", "preprocessing", "enabled"): True}
    assert check({"training_config.model.optim.lr": 2e-5})[0] == {"learning_rate": 2e-5}


def test_unknown_keys_list_both_spellings_and_the_literal_keys() -> None:
    with pytest.raises(RecipeError) as info:
        check({"max_context_length": 4096})  # published, but the template has no place for it
    assert str(info.value) == (
        "unknown override 'max_context_length'; allowed: global_batch_size, loraplus_lr_ratio (learning_rate_ratio), "
        "lr (learning_rate), max_epochs, reasoning_enabled; recipe values: adam_w_mode, eps, max_length, "
        "processor.postprocessing.enabled, processor.preprocessing.enabled"
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"lr": 2.0}, "override 'lr' = 2.0 is out of range; use a number >= 0 and <= 1"),
        ({"lr": -1e-9}, "override 'lr' = -1e-09 is out of range; use a number >= 0 and <= 1"),
        ({"lr": "5e-6"}, "override 'lr' must be a number, got '5e-6' (str)"),
        ({"learning_rate": float("nan")}, "override 'learning_rate' must be a finite number, got nan"),
        ({"max_epochs": 0}, "override 'max_epochs' = 0 is out of range; use an integer >= 1 and <= 100"),
        ({"max_epochs": 2.5}, "override 'max_epochs' must be an integer, got 2.5 (float)"),
        ({"max_epochs": True}, "override 'max_epochs' must be an integer, got True (bool)"),
        ({"global_batch_size": 100}, "override 'global_batch_size' = 100 is not allowed; use one of 64, 128, 256"),
        ({"reasoning_enabled": 1}, "override 'reasoning_enabled' must be a boolean, got 1 (int)"),
    ],
)
def test_bad_values_name_the_field_and_what_is_allowed(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(RecipeError) as info:
        check(overrides)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("key", "instead"),
    [
        ("replicas", "the runtime's instance_count"),
        ("run.replicas", "the runtime's instance_count"),
        ("peft_scheme", "the training method"),
    ],
)
def test_managed_keys_point_to_the_argument_to_use(key: str, instead: str) -> None:
    with pytest.raises(RecipeError, match=f"override '{key}' is set by the customizer; use {instead}"):
        check({key: 4})


def test_defaults_are_typed_as_their_parameter() -> None:
    params = OverrideParams.from_json({"temperature": {"type": "float", "default": 0}})
    assert params.defaults() == {"temperature": 0.0} and isinstance(params.defaults()["temperature"], float)


def test_overrides_must_be_a_mapping() -> None:
    with pytest.raises(RecipeError, match="overrides must be a dict"):
        check([("lr", 1e-5)])


def test_recipe_errors_are_value_errors() -> None:
    assert issubclass(RecipeError, ValueError)
