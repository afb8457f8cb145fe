"""Malformed input (a trailing newline, a wrong type, an unreadable recipe) is refused before any change on AWS."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_nova.core import (
    AwsClients,
    ConfigurationError,
    EvaluationTask,
    Model,
    NovaModelCustomizer,
    RecipeError,
    SMTJRuntimeManager,
    TrainingMethod,
)
from airflow_provider_nova.core.evaluation import check_lambda_arn, check_processor, check_rl_env, check_subtask
from airflow_provider_nova.core.recipes import load_recipe_file
from airflow_provider_nova.core.runtimes.roles import resolve_execution_role
from airflow_provider_nova.sandbox import rehearsal

DATA = "s3://my-bucket/training-data/"
OUT = "s3://my-bucket/output/"
GEN_QA = "s3://my-bucket/eval/gen_qa.jsonl"
LAMBDA = "arn:aws:lambda:us-east-1:123456789012:function:my-metrics"
ROLE = "arn:aws:iam::123456789012:role/NovaCustomizationRole"
CHANGES = ("CreateTrainingJob", "PutObject", "CreateBucket", "StopTrainingJob", "DeleteObject")


@pytest.fixture
def clients(account: dict[str, str]) -> Iterator[AwsClients]:
    """Clients on a fresh stand-in account; the test fails if any call changed something."""
    rehearsal.put_jsonl(account["endpoint_url"], GEN_QA, [{"query": "q", "response": "r"}])
    clients = AwsClients(region_name="us-east-1")
    sent: list[str] = []
    for service in ("sagemaker", "s3", "sts", "iam"):
        clients.client(service).meta.events.register("before-call", lambda model, **_: sent.append(model.name))
    yield clients
    assert [op for op in sent if op in CHANGES] == [], "a refused input must not change anything on AWS"


def make(
    clients: AwsClients,
    model: Model = Model.NOVA_MICRO,
    method: TrainingMethod = TrainingMethod.SFT_LORA,
    count: int = 2,
    **kwargs: Any,
) -> NovaModelCustomizer:
    infra = SMTJRuntimeManager("ml.p5.48xlarge", count, clients=clients, **kwargs.pop("infra_kwargs", {}))
    return NovaModelCustomizer(model, method, infra, kwargs.pop("data", DATA), kwargs.pop("out", OUT), **kwargs)


# -- a trailing newline ($ matches before "\n") ---------------------------------------------------
def test_rft_lambda_arn_with_a_trailing_newline(clients: AwsClients) -> None:
    customizer = make(clients, Model.NOVA_LITE_2, TrainingMethod.RFT, count=4)
    with pytest.raises(ConfigurationError, match=re.escape(f"rft_lambda_arn {LAMBDA + chr(10)!r} is not a Lambda")):
        customizer.train("job-a", rft_lambda_arn=LAMBDA + "\n")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"eval_task": EvaluationTask.GEN_QA, "data_s3_path": GEN_QA, "processor": {"lambda_arn": LAMBDA + "\n"}},
         "processor['lambda_arn']"),
        ({"eval_task": EvaluationTask.GEN_QA, "data_s3_path": GEN_QA,
          "processor": {"lambda_arn": LAMBDA, "lambda_type": "custom_metrics\n"}}, "processor['lambda_type']"),
        ({"eval_task": EvaluationTask.GEN_QA, "data_s3_path": GEN_QA,
          "processor": {"lambda_arn": LAMBDA, "aggregation": "average\n"}}, "processor['aggregation']"),
        ({"eval_task": EvaluationTask.RFT_EVAL, "data_s3_path": GEN_QA, "rl_env": {"reward_lambda_arn": LAMBDA + "\n"}},
         "rl_env['reward_lambda_arn']"),
        ({"eval_task": EvaluationTask.MMLU, "subtask": "anatomy\n"}, "subtask"),
        ({"eval_task": EvaluationTask.MMLU, "model_path": "s3://my-bucket\n"}, "model_path"),
        ({"eval_task": EvaluationTask.GEN_QA, "data_s3_path": "s3://my-bucket/eval/gen_qa.jsonl\n"}, "data_s3_path"),
    ],
)  # fmt: skip
def test_evaluation_fields_with_a_trailing_newline(clients: AwsClients, kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigurationError, match=re.escape(field)):
        make(clients).evaluate("eval-a", **kwargs)


@pytest.mark.parametrize("role", [ROLE + "\n", "NovaCustomizationRole\n", ROLE.replace("123456789012", "١٢٣٤٥٦٧٨٩٠١٢")])
def test_execution_role_with_a_trailing_newline(clients: AwsClients, role: str) -> None:
    with pytest.raises(ConfigurationError, match=re.escape(f"execution_role {role!r}")):
        make(clients, infra_kwargs={"execution_role": role}).train("job-a")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"data": "s3://my-bucket\n"}, "data_s3_path"),
        ({"data": "s3://my-bucket/training-data/\n"}, "data_s3_path"),
        ({"out": "s3://my-bucket\n/output/"}, "output_s3_path"),
        ({"model_path": "s3://my-bucket\n"}, "model_path"),
    ],
)
def test_s3_paths_with_a_trailing_newline(clients: AwsClients, kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigurationError, match=f"^{re.escape(field)} has"):
        make(clients, **kwargs)


@pytest.mark.parametrize(
    ("args", "field"),
    [((GEN_QA + "\n", OUT), "input_path"), ((GEN_QA, "s3://my-bucket\n"), "output_s3_path")],
)
def test_batch_inference_paths_with_a_trailing_newline(clients: AwsClients, args: tuple[str, str], field: str) -> None:
    with pytest.raises(ConfigurationError, match=f"^{re.escape(field)} has"):
        make(clients).batch_inference("batch-a", *args)


def test_good_values_still_pass(clients: AwsClients) -> None:
    assert check_lambda_arn(LAMBDA, "f") == LAMBDA
    assert check_lambda_arn(LAMBDA + ":$LATEST", "f") == LAMBDA + ":$LATEST"
    assert check_lambda_arn(LAMBDA + ":prod", "f") == LAMBDA + ":prod"
    assert resolve_execution_role(clients, ROLE) == ROLE
    path_role = "arn:aws:iam::123456789012:role/service-role/team/NovaRole"
    assert resolve_execution_role(clients, path_role) == path_role


# -- wrong types ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: check_processor(EvaluationTask.GEN_QA, 5), "processor must be a dict, got int"),  # type: ignore[arg-type]
        (lambda: check_processor(EvaluationTask.MMLU, 5), "processor must be a dict, got int"),  # type: ignore[arg-type]
        (lambda: check_processor(EvaluationTask.GEN_QA, {"lambda_arn": LAMBDA, "lambda_type": 5}),
         "processor['lambda_type'] must be one of rft, custom_metrics, got 5"),
        (lambda: check_processor(EvaluationTask.GEN_QA, {"lambda_arn": LAMBDA, "lambda_type": ["rft"]}),
         "processor['lambda_type'] must be one of rft, custom_metrics, got ['rft']"),
        (lambda: check_processor(EvaluationTask.GEN_QA, {"lambda_arn": LAMBDA, "aggregation": None}),
         "processor['aggregation'] must be one of average, min, max, sum, got None"),
        (lambda: check_processor(EvaluationTask.GEN_QA, {"lambda_arn": LAMBDA, 5: 1, "x": 2}),
         "unknown processor keys [5, 'x']"),
        (lambda: check_processor(EvaluationTask.GEN_QA, {}), "processor['lambda_arn'] is required"),
        (lambda: check_processor(EvaluationTask.GEN_QA, {"lambda_arn": 5}), "processor['lambda_arn'] 5 is not a Lambda"),
        (lambda: check_rl_env(EvaluationTask.RFT_EVAL, 5), "rl_env must be {'reward_lambda_arn': <Lambda ARN>}, got 5"),  # type: ignore[arg-type]
        (lambda: check_rl_env(EvaluationTask.RFT_EVAL, {"reward_lambda_arn": None}),
         "rl_env['reward_lambda_arn'] is required"),
        (lambda: check_subtask(EvaluationTask.MMLU, 5), "subtask must be a string or None, got 5"),  # type: ignore[arg-type]
        (lambda: check_subtask(EvaluationTask.MMLU, ["anatomy"]), "subtask must be a string or None"),  # type: ignore[arg-type]
    ],
)  # fmt: skip
def test_evaluation_checks_refuse_wrong_types(call: Any, message: str) -> None:
    with pytest.raises(ConfigurationError, match=re.escape(message)):
        call()


@pytest.mark.parametrize("model_type", ["amazon.nova-micro-v1:0:128k\n", "amazon.nova-micro", 5, None])
def test_unknown_model_type_is_a_configuration_error(model_type: Any) -> None:
    with pytest.raises(ConfigurationError, match=re.escape(f"unknown model_type {model_type!r}; valid model types: ")):
        Model.from_model_type(model_type)


def test_rft_lambda_arn_that_is_not_a_string(clients: AwsClients) -> None:
    customizer = make(clients, Model.NOVA_LITE_2, TrainingMethod.RFT, count=4)
    with pytest.raises(ConfigurationError, match="rft_lambda_arn 5 is not a Lambda function ARN"):
        customizer.train("job-a", rft_lambda_arn=5)  # type: ignore[arg-type]


def test_execution_role_that_is_not_a_string(clients: AwsClients) -> None:
    with pytest.raises(ConfigurationError, match="execution_role must be a role ARN or name"):
        resolve_execution_role(clients, 5)  # type: ignore[arg-type]


# -- recipe files -------------------------------------------------------------------------------------
def load(clients: AwsClients, recipe_path: Any) -> dict[str, Any]:
    return load_recipe_file(recipe_path, lambda: clients.s3)


def put(key: str, body: bytes) -> None:
    """Write a test object with clients of its own (the ``clients`` fixture checks nothing is written)."""
    AwsClients(region_name="us-east-1").s3.put_object(Bucket="my-bucket", Key=key, Body=body)


def test_recipe_file_from_s3_and_disk(clients: AwsClients, tmp_path: Path) -> None:
    put("recipes/r.yaml", b"run:\n  name: x\n")
    assert load(clients, "s3://my-bucket/recipes/r.yaml") == {"run": {"name": "x"}}
    (tmp_path / "r.yaml").write_text("run:\n  name: y\n")
    assert load(clients, str(tmp_path / "r.yaml")) == {"run": {"name": "y"}}
    assert load(clients, tmp_path / "r.yaml") == {"run": {"name": "y"}}


@pytest.mark.parametrize(
    ("recipe_path", "message"),
    [
        ("s3://my-bucket/recipes/absent.yaml", "cannot read recipe_path 's3://my-bucket/recipes/absent.yaml': no such object"),
        ("s3://no-such-bucket-errs/r.yaml", "cannot read recipe_path 's3://no-such-bucket-errs/r.yaml': no such object"),
        ("s3://my-bucket/recipes/", "recipe_path must name an object (s3://bucket/key)"),
        ("s3://my-bucket", "recipe_path must name an object (s3://bucket/key)"),
        ("s3://My_Bucket/r.yaml", "recipe_path has an invalid bucket name 'My_Bucket'"),
        ("s3://my-bucket/r.yaml\n", "recipe_path has control characters"),
        (5, "recipe_path must be a local file path or an s3:// URI, got 5"),
        (b"r.yaml", "recipe_path must be a local file path or an s3:// URI, got b'r.yaml'"),
        ("", "recipe_path must be a local file path or an s3:// URI, got ''"),
        ("/no/such/recipe.yaml", "cannot read recipe_path '/no/such/recipe.yaml': No such file or directory"),
    ],
)  # fmt: skip
def test_unreadable_recipe_path(clients: AwsClients, recipe_path: Any, message: str) -> None:
    with pytest.raises(RecipeError, match=re.escape(message)):
        load(clients, recipe_path)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"run:\n  name: caf\xe9\n", "is not UTF-8 text (bad byte at offset 16)"),
        (b"- run\n- name\n", "must hold a YAML mapping, not list"),
        (b"just text\n", "must hold a YAML mapping, not str"),
        (b"", "must hold a YAML mapping, not NoneType"),
        (b"run: 5\n", "must have a 'run' section (a mapping)"),
        (b"training_config: {}\n", "must have a 'run' section (a mapping)"),
        (b"run: [unclosed\n", "is not valid YAML"),
        (
            b"run: !!python/object/apply:os.system ['true']\n",
            "at line 1 uses the YAML tag '!!python/object/apply:os.system', which is not allowed",
        ),
        (b"[" * 20000 + b"]" * 20000, "is not valid YAML"),
    ],
)
def test_recipe_that_is_not_a_yaml_mapping(clients: AwsClients, tmp_path: Path, body: bytes, message: str) -> None:
    put("recipes/bad.yaml", body)
    with pytest.raises(RecipeError, match=re.escape(f"recipe_path 's3://my-bucket/recipes/bad.yaml' {message}")):
        load(clients, "s3://my-bucket/recipes/bad.yaml")
    (tmp_path / "bad.yaml").write_bytes(body)
    with pytest.raises(RecipeError, match=re.escape(f"recipe_path '{tmp_path / 'bad.yaml'}' {message}")):
        load(clients, str(tmp_path / "bad.yaml"))


def test_recipe_path_of_the_wrong_type_through_the_customizer(clients: AwsClients) -> None:
    with pytest.raises(RecipeError, match="recipe_path must be a local file path or an s3:// URI, got 5"):
        make(clients).train("job-a", recipe_path=5)  # type: ignore[arg-type]
