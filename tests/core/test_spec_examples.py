"""The spec's examples for training, runtimes, results and enums, with imports pointed at the core.

Each test body is the spec's example as written, except that every
``from amzn_nova_customization_sdk... import X`` reads ``from airflow_provider_nova.core import X``.
Where a published recipe does not allow a value the spec's example uses, the test shows the
example's own value failing with the allowed values, then runs it with the nearest allowed one.
"""

from __future__ import annotations

import logging
from typing import Any

import boto3
import pytest
import yaml

logger = logging.getLogger(__name__)


def described(job_name: str) -> dict[str, Any]:
    """The training job as the stand-in's SageMaker describes it."""
    job: dict[str, Any] = boto3.client("sagemaker").describe_training_job(TrainingJobName=job_name)
    return job


def job_names() -> list[str]:
    """Every training job the stand-in's SageMaker knows."""
    return [j["TrainingJobName"] for j in boto3.client("sagemaker").list_training_jobs()["TrainingJobSummaries"]]


def uploaded_recipe(job_name: str, output: str = "output") -> dict[str, Any]:
    """The rendered recipe the job was started with, read back from S3."""
    key = f"{output}/{job_name}/input/recipe/recipe.yaml"
    recipe: dict[str, Any] = yaml.safe_load(boto3.client("s3").get_object(Bucket="my-bucket", Key=key)["Body"].read())
    return recipe


@pytest.fixture(autouse=True)
def _account(account: dict[str, str]) -> None:
    """Every example runs in a fresh stand-in account, as an assumed role, with data in my-bucket."""


def test_constructor_example() -> None:
    from airflow_provider_nova.core import Model, NovaModelCustomizer, SMTJRuntimeManager, TrainingMethod

    infra = SMTJRuntimeManager(instance_type="ml.p5.48xlarge", instance_count=2)
    customizer = NovaModelCustomizer(
        model=Model.NOVA_MICRO,
        method=TrainingMethod.SFT_LORA,
        infra=infra,
        data_s3_path="s3://my-bucket/training-data/",
        output_s3_path="s3://my-bucket/output/",
    )
    # what the constructed customizer would send: the published recipe for these inputs, nothing started
    plan = customizer.plan_training("my-training-job")
    run = plan.recipe.recipe["run"]
    assert (run["model_type"], run["model_name_or_path"], run["replicas"]) == (
        "amazon.nova-micro-v1:0:128k",
        "nova-micro/prod",
        2,
    )
    assert (run["data_s3_path"], run["output_s3_path"]) == ("s3://my-bucket/training-data/", "s3://my-bucket/output/")
    assert plan.request["ResourceConfig"]["InstanceType"] == "ml.p5.48xlarge"
    assert plan.request["ResourceConfig"]["InstanceCount"] == 2
    assert job_names() == []


def make_customizer() -> object:
    from airflow_provider_nova.core import Model, NovaModelCustomizer, SMTJRuntimeManager, TrainingMethod

    infra = SMTJRuntimeManager(instance_type="ml.p5.48xlarge", instance_count=2)
    return NovaModelCustomizer(
        model=Model.NOVA_MICRO,
        method=TrainingMethod.SFT_LORA,
        infra=infra,
        data_s3_path="s3://my-bucket/training-data/",
        output_s3_path="s3://my-bucket/output/",
    )


def test_train_example(capsys: pytest.CaptureFixture[str], control: object) -> None:
    customizer = make_customizer()
    result = customizer.train(  # type: ignore[attr-defined]
        job_name="my-training-job",
        overrides={"max_epochs": 10, "lr": 5e-6, "warmup_steps": 20, "global_batch_size": 128},
    )
    print(f"Training job started: {result.job_id}")
    print(f"Checkpoint path: {result.model_artifacts.checkpoint_s3_path}")
    assert capsys.readouterr().out == "Training job started: my-training-job\nCheckpoint path: None\n"
    assert described("my-training-job")["TrainingJobStatus"] == "InProgress"
    training = uploaded_recipe("my-training-job")["training_config"]
    assert (training["trainer"]["max_epochs"], training["global_batch_size"]) == (10, 128)
    assert training["model"]["optim"]["lr"] == 5e-6 and training["model"]["optim"]["sched"]["warmup_steps"] == 20
    control.complete_job("my-training-job")  # type: ignore[attr-defined]
    assert result.get_job_status()[1] == "Completed"
    print(f"Checkpoint path: {result.model_artifacts.checkpoint_s3_path}")
    assert "Checkpoint path: s3://customer-escrow-" in capsys.readouterr().out


def test_get_logs_example(capsys: pytest.CaptureFixture[str]) -> None:
    customizer = make_customizer()
    # After starting a training job
    customizer.train(job_name="my-job")  # type: ignore[attr-defined]
    customizer.get_logs(limit=100, start_from_head=True)  # type: ignore[attr-defined]
    assert "training job my-job started" in capsys.readouterr().out


def test_validate_example(caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]) -> None:
    customizer = make_customizer()
    caplog.set_level(logging.INFO)
    try:
        customizer.validate(  # type: ignore[attr-defined]
            job_name="my-training-job",
            overrides={"max_epochs": 10, "lr": 5e-6, "warmup_steps": 20, "global_batch_size": 128},
        )

        print("this is a valid job")
    except ValueError as e:
        logger.info(f"Job configuration was invalid. Exception: {e}")
    assert capsys.readouterr().out == "this is a valid job\n"  # 128 is in the published enum (64 to 1024)
    assert "Job configuration was invalid" not in caplog.text
    assert job_names() == []  # validate starts nothing
    with pytest.raises(
        ValueError, match="'global_batch_size' = 100 is not allowed; use one of 64, 128, 256, 512, 1024"
    ):
        customizer.validate(job_name="my-training-job", overrides={"global_batch_size": 100})  # type: ignore[attr-defined]


def test_runtime_manager_examples(account: dict[str, str]) -> None:
    from airflow_provider_nova.core import (
        Model,
        NovaModelCustomizer,
        SMHPRuntimeManager,
        SMTJRuntimeManager,
        TrainingMethod,
    )
    from airflow_provider_nova.core.errors import ConfigurationError

    infra = SMTJRuntimeManager(instance_type="ml.p5.48xlarge", instance_count=2)
    data, out = "s3://my-bucket/training-data/", "s3://my-bucket/output/"
    NovaModelCustomizer(Model.NOVA_MICRO, TrainingMethod.SFT_LORA, infra, data, out).train(job_name="smtj-job")
    job = described("smtj-job")  # the training job runs on the manager's instances, as the account's role
    assert job["ResourceConfig"]["InstanceType"] == "ml.p5.48xlarge" and job["ResourceConfig"]["InstanceCount"] == 2
    assert job["RoleArn"] == account["role_arn"]
    infra = SMHPRuntimeManager(
        instance_type="ml.p5.48xlarge", instance_count=4, cluster_name="my-hyperpod-cluster", namespace="default"
    )
    customizer = NovaModelCustomizer(Model.NOVA_MICRO, TrainingMethod.SFT_LORA, infra, data, out)
    with pytest.raises(ConfigurationError, match="no SageMaker HyperPod cluster of that name"):
        customizer.train(job_name="smhp-job")  # checked before anything is created
    assert job_names() == ["smtj-job"]


def test_job_result_examples(
    tmp_path: object, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], control: object
) -> None:
    from airflow_provider_nova.core import BaseJobResult, JobStatus

    monkeypatch.chdir(tmp_path)  # type: ignore[arg-type]
    result = make_customizer().train(job_name="my-job")  # type: ignore[attr-defined]
    control.complete_job("my-job")  # type: ignore[attr-defined]
    status, raw_status = result.get_job_status()
    if status == JobStatus.COMPLETED:
        print("Job finished!")
    assert capsys.readouterr().out == "Job finished!\n"
    result.dump()
    # Result will be saved to ./{job_id}_{platform}.json under current dir
    result.dump("customized/path/customized_name.jsob")
    job_result = BaseJobResult.load("./my-job_SMTJ.json")
    assert job_result == result == BaseJobResult.load("customized/path/customized_name.jsob")


def test_model_from_model_type_example() -> None:
    from airflow_provider_nova.core import Model

    model = Model.from_model_type("amazon.nova-micro-v1:0:128k")
    assert model is Model.NOVA_MICRO


def test_error_handling_example(capsys: pytest.CaptureFixture[str]) -> None:
    customizer = make_customizer()
    try:
        result = customizer.train(job_name="my-job")  # type: ignore[attr-defined]
    except ValueError as e:
        print(f"Configuration error: {e}")
    except Exception as e:
        print(f"Training failed: {e}")
    assert capsys.readouterr().out == ""
    assert described(result.job_id)["TrainingJobStatus"] == "InProgress"
    try:
        customizer.train(job_name="my-job")  # type: ignore[attr-defined]
    except ValueError as e:
        print(f"Configuration error: {e}")
    assert capsys.readouterr().out.startswith("Configuration error: a training job named 'my-job' already exists")
    assert job_names() == ["my-job"]


def test_complete_example_training_part_with_published_count(capsys: pytest.CaptureFixture[str]) -> None:
    from airflow_provider_nova.core import Model, NovaModelCustomizer, SMTJRuntimeManager, TrainingMethod

    infra = SMTJRuntimeManager(instance_type="ml.p5.48xlarge", instance_count=1)
    customizer = NovaModelCustomizer(
        model=Model.NOVA_MICRO,
        method=TrainingMethod.SFT_LORA,
        infra=infra,
        data_s3_path="s3://my-bucket/training-data/train.jsonl",
        output_s3_path="s3://my-bucket/output/",
    )
    with pytest.raises(ValueError, match=r"allowed counts: 2, 4, 8; 1 instance\(s\) are allowed on ml.g5.12xlarge"):
        customizer.train(job_name="my-training-job", overrides={"max_epochs": 5, "lr": 5e-6, "global_batch_size": 64})
    assert job_names() == []  # refused before anything started
    infra = SMTJRuntimeManager(instance_type="ml.p5.48xlarge", instance_count=2)  # the nearest allowed count
    customizer = NovaModelCustomizer(
        model=Model.NOVA_MICRO,
        method=TrainingMethod.SFT_LORA,
        infra=infra,
        data_s3_path="s3://my-bucket/training-data/train.jsonl",
        output_s3_path="s3://my-bucket/output/",
    )
    training_result = customizer.train(
        job_name="my-training-job", overrides={"max_epochs": 5, "lr": 5e-6, "global_batch_size": 64}
    )
    customizer.get_logs(limit=50)
    assert "training job my-training-job started" in capsys.readouterr().out
    job = described(training_result.job_id)
    assert job["TrainingJobStatus"] == "InProgress" and job["ResourceConfig"]["InstanceCount"] == 2
    train = next(c for c in job["InputDataConfig"] if c["ChannelName"] == "train")
    assert train["DataSource"]["S3DataSource"]["S3Uri"] == "s3://my-bucket/training-data/train.jsonl"
    assert uploaded_recipe("my-training-job")["training_config"]["trainer"]["max_epochs"] == 5


# -- evaluate, deploy, batch inference and their results (issue: evaluation, batch inference, deploy) --
GEN_QA_ROWS = [{"query": "What is 2+2?", "response": "4"}, {"query": "Capital of France?", "response": "Paris"}]


def test_evaluate_examples(account: dict[str, str], control: object, capsys: pytest.CaptureFixture[str]) -> None:
    from airflow_provider_nova.sandbox import rehearsal

    rehearsal.put_jsonl(account["endpoint_url"], "s3://905418167188-data/yuhag-dev/eval/gen_qa.jsonl", GEN_QA_ROWS)
    customizer = make_customizer()
    from airflow_provider_nova.core import EvaluationTask

    # General eval task (with overrides)
    eval_result = customizer.evaluate(  # type: ignore[attr-defined]
        job_name="my-eval-job",
        eval_task=EvaluationTask.MMLU,
        model_path="s3://my-bucket/checkpoints/my-model/",
        overrides={"max_new_tokens": 2048, "temperature": 0, "top_p": 1.0},
    )
    print(f"Evaluation job started: {eval_result.job_id}")

    # BYOM eval task (by providing processor config)
    byom_eval_result = customizer.evaluate(  # type: ignore[attr-defined]
        job_name="yuhag-eval-test-byom",
        eval_task=EvaluationTask.GEN_QA,
        data_s3_path="s3://905418167188-data/yuhag-dev/eval/gen_qa.jsonl",
        processor={"lambda_arn": "arn:aws:lambda:us-east-1:905418167188:function:yuhag-eval-simple-byom-lambda"},
    )
    assert capsys.readouterr().out == "Evaluation job started: my-eval-job\n"
    byom = described(byom_eval_result.job_id)
    assert byom["HyperParameters"]["eval_lambda_arn"] == (
        "arn:aws:lambda:us-east-1:905418167188:function:yuhag-eval-simple-byom-lambda"
    )
    assert uploaded_recipe("yuhag-eval-test-byom")["evaluation"]["task"] == "gen_qa"
    assert uploaded_recipe("my-eval-job")["inference"]["max_new_tokens"] == 2048

    # Results: get() is empty until the job completes, then the metrics; show(); TensorBoard upload
    assert eval_result.get_job_status()[1] == "InProgress"
    assert eval_result.get() == {}
    control.complete_job("my-eval-job")  # type: ignore[attr-defined]
    assert eval_result.get_job_status()[1] == "Completed"
    results = eval_result.get()
    print(results)
    eval_result.show()
    eval_result.upload_tensorboard_results(tensorboard_s3_path="s3://my-bucket/tensorboard/")
    out = capsys.readouterr().out
    assert "'accuracy'" in out and "MMLU evaluation my-eval-job" in out
    assert "TensorBoard results uploaded to s3://my-bucket/tensorboard" in out
    uploaded = boto3.client("s3").list_objects_v2(Bucket="my-bucket", Prefix="tensorboard/")["Contents"]
    assert [o["Key"].rsplit("/", 1)[1].startswith("events.out.tfevents.") for o in uploaded] == [True]
    eval_result.clean()


def test_deploy_example(account: dict[str, str], control: object, capsys: pytest.CaptureFixture[str]) -> None:
    import boto3

    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="escrow-bucket")
    s3.put_object(Bucket="escrow-bucket", Key="my-model-artifacts/model_info.json", Body=b"{}")
    control.set_bedrock_seconds(0)  # type: ignore[attr-defined]
    customizer = make_customizer()
    from airflow_provider_nova.core import DeployPlatform

    deployment = customizer.deploy(  # type: ignore[attr-defined]
        model_artifact_path="s3://escrow-bucket/my-model-artifacts/",
        deploy_platform=DeployPlatform.BEDROCK_OD,
        endpoint_name="my-custom-nova-model",
    )
    print(f"Model deployed: {deployment.endpoint.uri}")
    print(f"Endpoint: {deployment.endpoint.endpoint_name}")
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("Model deployed: arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/")
    assert out[1] == "Endpoint: my-custom-nova-model"
    bedrock = boto3.client("bedrock")
    found = bedrock.get_custom_model_deployment(customModelDeploymentIdentifier=deployment.endpoint.uri)
    assert found["modelDeploymentName"] == "my-custom-nova-model" and found["status"] == "Active"
    model = bedrock.get_custom_model(modelIdentifier=found["modelArn"])
    assert (model["modelStatus"], model["customizationType"]) == ("Active", "IMPORTED")


def test_batch_inference_examples(account: dict[str, str], control: object, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    import boto3

    from airflow_provider_nova.sandbox import rehearsal

    rehearsal.put_jsonl(account["endpoint_url"], "s3://my-bucket/inference-input/gen_qa.jsonl", GEN_QA_ROWS)
    customizer = make_customizer()
    inference_result = customizer.batch_inference(  # type: ignore[attr-defined]
        job_name="batch-inference-job",
        input_path="s3://my-bucket/inference-input/",
        output_s3_path="s3://my-bucket/inference-output/",
        model_path="s3://my-bucket/trained-model/",
    )
    print(f"Batch inference started: {inference_result.job_id}")
    assert capsys.readouterr().out == "Batch inference started: batch-inference-job\n"

    assert described("batch-inference-job")["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"] == (
        "s3://my-bucket/inference-input/"
    )
    control.complete_job("batch-inference-job")  # type: ignore[attr-defined]
    status = inference_result.get_job_status()  # Gets the job status.
    assert status[1] == "Completed"
    inference_result.get("s3://my-bucket/save-location/file-name.jsonl")  # Uploads a formatted inference_results.jsonl
    results = inference_result.get(s3_path="s3://my-bucket/formatted-results.jsonl")
    assert [r["query"] for r in results["results"]] == ["What is 2+2?", "Capital of France?"]
    body = boto3.client("s3").get_object(Bucket="my-bucket", Key="save-location/file-name.jsonl")["Body"].read()
    assert [json.loads(line)["gold_response"] for line in body.decode().splitlines()] == ["4", "Paris"]
    inference_result.show()
    inference_result.clean()
