"""Evaluation and batch inference against the stand-in: recipes, requests, results, errors."""

from __future__ import annotations

import json
import re
from typing import Any

import boto3
import pytest
import yaml

from airflow_provider_nova.core import (
    AwsClients,
    BaseJobResult,
    ConfigurationError,
    DataPrepError,
    EvaluationTask,
    JobFailedError,
    JobStatus,
    Model,
    NovaModelCustomizer,
    RecipeError,
    SMTJBatchInferenceResult,
    SMTJEvaluationResult,
    SMTJRuntimeManager,
    TrainingMethod,
)
from airflow_provider_nova.core.evaluation import TASKS
from airflow_provider_nova.sandbox import rehearsal
from airflow_provider_nova.sandbox.tfevents import read_scalars

EVAL_IMAGE = "708977205387.dkr.ecr.us-east-1.amazonaws.com/nova-evaluation-repo:SM-TJ-Eval-V2-latest"
GEN_QA = "s3://my-bucket/eval/gen_qa.jsonl"
BYOM = "arn:aws:lambda:us-east-1:123456789012:function:my-metrics"
ROWS = [
    {
        "system": "Answer briefly.",
        "query": "What's the symbol that ends a question?",
        "response": "?",
        "metadata": "m-1",
    },
    {"query": "Next in 1, 2, 4, 8?", "response": "16"},
    {"query": 'Say "hi"', "response": "hi"},
]


@pytest.fixture
def clients(account: dict[str, str]) -> AwsClients:
    rehearsal.put_jsonl(account["endpoint_url"], GEN_QA, ROWS)
    return AwsClients(region_name="us-east-1")


def make(
    clients: AwsClients,
    model: Model = Model.NOVA_MICRO,
    instance_type: str = "ml.p5.48xlarge",
    count: int = 2,
    validation_config: dict[str, bool] | None = None,
) -> NovaModelCustomizer:
    infra = SMTJRuntimeManager(instance_type, count, clients=clients)
    method = TrainingMethod.SFT_LORA
    data, out = "s3://my-bucket/training-data/", "s3://my-bucket/output/"
    return NovaModelCustomizer(model, method, infra, data, out, validation_config=validation_config)


def sent_requests(clients: AwsClients) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []
    clients.sagemaker.meta.events.register(
        "provide-client-params.sagemaker.CreateTrainingJob", lambda params, **_: sent.append(dict(params))
    )
    return sent


TEXT_TASKS = [t for t, s in TASKS.items() if s.kind == "general_text_benchmark"]


@pytest.mark.parametrize("task", TEXT_TASKS, ids=lambda t: t.name)
def test_each_text_benchmark_renders_and_launches(clients: AwsClients, task: EvaluationTask) -> None:
    sent = sent_requests(clients)
    checkpoint = "s3://customer-escrow-123456789012-smtj-us-east-1/job/1/"
    job = f"eval-{task.value.replace('_', '-')}"
    result = make(clients).evaluate(
        job, task, model_path=checkpoint, overrides={"max_new_tokens": 2048, "temperature": 0.5}
    )
    assert isinstance(result, SMTJEvaluationResult) and result.eval_task is task
    assert result.eval_output_path == f"s3://my-bucket/output/{job}/output/output.tar.gz"
    request = sent[0]
    assert request["AlgorithmSpecification"]["TrainingImage"] == EVAL_IMAGE
    assert request["ResourceConfig"]["InstanceCount"] == 1
    assert [c["ChannelName"] for c in request["InputDataConfig"]] == ["recipe"]
    assert request["HyperParameters"] == {
        "sagemaker_recipe_local_path": "/opt/ml/input/data/recipe/recipe.yaml",
        "base_model_location": checkpoint,
    }
    body = clients.s3.get_object(Bucket="my-bucket", Key=f"output/{job}/input/recipe/recipe.yaml")["Body"].read()
    recipe = yaml.safe_load(body)
    spec = TASKS[task]
    assert recipe["evaluation"] == {"task": task.value, "strategy": spec.strategy, "metric": spec.metric, "subtask": ""}
    assert recipe["inference"]["max_new_tokens"] == 2048 and recipe["inference"]["temperature"] == 0.5
    assert recipe["run"]["model_name_or_path"] == checkpoint and recipe["run"]["replicas"] == 1
    assert "processor" not in recipe


def test_mmmu_runs_on_the_multi_modal_recipe_and_not_on_micro(clients: AwsClients) -> None:
    customizer = make(clients, Model.NOVA_LITE_2, count=4)
    plan = customizer.plan_evaluation("mmmu", EvaluationTask.MMMU, subtask="art")
    assert plan.recipe.recipe_name == "nova_lite_2_0_p5_48xl_gpu_general_multi_modal_benchmark_eval"
    assert plan.recipe.recipe["evaluation"] == {
        "task": "mmmu",
        "strategy": "zs_cot",
        "metric": "accuracy",
        "subtask": "art",
    }
    sent = sent_requests(clients)
    customizer.evaluate("mmmu", EvaluationTask.MMMU, subtask="art")
    assert sent[0]["AlgorithmSpecification"]["TrainingImage"] == EVAL_IMAGE
    assert clients.sagemaker.describe_training_job(TrainingJobName="mmmu")["TrainingJobStatus"] == "InProgress"
    with pytest.raises(
        RecipeError, match="no published SMTJ general_multi_modal_benchmark evaluation recipe for NOVA_MICRO"
    ):
        make(clients).plan_evaluation("mmmu", EvaluationTask.MMMU)


def test_bbh_uses_few_shot_chain_of_thought(clients: AwsClients) -> None:
    plan = make(clients).plan_evaluation("bbh", EvaluationTask.BBH, subtask="navigate")
    assert plan.recipe.recipe["evaluation"] == {
        "task": "bbh",
        "strategy": "fs_cot",
        "metric": "accuracy",
        "subtask": "navigate",
    }


def test_gen_qa_with_your_data_and_metrics_lambda(clients: AwsClients) -> None:
    sent = sent_requests(clients)
    processor = {
        "lambda_arn": BYOM,
        "lambda_type": "custom_metrics",
        "preprocessing": {"enabled": True},
        "aggregation": "max",
    }
    make(clients).evaluate("byom", EvaluationTask.GEN_QA, data_s3_path=GEN_QA, processor=processor)
    request = sent[0]
    channels = {c["ChannelName"]: c["DataSource"]["S3DataSource"] for c in request["InputDataConfig"]}
    assert channels["train"] == {"S3DataType": "S3Prefix", "S3Uri": GEN_QA, "S3DataDistributionType": "FullyReplicated"}
    assert request["HyperParameters"]["eval_lambda_arn"] == BYOM
    recipe = yaml.safe_load(
        clients.s3.get_object(Bucket="my-bucket", Key="output/byom/input/recipe/recipe.yaml")["Body"].read()
    )
    assert recipe["evaluation"] == {"task": "gen_qa", "strategy": "gen_qa", "metric": "all"}
    assert recipe["processor"] == {
        "lambda_arn": BYOM, "lambda_type": "custom_metrics", "preprocessing": {"enabled": True},
        "postprocessing": {"enabled": True}, "aggregation": "max",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (
            {"eval_task": EvaluationTask.HELLASWAG},
            ConfigurationError,
            "HELLASWAG is not offered by the Nova evaluation recipes; offered tasks: MMLU",
        ),
        (
            {"eval_task": EvaluationTask.MMLU, "subtask": "astrology"},
            ConfigurationError,
            "subtask 'astrology' is not a MMLU subtask; valid subtasks: abstract_algebra, anatomy",
        ),
        (
            {"eval_task": EvaluationTask.GPQA, "subtask": "physics"},
            ConfigurationError,
            "GPQA has no subtasks; leave subtask unset",
        ),
        (
            {"eval_task": EvaluationTask.MMLU, "data_s3_path": GEN_QA},
            ConfigurationError,
            "MMLU is a benchmark with its own data; data_s3_path is only for tasks that evaluate your data: GEN_QA",
        ),
        ({"eval_task": EvaluationTask.GEN_QA}, ConfigurationError, "GEN_QA evaluates your own data: pass data_s3_path"),
        (
            {"eval_task": EvaluationTask.GEN_QA, "data_s3_path": "s3://my-bucket/missing/"},
            ConfigurationError,
            "data_s3_path s3://my-bucket/missing/ has no objects",
        ),
        (
            {"eval_task": EvaluationTask.GEN_QA, "data_s3_path": GEN_QA, "processor": {"lambda_arn": "my-fn"}},
            ConfigurationError,
            "processor['lambda_arn'] 'my-fn' is not a Lambda function ARN",
        ),
        (
            {
                "eval_task": EvaluationTask.GEN_QA,
                "data_s3_path": GEN_QA,
                "processor": {"lambda_arn": BYOM, "lambda_type": "metrics"},
            },
            ConfigurationError,
            "processor['lambda_type'] must be one of rft, custom_metrics",
        ),
        (
            {"eval_task": EvaluationTask.GEN_QA, "data_s3_path": GEN_QA, "processor": {"lambda_arn": BYOM, "batch": 2}},
            ConfigurationError,
            "unknown processor keys ['batch']",
        ),
        (
            {"eval_task": EvaluationTask.MMLU, "processor": {"lambda_arn": BYOM}},
            ConfigurationError,
            "processor (bring your own metrics) is only used with GEN_QA, not MMLU",
        ),
        (
            {"eval_task": EvaluationTask.MMLU, "rl_env": {"reward_lambda_arn": BYOM}},
            ConfigurationError,
            "rl_env is only used with RFT_EVAL, not MMLU",
        ),
        (
            {"eval_task": EvaluationTask.MMLU, "overrides": {"temperature": 3.0}},
            RecipeError,
            "override 'temperature' = 3.0 is out of range; use a number >= 0 and <= 2",
        ),
        (
            {"eval_task": EvaluationTask.MMLU, "overrides": {"task": "bbh"}},
            RecipeError,
            "override 'task' is set by the customizer; use eval_task instead",
        ),
        (
            {"eval_task": EvaluationTask.MMLU, "overrides": {"temperature": 2.5}},
            RecipeError,
            "override 'temperature' = 2.5 is out of range",
        ),
        (
            # the published template holds top_logprobs as a literal 0: an integer overrides it
            {"eval_task": EvaluationTask.MMLU, "overrides": {"top_logprobs": 0.5}},
            RecipeError,
            "override 'top_logprobs' must be an integer like the recipe's 0",
        ),
        (
            {"eval_task": EvaluationTask.MMLU, "model_path": "checkpoints/x"},
            ConfigurationError,
            "model_path must be an s3:// URI",
        ),
        ({"eval_task": "mmlu"}, ConfigurationError, "eval_task must be an EvaluationTask, got 'mmlu'"),
    ],
)
def test_evaluation_errors_before_any_job(
    clients: AwsClients, kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    sent = sent_requests(clients)
    with pytest.raises(error, match=re.escape(message)):
        make(clients).evaluate("bad-eval", **kwargs)
    assert sent == []


def test_evaluation_instance_type_must_be_published(clients: AwsClients) -> None:
    with pytest.raises(
        RecipeError,
        match=re.escape(
            "instance_type 'ml.p4d.24xlarge' is not supported for NOVA_MICRO general_text_benchmark evaluation on SMTJ; supported instance types: ml.g5.12xlarge, ml.g5.24xlarge, ml.g6.12xlarge, ml.g6.24xlarge, ml.p5.48xlarge"
        ),
    ):
        make(clients, instance_type="ml.p4d.24xlarge").plan_evaluation("x", EvaluationTask.MMLU)


def test_get_is_empty_until_complete_then_returns_the_metrics(
    clients: AwsClients, control: object, capsys: pytest.CaptureFixture[str]
) -> None:
    result = make(clients).evaluate("mmlu-run", EvaluationTask.MMLU, subtask="anatomy")
    assert result.get_job_status() == (JobStatus.IN_PROGRESS, "InProgress")
    assert result.get() == {}
    control.complete_job("mmlu-run")  # type: ignore[attr-defined]
    assert result.get_job_status() == (JobStatus.COMPLETED, "Completed")
    metrics = result.get()
    assert set(metrics["results"]) == {"custom|mmlu:anatomy_zs_cot|0", "all"}
    accuracy = metrics["results"]["all"]["accuracy"]
    assert 0.5 <= accuracy <= 0.95 and "accuracy_stderr" in metrics["results"]["all"]
    capsys.readouterr()
    result.show()
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "MMLU evaluation mmlu-run"
    assert re.fullmatch(r"task\s+metric\s+value\s+stderr", lines[1])
    assert re.fullmatch(rf"all\s+accuracy\s+{accuracy:.4f}\s+\d\.\d{{4}}", lines[3])


def test_failed_evaluation_gives_empty_results(clients: AwsClients, control: object) -> None:
    result = make(clients).evaluate("doomed", EvaluationTask.IFEVAL)
    control.fail_job("doomed", "AlgorithmError: out of memory")  # type: ignore[attr-defined]
    assert result.get_job_status() == (JobStatus.FAILED, "Failed")
    with pytest.raises(JobFailedError, match="AlgorithmError: out of memory"):
        ticks = iter(range(0, 10**6, 60))  # a fake clock: a job that never ended would time out, not hang
        result.wait_for_completion(timeout_seconds=600, sleep=lambda _: None, clock=lambda: next(ticks))
    assert result.get() == {}


def test_tensorboard_upload_default_and_explicit(clients: AwsClients, control: object) -> None:
    result = make(clients).evaluate("tb-run", EvaluationTask.MATH)
    control.complete_job("tb-run")  # type: ignore[attr-defined]
    assert result.get_job_status() == (JobStatus.COMPLETED, "Completed")
    result.upload_tensorboard_results()
    keys = [
        o["Key"]
        for o in clients.s3.list_objects_v2(Bucket="my-bucket", Prefix="output/tb-run/output/tensorboard_results/")[
            "Contents"
        ]
    ]
    assert len(keys) == 1 and re.fullmatch(
        r"output/tb-run/output/tensorboard_results/eval/events\.out\.tfevents\.\d+\.sandbox", keys[0]
    )
    scalars = read_scalars(clients.s3.get_object(Bucket="my-bucket", Key=keys[0])["Body"].read())
    assert set(scalars) == {"math/exact_match"}
    result.upload_tensorboard_results("s3://my-bucket/tensorboard/math/")
    explicit = clients.s3.list_objects_v2(Bucket="my-bucket", Prefix="tensorboard/math/")["Contents"]
    assert [o["Key"].split("/", 2)[2] for o in explicit] == [keys[0].split("tensorboard_results/")[1]]


def test_clean_removes_the_local_cache_and_get_downloads_again(clients: AwsClients, control: object) -> None:
    result = make(clients).evaluate("cache-run", EvaluationTask.GPQA)
    control.complete_job("cache-run")  # type: ignore[attr-defined]
    assert result.get_job_status() == (JobStatus.COMPLETED, "Completed")
    first = result.get()
    assert set(first["results"]["all"]) == {"accuracy", "accuracy_stderr"}
    cache = result._cache
    assert cache is not None and cache.exists()
    result.clean()
    assert not cache.exists() and result._cache is None
    assert result.get() == first


def test_evaluation_result_round_trips(clients: AwsClients, tmp_path: Any) -> None:
    result = make(clients).evaluate("dump-run", EvaluationTask.MMLU_PRO)
    path = tmp_path / "r.json"
    result.dump(str(path))
    loaded = BaseJobResult.load(str(path))
    assert type(loaded) is SMTJEvaluationResult and loaded == result
    assert json.loads(path.read_text())["eval_task"] == "mmlu_pro"


# -- batch inference -----------------------------------------------------------------------------
def test_batch_inference_formats_every_field(
    clients: AwsClients, control: object, capsys: pytest.CaptureFixture[str]
) -> None:
    sent = sent_requests(clients)
    checkpoint = "s3://customer-escrow-123456789012-smtj-us-east-1/job/1/"
    result = make(clients).batch_inference(
        "batch-job",
        GEN_QA,
        "s3://my-bucket/inference-output/",
        model_path=checkpoint,
        overrides={"top_logprobs": 5, "top_k": 1},
    )
    assert isinstance(result, SMTJBatchInferenceResult)
    assert result.inference_output_path == "s3://my-bucket/inference-output/batch-job/output/output.tar.gz"
    request = sent[0]
    assert request["OutputDataConfig"] == {"S3OutputPath": "s3://my-bucket/inference-output/"}
    assert request["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"] == GEN_QA
    recipe = yaml.safe_load(
        clients.s3.get_object(Bucket="my-bucket", Key="inference-output/batch-job/input/recipe/recipe.yaml")[
            "Body"
        ].read()
    )
    assert recipe["evaluation"] == {"task": "gen_qa", "strategy": "gen_qa", "metric": "all"}
    assert recipe["inference"]["top_logprobs"] == 5 and recipe["inference"]["top_k"] == 1
    assert "processor" not in recipe
    assert result.get_job_status() == (JobStatus.IN_PROGRESS, "InProgress")
    assert result.get() == {}
    control.complete_job("batch-job")  # type: ignore[attr-defined]
    assert result.get_job_status() == (JobStatus.COMPLETED, "Completed")
    got = result.get(s3_path="s3://my-bucket/save-location/file-name.jsonl")
    assert got == {
        "results": [
            {"system": "Answer briefly.", "query": "What's the symbol that ends a question?", "gold_response": "?", "inference_response": "?", "metadata": "m-1"},
            {"system": "", "query": "Next in 1, 2, 4, 8?", "gold_response": "16", "inference_response": "Sandbox answer to: Next in 1, 2, 4, 8?", "metadata": {}},
            {"system": "", "query": 'Say "hi"', "gold_response": "hi", "inference_response": "hi", "metadata": {}},
        ]
    }  # fmt: skip
    saved = clients.s3.get_object(Bucket="my-bucket", Key="save-location/file-name.jsonl")
    assert saved["ContentType"] == "application/jsonlines"
    assert [json.loads(line) for line in saved["Body"].read().decode().splitlines()] == got["results"]
    capsys.readouterr()
    result.show()
    out = capsys.readouterr().out
    assert out.startswith("batch inference batch-job: 3 results\n[1] query: What's the symbol that ends a question?")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"endpoint": object()},
            "batch inference through a deployed endpoint is not available on SageMaker Training Jobs",
        ),
        ({"input_path": "s3://my-bucket/none/"}, "input_path s3://my-bucket/none/ has no objects"),
        ({"output_s3_path": "my-bucket/out"}, "output_s3_path must be an s3:// URI"),
        ({"overrides": {"top_p": 1.5}}, "override 'top_p' = 1.5 is out of range"),
    ],
)
def test_batch_inference_errors(clients: AwsClients, kwargs: dict[str, Any], message: str) -> None:
    sent = sent_requests(clients)
    args: dict[str, Any] = {"input_path": GEN_QA, "output_s3_path": "s3://my-bucket/out/", **kwargs}
    with pytest.raises(ValueError, match=re.escape(message)):
        make(clients).batch_inference("bad-batch", **args)
    assert sent == []


def test_batch_job_with_malformed_rows_fails_like_the_container(
    clients: AwsClients, control: object, account: dict[str, str]
) -> None:
    boto3.client("s3").put_object(Bucket="my-bucket", Key="bad/gen_qa.jsonl", Body=b'{"question": "no query field"}\n')
    with pytest.raises(
        DataPrepError, match=r"input_path s3://my-bucket/bad/gen_qa.jsonl: row 1: field 'query' is missing"
    ):
        make(clients).batch_inference("bad-rows", "s3://my-bucket/bad/gen_qa.jsonl", "s3://my-bucket/out/")
    # with the data check off, the job starts and fails as the container would
    unchecked = make(clients, validation_config={"data": False})
    result = unchecked.batch_inference("bad-rows", "s3://my-bucket/bad/gen_qa.jsonl", "s3://my-bucket/out/")
    control.complete_job("bad-rows")  # type: ignore[attr-defined]
    assert result.get_job_status() == (JobStatus.FAILED, "Failed")
    reason = clients.sagemaker.describe_training_job(TrainingJobName="bad-rows")["FailureReason"]
    assert reason == "AlgorithmError: gen_qa input line 1 must be a JSON object with 'query' and 'response'"
    assert result.get() == {}
