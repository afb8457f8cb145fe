from __future__ import annotations

import pytest
import yaml

from airflow_provider_nova.core import RecipeError
from airflow_provider_nova.core.recipes.render import (
    Placeholder,
    dump_recipe,
    parse_template,
    placeholder_paths,
    placeholders,
    render_template,
)

# quoted as OmegaConf saves a published template, and bare as in the bundled templates
TEMPLATE = """run:
  name: '{{name}}'
  model_type: amazon.nova-micro-v1:0:128k
  replicas: 2
training_config:
  optim:
    lr: '{{learning_rate}}'
    eps: 1.0e-06
    betas:
    - 0.9
    - 0.999
  reward:
    lambda_arn: "{{reward_lambda_arn}}"
  other_lambda: {{reward_lambda_arn}}
  enabled: {{ reasoning_enabled }}
"""
VALUES = {"name": "job-1", "learning_rate": 5e-6, "reward_lambda_arn": "arn:aws:lambda:x", "reasoning_enabled": True}


def test_parsing_marks_placeholders_and_keeps_literals_typed() -> None:
    tree = parse_template(TEMPLATE)
    assert tree["run"]["name"] == Placeholder("name")
    assert tree["run"]["replicas"] == 2
    assert tree["training_config"]["optim"]["eps"] == 1e-6
    assert tree["training_config"]["other_lambda"] == Placeholder("reward_lambda_arn")


@pytest.mark.parametrize("value", [5e-06, 1e-5, 0.5, 1.0, 3, True, False, None, "", "a: b", "s3://x/y", "1e-5", 1e20])
def test_values_render_and_dump_with_their_type(value: object) -> None:
    recipe = render_template(TEMPLATE, {**VALUES, "learning_rate": value})
    assert recipe["training_config"]["optim"]["lr"] == value
    parsed = yaml.safe_load(dump_recipe(recipe))["training_config"]["optim"]["lr"]
    assert parsed == value and type(parsed) is type(value)


def test_render_substitutes_every_placeholder() -> None:
    recipe = render_template(TEMPLATE, VALUES)
    assert recipe["run"]["name"] == "job-1"
    assert recipe["training_config"]["optim"]["lr"] == 5e-6
    assert recipe["training_config"]["reward"]["lambda_arn"] == recipe["training_config"]["other_lambda"]
    assert recipe["training_config"]["enabled"] is True
    assert recipe["training_config"]["optim"]["betas"] == [0.9, 0.999]


def test_missing_values_are_named() -> None:
    with pytest.raises(RecipeError, match="needs values for: learning_rate, reasoning_enabled"):
        render_template(TEMPLATE, {"name": "x", "reward_lambda_arn": ""})


def test_a_placeholder_inside_text_is_refused() -> None:
    with pytest.raises(RecipeError, match=r"run.path embeds a placeholder in text"):
        parse_template("run:\n  path: s3://{{bucket}}/x\n")


def test_placeholder_paths_find_every_use() -> None:
    assert placeholders(TEMPLATE) == {"name", "learning_rate", "reward_lambda_arn", "reasoning_enabled"}
    assert placeholder_paths(TEMPLATE) == {
        "name": [("run", "name")],
        "learning_rate": [("training_config", "optim", "lr")],
        "reward_lambda_arn": [("training_config", "reward", "lambda_arn"), ("training_config", "other_lambda")],
        "reasoning_enabled": [("training_config", "enabled")],
    }
