from __future__ import annotations

import pytest

from airflow_provider_nova.core import RecipeError
from airflow_provider_nova.core.recipes import MANAGED, OverrideParams

PARAMS = OverrideParams.from_json(
    {
        "lr": {"type": "float", "default": 1e-5, "min": 0, "max": 1},
        "max_epochs": {"type": "integer", "default": 2, "min": 1, "max": 100},
        "global_batch_size": {"type": "integer", "default": 64, "enum": [16, 32, 64]},
        "reasoning_enabled": {"type": "boolean", "default": False},
        "mlflow_run_name": {"type": "string", "default": ""},
        "replicas": {"type": "integer", "default": 2, "enum": [2, 4, 8]},
        "name": {"type": "string", "default": "run"},
    }
)


def test_valid_overrides_come_back_typed() -> None:
    checked = PARAMS.validate(
        {"lr": 5e-6, "max_epochs": 10, "global_batch_size": 32, "reasoning_enabled": True}, MANAGED
    )
    assert checked == {"lr": 5e-6, "max_epochs": 10, "global_batch_size": 32, "reasoning_enabled": True}
    assert PARAMS.validate({"lr": 1}, MANAGED) == {"lr": 1.0}
    assert isinstance(PARAMS.validate({"lr": 1}, MANAGED)["lr"], float)
    assert PARAMS.validate(None, MANAGED) == {}


def test_unknown_key_lists_the_allowed_keys_without_managed_ones() -> None:
    with pytest.raises(RecipeError) as info:
        PARAMS.validate({"learning_rate": 1e-5}, MANAGED)
    assert str(info.value) == (
        "unknown override 'learning_rate'; allowed overrides: global_batch_size, lr, max_epochs, "
        "mlflow_run_name, reasoning_enabled"
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"lr": 2.0}, "override 'lr' = 2.0 is out of range; use a number >= 0 and <= 1"),
        ({"lr": -1e-9}, "override 'lr' = -1e-09 is out of range; use a number >= 0 and <= 1"),
        ({"lr": "5e-6"}, "override 'lr' must be a number, got '5e-6' (str)"),
        ({"lr": float("nan")}, "override 'lr' must be a finite number, got nan"),
        ({"max_epochs": 0}, "override 'max_epochs' = 0 is out of range; use an integer >= 1 and <= 100"),
        ({"max_epochs": 2.5}, "override 'max_epochs' must be an integer, got 2.5 (float)"),
        ({"max_epochs": True}, "override 'max_epochs' must be an integer, got True (bool)"),
        ({"global_batch_size": 128}, "override 'global_batch_size' = 128 is not allowed; use one of 16, 32, 64"),
        ({"reasoning_enabled": 1}, "override 'reasoning_enabled' must be a boolean, got 1 (int)"),
        ({"mlflow_run_name": 3}, "override 'mlflow_run_name' must be a string, got 3 (int)"),
    ],
)
def test_bad_values_name_the_field_and_what_is_allowed(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(RecipeError) as info:
        PARAMS.validate(overrides, MANAGED)
    assert str(info.value) == message


@pytest.mark.parametrize(("key", "instead"), [("replicas", "the runtime's instance_count"), ("name", "job_name")])
def test_managed_keys_point_to_the_argument_to_use(key: str, instead: str) -> None:
    with pytest.raises(RecipeError, match=f"override '{key}' is set by the customizer; use {instead} instead"):
        PARAMS.validate({key: 4}, MANAGED)


def test_overrides_must_be_a_mapping() -> None:
    with pytest.raises(RecipeError, match="overrides must be a dict"):
        PARAMS.validate([("lr", 1e-5)], MANAGED)  # type: ignore[arg-type]


def test_recipe_errors_are_value_errors() -> None:
    assert issubclass(RecipeError, ValueError)
