from __future__ import annotations

import pytest
import yaml

from airflow_provider_nova.core import RecipeError
from airflow_provider_nova.core.recipes.render import placeholder_paths, placeholders, render_template, yaml_scalar

TEMPLATE = """run:
  name: {{name}}
  model_type: amazon.nova-micro-v1:0:128k
training_config:
  optim:
    lr: {{lr}}
  reward:
    lambda_arn: {{reward_lambda_arn}}
  other_lambda: {{reward_lambda_arn}}
  enabled: {{ reasoning_enabled }}
"""


@pytest.mark.parametrize("value", [5e-06, 1e-5, 0.5, 1.0, 3, True, False, None, "", "a: b", "s3://x/y", "1e-5", 1e20])
def test_scalars_round_trip_with_their_type(value: object) -> None:
    parsed = yaml.safe_load(f"k: {yaml_scalar(value)}")["k"]
    assert parsed == value
    assert type(parsed) is type(value)


def test_render_substitutes_every_placeholder() -> None:
    values = {
        "name": "job-1",
        "lr": 5e-6,
        "reward_lambda_arn": "arn:aws:lambda:us-east-1:1:function:f",
        "reasoning_enabled": True,
    }
    recipe = render_template(TEMPLATE, values)
    assert recipe["run"]["name"] == "job-1"
    assert recipe["training_config"]["optim"]["lr"] == 5e-6
    assert recipe["training_config"]["reward"]["lambda_arn"] == recipe["training_config"]["other_lambda"]
    assert recipe["training_config"]["enabled"] is True


def test_missing_values_are_named() -> None:
    with pytest.raises(RecipeError, match="needs values for: lr, reasoning_enabled"):
        render_template(TEMPLATE, {"name": "x", "reward_lambda_arn": ""})


def test_placeholder_paths_find_every_use() -> None:
    assert placeholders(TEMPLATE) == {"name", "lr", "reward_lambda_arn", "reasoning_enabled"}
    assert placeholder_paths(TEMPLATE) == {
        "name": [("run", "name")],
        "lr": [("training_config", "optim", "lr")],
        "reward_lambda_arn": [("training_config", "reward", "lambda_arn"), ("training_config", "other_lambda")],
        "reasoning_enabled": [("training_config", "enabled")],
    }
