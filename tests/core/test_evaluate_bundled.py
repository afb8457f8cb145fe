"""LLM judge, rubric LLM judge and RFT evaluation on SMTJ: bundled templates, as the public Nova SDK ships them."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

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
from airflow_provider_nova.core.enums import Platform
from airflow_provider_nova.core.evaluation import TASKS
from airflow_provider_nova.core.recipes import RecipeCache, RecipeHub
from airflow_provider_nova.core.recipes.hub import BUNDLED_EVALUATIONS
from airflow_provider_nova.core.recipes.render import placeholders
from airflow_provider_nova.sandbox import rehearsal

DATA = "s3://my-bucket/eval/judge.jsonl"
REWARD = "arn:aws:lambda:us-east-1:123456789012:function:my-reward"
ROWS = [
    {"query": "What is 2 + 2?", "response": "4"},
    {"system": "Answer briefly.", "query": "Capital of France?", "response": "Paris"},
]
ECR = "708977205387.dkr.ecr.us-east-1.amazonaws.com/nova-evaluation-repo"


@pytest.fixture
def clients(account: dict[str, str]) -> AwsClients:
    rehearsal.put_jsonl(account["endpoint_url"], DATA, ROWS)
    return AwsClients(region_name="us-east-1")


def make(clients: AwsClients, model: Model, instance_type: str = "ml.p5.48xlarge") -> NovaModelCustomizer:
    infra = SMTJRuntimeManager(instance_type, 1, clients=clients)
    return NovaModelCustomizer(
        model, TrainingMethod.SFT_LORA, infra, "s3://my-bucket/training-data/", "s3://my-bucket/output/"
    )


def sent_requests(clients: AwsClients) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []
    clients.sagemaker.meta.events.register(
        "provide-client-params.sagemaker.CreateTrainingJob", lambda params, **_: sent.append(dict(params))
    )
    return sent


CASES = [
    (EvaluationTask.LLM_JUDGE, Model.NOVA_MICRO, "SM-TJ-Eval-latest", "bundled:llm_judge_one"),
    (EvaluationTask.LLM_JUDGE, Model.NOVA_LITE, "SM-TJ-Eval-latest", "bundled:llm_judge_one"),
    (EvaluationTask.LLM_JUDGE, Model.NOVA_PRO, "SM-TJ-Eval-latest", "bundled:llm_judge_one"),
    (EvaluationTask.RUBRIC_LLM_JUDGE, Model.NOVA_LITE_2, "SM-TJ-Eval-V2-latest", "bundled:rubric_llm_judge_two"),
    (EvaluationTask.RFT_EVAL, Model.NOVA_MICRO, "SM-TJ-Eval-latest", "bundled:rft_eval_one"),
    (EvaluationTask.RFT_EVAL, Model.NOVA_LITE_2, "SM-TJ-Eval-V2-latest", "bundled:rft_eval_two"),
]


@pytest.mark.parametrize(("task", "model", "tag", "recipe_name"), CASES, ids=lambda v: getattr(v, "name", None))
def test_bundled_evaluation_launches(
    clients: AwsClients, task: EvaluationTask, model: Model, tag: str, recipe_name: str
) -> None:
    sent = sent_requests(clients)
    job = f"{task.value.replace('_', '-')}-{model.name.lower().replace('_', '-')}"
    rl_env = {"reward_lambda_arn": REWARD} if task is EvaluationTask.RFT_EVAL else None
    customizer = make(clients, model)
    assert customizer.plan_evaluation(job, task, data_s3_path=DATA, rl_env=rl_env).recipe.recipe_name == recipe_name
    result = customizer.evaluate(job, task, data_s3_path=DATA, rl_env=rl_env, overrides={"top_logprobs": 3})
    assert result.eval_task is task
    assert len(sent) == 1
    request = sent[0]
    assert request["AlgorithmSpecification"]["TrainingImage"] == f"{ECR}:{tag}"
    assert request["ResourceConfig"]["InstanceCount"] == 1
    assert request["ResourceConfig"]["InstanceType"] == "ml.p5.48xlarge"
    channels = {c["ChannelName"]: c["DataSource"]["S3DataSource"] for c in request["InputDataConfig"]}
    assert channels["train"]["S3DataType"] == "S3Prefix" and channels["train"]["S3Uri"] == DATA
    recipe = yaml.safe_load(
        clients.s3.get_object(Bucket="my-bucket", Key=f"output/{job}/input/recipe/recipe.yaml")["Body"].read()
    )
    spec = TASKS[task]
    assert recipe["evaluation"] == {"task": task.value, "strategy": spec.strategy, "metric": spec.metric}
    assert recipe["run"]["model_type"] == model.model_type
    assert recipe["run"]["name"] == job and recipe["run"]["replicas"] == 1
    assert recipe["run"]["model_name_or_path"] == model.model_path
    assert recipe["inference"]["top_logprobs"] == 3
    assert "processor" not in recipe
    if task is EvaluationTask.RFT_EVAL:
        assert recipe["rl_env"] == {"reward_lambda_arn": REWARD}
    else:
        assert "rl_env" not in recipe
    assert "{{" not in yaml.safe_dump(recipe)


def test_bundled_templates_keep_the_published_settings(clients: AwsClients) -> None:
    judge = make(clients, Model.NOVA_PRO).plan_evaluation("j", EvaluationTask.LLM_JUDGE, data_s3_path=DATA).recipe
    assert judge.recipe["inference"] == {
        "max_new_tokens": 8196, "top_k": 50, "top_p": 1.0, "temperature": 0.0, "top_logprobs": 0,
    }  # fmt: skip
    rft = make(clients, Model.NOVA_LITE_2).plan_evaluation(
        "r", EvaluationTask.RFT_EVAL, data_s3_path=DATA, rl_env={"reward_lambda_arn": REWARD}
    )
    assert rft.recipe.recipe["inference"] == {
        "max_new_tokens": 32768, "top_k": -1, "top_p": 1.0, "temperature": 0.0, "top_logprobs": 0,
        "reasoning_effort": None,
    }  # fmt: skip
    assert rft.recipe.recipe["run"]["data_s3_path"] == "" and rft.recipe.recipe["run"]["output_s3_path"] == ""


def test_bundled_overrides_are_checked(clients: AwsClients) -> None:
    customizer = make(clients, Model.NOVA_LITE_2)
    with pytest.raises(RecipeError, match=re.escape("override 'max_new_tokens' = 40000 is out of range")):
        customizer.plan_evaluation(
            "x", EvaluationTask.RUBRIC_LLM_JUDGE, data_s3_path=DATA, overrides={"max_new_tokens": 40000}
        )
    with pytest.raises(RecipeError, match=re.escape("override 'model_type' is set by the customizer")):
        customizer.plan_evaluation(
            "x", EvaluationTask.RUBRIC_LLM_JUDGE, data_s3_path=DATA, overrides={"model_type": "amazon.nova-pro"}
        )
    with pytest.raises(RecipeError, match=re.escape("override 'reward_lambda_arn' is set by the customizer")):
        customizer.plan_evaluation(
            "x",
            EvaluationTask.RFT_EVAL,
            data_s3_path=DATA,
            rl_env={"reward_lambda_arn": REWARD},
            overrides={"reward_lambda_arn": REWARD},
        )


@pytest.mark.parametrize(
    ("model", "kwargs", "error", "message"),
    [
        (
            Model.NOVA_LITE_2,
            {"eval_task": EvaluationTask.LLM_JUDGE, "data_s3_path": DATA},
            RecipeError,
            "no published SMTJ llm_judge evaluation recipe for NOVA_LITE_2 in us-east-1; the hub offers: "
            "bring_your_own_dataset, general_multi_modal_benchmark, general_text_benchmark; "
            "bundled: rft, rubric_llm_judge",
        ),
        (
            Model.NOVA_MICRO,
            {"eval_task": EvaluationTask.RUBRIC_LLM_JUDGE, "data_s3_path": DATA},
            RecipeError,
            "no published SMTJ rubric_llm_judge evaluation recipe for NOVA_MICRO in us-east-1; the hub offers: "
            "bring_your_own_dataset, general_text_benchmark; bundled: llm_judge, rft",
        ),
        (
            Model.NOVA_MICRO,
            {"eval_task": EvaluationTask.RFT_EVAL, "data_s3_path": DATA},
            ConfigurationError,
            "RFT_EVAL scores responses with your reward function: pass rl_env={'reward_lambda_arn': <Lambda ARN>}",
        ),
        (
            Model.NOVA_MICRO,
            {"eval_task": EvaluationTask.RFT_EVAL, "data_s3_path": DATA, "rl_env": {"reward_lambda_arn": "fn"}},
            ConfigurationError,
            "rl_env['reward_lambda_arn'] 'fn' is not a Lambda function ARN",
        ),
        (
            Model.NOVA_MICRO,
            {"eval_task": EvaluationTask.LLM_JUDGE},
            ConfigurationError,
            "LLM_JUDGE evaluates your own data: pass data_s3_path",
        ),
        (
            Model.NOVA_LITE_2,
            {"eval_task": EvaluationTask.RUBRIC_LLM_JUDGE},
            ConfigurationError,
            "RUBRIC_LLM_JUDGE evaluates your own data: pass data_s3_path",
        ),
        (
            Model.NOVA_MICRO,
            {"eval_task": EvaluationTask.LLM_JUDGE, "data_s3_path": DATA, "subtask": "anatomy"},
            ConfigurationError,
            "LLM_JUDGE has no subtasks",
        ),
    ],
)
def test_bundled_evaluation_errors_before_any_job(
    clients: AwsClients, model: Model, kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    sent = sent_requests(clients)
    with pytest.raises(error, match=re.escape(message)):
        make(clients, model).evaluate("bad-eval", **kwargs)
    assert sent == []


@pytest.mark.parametrize(
    ("task", "model", "instance_type"),
    [
        (EvaluationTask.LLM_JUDGE, Model.NOVA_MICRO, "ml.g5.12xlarge"),
        (EvaluationTask.RFT_EVAL, Model.NOVA_LITE_2, "ml.p4d.24xlarge"),
    ],
)
def test_bundled_evaluation_runs_on_p5_only(
    clients: AwsClients, task: EvaluationTask, model: Model, instance_type: str
) -> None:
    sent = sent_requests(clients)
    with pytest.raises(
        RecipeError,
        match=re.escape(
            f"instance_type {instance_type!r} is not supported for {model.name} {TASKS[task].kind} evaluation on "
            "SMTJ; supported instance types: ml.p5.48xlarge"
        ),
    ):
        make(clients, model, instance_type).evaluate(
            "bad-type",
            task,
            data_s3_path=DATA,
            rl_env={"reward_lambda_arn": REWARD} if task.name == "RFT_EVAL" else None,
        )
    assert sent == []


def test_completed_bundled_evaluation_returns_metrics(clients: AwsClients, control: object) -> None:
    result = make(clients, Model.NOVA_LITE).evaluate("judge-run", EvaluationTask.LLM_JUDGE, data_s3_path=DATA)
    assert result.get() == {}
    control.complete_job("judge-run")  # type: ignore[attr-defined]
    metrics = result.get()
    assert set(metrics["results"]) == {"custom|llm_judge_judge|0", "all"}
    assert metrics["results"]["all"]


def test_completed_rft_evaluation_returns_metrics(clients: AwsClients, control: object) -> None:
    result = make(clients, Model.NOVA_LITE_2).evaluate(
        "rft-run", EvaluationTask.RFT_EVAL, data_s3_path=DATA, rl_env={"reward_lambda_arn": REWARD}
    )
    control.complete_job("rft-run")  # type: ignore[attr-defined]
    assert result.get_job_status()[1] == "Completed"
    assert set(result.get()["results"]) == {"custom|rft_eval_rft_eval|0", "all"}


def test_bundled_image_follows_the_region(sandbox: object) -> None:
    endpoint = sandbox.endpoint_url  # type: ignore[attr-defined]
    west = RecipeHub(AwsClients(region_name="us-west-2", endpoint_url=endpoint), RecipeCache())
    entry = west.select_evaluation(Model.NOVA_LITE_2, "rubric_llm_judge", Platform.SMTJ, "ml.p5.48xlarge")
    assert (
        entry.smtj_image_uri == "176779409107.dkr.ecr.us-west-2.amazonaws.com/nova-evaluation-repo:SM-TJ-Eval-V2-latest"
    )
    assert entry.smtj_template_uri == "bundled://rubric_llm_judge_two.yaml"
    tokyo = RecipeHub(AwsClients(region_name="ap-northeast-1", endpoint_url=endpoint), RecipeCache())
    entry = tokyo.select_evaluation(Model.NOVA_PRO, "llm_judge", Platform.SMTJ, "ml.p5.48xlarge")
    assert (
        entry.smtj_image_uri
        == "878185805882.dkr.ecr.ap-northeast-1.amazonaws.com/nova-evaluation-repo:SM-TJ-Eval-latest"
    )
    ireland = RecipeHub(AwsClients(region_name="eu-west-1", endpoint_url=endpoint), RecipeCache())
    with pytest.raises(
        RecipeError, match=re.escape("the Nova evaluation image for llm_judge is not published in eu-west-1")
    ):
        ireland.select_evaluation(Model.NOVA_PRO, "llm_judge", Platform.SMTJ, "ml.p5.48xlarge")


@pytest.mark.parametrize("key", sorted(BUNDLED_EVALUATIONS, key=str), ids=lambda k: f"{k[0]}-{k[1].name}")
def test_bundled_template_and_params_agree(sandbox: object, key: Any) -> None:
    endpoint = sandbox.endpoint_url  # type: ignore[attr-defined]
    hub = RecipeHub(AwsClients(region_name="us-east-1", endpoint_url=endpoint), RecipeCache())
    model = next(m for m in Model if m.version is key[1])
    template = hub.template(hub.select_evaluation(model, key[0], Platform.SMTJ, "ml.p5.48xlarge"))
    assert placeholders(template.text) == set(template.params.params)
    assert template.params["replicas"].enum == (1,)
    assert ("reward_lambda_arn" in template.params) == (key[0] == "rft")


def test_own_recipe_file_with_a_bundled_template_keeps_its_model_type(clients: AwsClients, tmp_path: Any) -> None:
    recipe = {
        "run": {"name": "mine", "model_type": Model.NOVA_PRO.model_type, "model_name_or_path": "nova-pro/prod"},
        "evaluation": {"task": "rft_eval", "strategy": "rft_eval", "metric": "all"},
        "inference": {"max_new_tokens": 100, "top_k": -1, "top_p": 1.0, "temperature": 0, "top_logprobs": 0},
        "rl_env": {"reward_lambda_arn": "arn:aws:lambda:<region>:<account_id>:function:<name>"},
    }
    path = tmp_path / "rft.yaml"
    path.write_text(yaml.safe_dump(recipe))
    rl_env = {"reward_lambda_arn": REWARD}
    plan = make(clients, Model.NOVA_PRO).plan_evaluation(
        "mine", EvaluationTask.RFT_EVAL, data_s3_path=DATA, recipe_path=str(path), rl_env=rl_env
    )
    assert plan.recipe.recipe["rl_env"] == rl_env and plan.recipe.recipe["inference"]["max_new_tokens"] == 100
    with pytest.raises(RecipeError, match=re.escape("is for model_type 'amazon.nova-pro-v1:0:300k'")):
        make(clients, Model.NOVA_MICRO).plan_evaluation(
            "mine", EvaluationTask.RFT_EVAL, data_s3_path=DATA, recipe_path=str(path), rl_env=rl_env
        )
