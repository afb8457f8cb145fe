"""Input safety: YAML is only safe-loaded, names and ARNs follow AWS's formats, no other account unless asked."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

import airflow_provider_nova
from airflow_provider_nova.core import (
    AwsClients,
    ConfigurationError,
    Model,
    NovaModelCustomizer,
    RecipeError,
    SMTJRuntimeManager,
    TrainingMethod,
)
from airflow_provider_nova.core.formats import check_shape, shape_rule
from airflow_provider_nova.core.recipes.build import load_recipe_file

PACKAGE = Path(airflow_provider_nova.__file__).parent
UNSAFE_YAML = re.compile(r"yaml\.(load|load_all|full_load|full_load_all|unsafe_load|unsafe_load_all)\(|Loader\s*=|\bUnsafeLoader\b|\bFullLoader\b")  # fmt: skip
OTHER_ROLE = "arn:aws:iam::999999999999:role/SomeoneElsesRole"
OTHER_LAMBDA = "arn:aws:lambda:us-east-1:999999999999:function:their-reward"


# -- YAML --------------------------------------------------------------------------------------------
def test_the_package_never_loads_yaml_unsafely() -> None:
    sources = sorted(PACKAGE.rglob("*.py"))
    assert len(sources) > 50
    found = [
        f"{path.relative_to(PACKAGE)}:{number}: {line.strip()}"
        for path in sources
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if UNSAFE_YAML.search(line)
    ]
    assert found == []
    assert UNSAFE_YAML.search("yaml.load(text, Loader=yaml.Loader)")  # the check can fail


@pytest.mark.parametrize(
    "tag",
    [
        "!!python/object/apply:os.mkdir [{marker}]",
        "!!python/object/new:pathlib.Path [{marker}]",
        "!!python/name:os.system",
    ],
)
def test_a_recipe_with_a_python_tag_is_refused_and_nothing_runs(tmp_path: Path, tag: str) -> None:
    marker = tmp_path / "made"
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(f"run:\n  name: job\n  model_type: x\nextra: {tag.format(marker=str(marker))}\n")
    with pytest.raises(RecipeError) as info:
        load_recipe_file(str(recipe), lambda: None)
    message = str(info.value)
    assert f"recipe_path {str(recipe)!r} at line 4 uses the YAML tag '!!python/" in message
    assert "which is not allowed: recipes are read with yaml.safe_load" in message
    assert not marker.exists()


# -- AWS formats, read from botocore's models -----------------------------------------------------------
def test_rules_come_from_the_installed_botocore_models() -> None:
    rule = shape_rule("sagemaker", "TrainingJobName")
    assert (rule.min, rule.max) == (1, 63) and rule.pattern is not None
    assert shape_rule("bedrock", "ModelDeploymentName").max == 63
    assert shape_rule("sagemaker", "S3Uri").max == 1024


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: SMTJRuntimeManager("ml.p5.48xlarge", 1).ref("bad_name"), "job_name 'bad_name' is not a valid"),
        (lambda: SMTJRuntimeManager("ml.p5.48xlarge", 1).ref("a" * 64), "1-63 letters"),
        (lambda: check_shape("s3://b/" + "k" * 1020, "output_s3_path", "sagemaker", "S3Uri"), "output_s3_path"),
    ],
)
def test_names_and_uris_outside_aws_formats_name_the_field_and_the_rule(call: Any, message: str) -> None:
    with pytest.raises(ConfigurationError, match=re.escape(message)):
        call()


def test_a_value_only_the_model_refuses_is_refused_with_the_models_rule() -> None:
    with pytest.raises(ConfigurationError) as info:
        check_shape("s3://b/" + "k" * 1020, "output_s3_path", "sagemaker", "S3Uri")
    assert "is not a valid sagemaker S3Uri: 0-1024 characters, pattern (https|s3)://([^/]+)/?(.*)" in str(info.value)


def test_deploy_names_role_and_path_are_checked_against_bedrocks_model() -> None:
    from airflow_provider_nova.core.deploy.plan import check_bedrock_name, make_plan
    from airflow_provider_nova.core.enums import DeployPlatform

    assert check_bedrock_name("my-model_1", "model_name", "modelName") == "my-model_1"
    with pytest.raises(ConfigurationError, match=re.escape("endpoint_name 'a.b' breaks Bedrock's naming rule")):
        check_bedrock_name("a.b", "endpoint_name", "modelDeploymentName")
    with pytest.raises(ConfigurationError, match="role_arn 'arn:aws:iam::1:role/x' is not an IAM role ARN"):
        make_plan(
            Model.NOVA_MICRO,
            "s3://my-bucket/ckpt/",
            DeployPlatform.BEDROCK_OD,
            None,
            None,
            role_arn="arn:aws:iam::1:role/x",
            model_name=None,
        )


def test_lambda_arns_are_checked_against_lambdas_model() -> None:
    from airflow_provider_nova.core.evaluation import check_lambda_arn

    good = "arn:aws:lambda:us-east-1:123456789012:function:reward"
    assert check_lambda_arn(good, "rft_lambda_arn") == good
    with pytest.raises(ConfigurationError, match=r"rft_lambda_arn .* is not a Lambda function ARN"):
        check_lambda_arn("arn:aws:lambda:us-east-1:123456789012:layer:x", "rft_lambda_arn")


# -- another account's role or function ---------------------------------------------------------------
def _customizer(**runtime: Any) -> NovaModelCustomizer:
    infra = SMTJRuntimeManager("ml.p5.48xlarge", 2, clients=AwsClients(region_name="us-east-1"), **runtime)
    return NovaModelCustomizer(
        Model.NOVA_MICRO, TrainingMethod.SFT_LORA, infra, "s3://my-bucket/training-data/", "s3://my-bucket/output/"
    )


def _jobs() -> list[str]:
    sagemaker = AwsClients(region_name="us-east-1").sagemaker
    return [j["TrainingJobName"] for j in sagemaker.list_training_jobs()["TrainingJobSummaries"]]


def test_an_execution_role_in_another_account_is_refused_before_anything_is_created(
    account: dict[str, str],
) -> None:
    customizer = _customizer(execution_role=OTHER_ROLE)
    with pytest.raises(ConfigurationError) as info:
        customizer.train("cross-account-job")
    message = str(info.value)
    assert f"execution_role {OTHER_ROLE} (account 999999999999): not in the caller's account 123456789012" in message
    assert "pass allow_cross_account=True (nothing was created)" in message
    assert _jobs() == []
    same = account["role_arn"]
    _customizer(execution_role=same).validate("same-account-job")
    _customizer(execution_role=OTHER_ROLE, allow_cross_account=True).validate("opted-in-job")


def test_a_recipe_file_naming_another_accounts_function_is_refused(account: dict[str, str], tmp_path: Path) -> None:
    recipe = _customizer().plan_training("from-hub").recipe.recipe
    recipe["run"]["reward_lambda_arn"] = OTHER_LAMBDA
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe))
    with pytest.raises(ConfigurationError) as info:
        _customizer().train("recipe-job", recipe_path=str(path))
    assert f"recipe_path {path}: run.reward_lambda_arn {OTHER_LAMBDA} (account 999999999999)" in str(info.value)
    assert _jobs() == []
    plan = _customizer(allow_cross_account=True).plan_training("recipe-job", recipe_path=str(path))
    assert plan.request["HyperParameters"]["reward_lambda_arn"] == OTHER_LAMBDA
    recipe["run"]["reward_lambda_arn"] = OTHER_LAMBDA.replace("999999999999", "123456789012")
    path.write_text(yaml.safe_dump(recipe))
    _customizer().validate("recipe-job", recipe_path=str(path))


def test_the_job_operator_passes_the_opt_in_to_its_runtime() -> None:
    from airflow_provider_nova.operators.train import NovaTrainOperator

    kwargs = {"task_id": "t", "model": "NOVA_MICRO", "method": "SFT_LORA", "instance_type": "ml.p5.48xlarge"}
    operator = NovaTrainOperator(data_s3_path="s3://my-bucket/d/", allow_cross_account="true", **kwargs)
    assert operator.allow_cross_account is True
    assert NovaTrainOperator(data_s3_path="s3://my-bucket/d/", **kwargs).allow_cross_account is False
