"""The CreateTrainingJob each supported (model, method) becomes, sent over HTTP to the stand-in."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from botocore.exceptions import ClientError

from airflow_provider_nova.core import AwsClients, Model, NovaModelCustomizer, SMTJRuntimeManager, TrainingMethod
from airflow_provider_nova.sandbox import rehearsal

LAMBDA = "arn:aws:lambda:us-east-1:123456789012:function:reward-fn"
ECR = "708977205387.dkr.ecr.us-east-1.amazonaws.com/nova-fine-tune-repo"

# (model, method, instance type, count, recipe, image tag), checked by hand against the published recipes.
CASES = [
    (Model.NOVA_MICRO, TrainingMethod.SFT_LORA, "ml.p5.48xlarge", 2, "nova_micro_1_0_p5_p4d_gpu_lora_sft", "SM-TJ-SFT-latest"),
    (Model.NOVA_MICRO, TrainingMethod.SFT_LORA, "ml.g5.12xlarge", 1, "nova_micro_1_0_g5_g6_12x_gpu_lora_sft", "SM-TJ-SFT-latest"),
    (Model.NOVA_MICRO, TrainingMethod.SFT_FULLRANK, "ml.p4d.24xlarge", 4, "nova_micro_1_0_p5_p4d_gpu_sft", "SM-TJ-SFT-latest"),
    (Model.NOVA_LITE, TrainingMethod.SFT_LORA, "ml.p5.48xlarge", 4, "nova_lite_1_0_p5_p4d_gpu_lora_sft", "SM-TJ-SFT-latest"),
    (Model.NOVA_LITE, TrainingMethod.SFT_FULLRANK, "ml.p5en.48xlarge", 8, "nova_lite_1_0_p5_p4d_gpu_sft", "SM-TJ-SFT-latest"),
    (Model.NOVA_LITE_2, TrainingMethod.SFT_LORA, "ml.p5.48xlarge", 4, "nova_lite_2_0_p5_gpu_lora_sft", "SM-TJ-SFT-V2-latest"),
    (Model.NOVA_LITE_2, TrainingMethod.SFT_FULLRANK, "ml.p5en.48xlarge", 16, "nova_lite_2_0_p5_gpu_sft", "SM-TJ-SFT-V2-latest"),
    (Model.NOVA_LITE_2, TrainingMethod.RFT_LORA, "ml.p5.48xlarge", 2, "nova_lite_v2_smtj_p5_p5en_gpu_lora_rft", "SM-TJ-RFT-V2-latest"),
    (Model.NOVA_LITE_2, TrainingMethod.RFT, "ml.p5en.48xlarge", 4, "nova_lite_v2_smtj_p5_p5en_gpu_rft", "SM-TJ-RFT-V2-latest"),
    (Model.NOVA_PRO, TrainingMethod.SFT_LORA, "ml.p5.48xlarge", 6, "nova_pro_1_0_p5_p4d_gpu_lora_sft", "SM-TJ-SFT-latest"),
    (Model.NOVA_PRO, TrainingMethod.SFT_FULLRANK, "ml.p5.48xlarge", 12, "nova_pro_1_0_p5_gpu_sft", "SM-TJ-SFT-latest"),
]  # fmt: skip


def capture_create_requests(clients: AwsClients) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []
    clients.sagemaker.meta.events.register(
        "provide-client-params.sagemaker.CreateTrainingJob", lambda params, **_: sent.append(dict(params))
    )
    return sent


@pytest.mark.parametrize(("model", "method", "instance_type", "count", "recipe_name", "tag"), CASES)
def test_create_training_job_request(
    account: dict[str, str],
    model: Model,
    method: TrainingMethod,
    instance_type: str,
    count: int,
    recipe_name: str,
    tag: str,
) -> None:
    clients = AwsClients(region_name="us-east-1")
    sent = capture_create_requests(clients)
    infra = SMTJRuntimeManager(instance_type, count, clients=clients)
    data = "s3://my-bucket/rft-data/" if method.is_rft else "s3://my-bucket/training-data/"
    if method.is_rft:
        rehearsal.put_jsonl(account["endpoint_url"], data + "train.jsonl", rehearsal.SAMPLE_RFT_ROWS)
    customizer = NovaModelCustomizer(model, method, infra, data_s3_path=data, output_s3_path="s3://my-bucket/output/")
    job = f"job-{recipe_name.replace('_', '-')}"[:63]
    plan = customizer.plan_training(job, rft_lambda_arn=LAMBDA if method.is_rft else None)
    assert plan.recipe.recipe_name == recipe_name

    result = customizer.train(job, rft_lambda_arn=LAMBDA if method.is_rft else None)

    assert result.job_id == job
    assert len(sent) == 1
    request = sent[0]
    assert request == plan.request  # the request that was planned is the one sent
    assert set(request) == {
        "TrainingJobName", "HyperParameters", "AlgorithmSpecification", "RoleArn", "InputDataConfig",
        "OutputDataConfig", "ResourceConfig", "StoppingCondition", "TensorBoardOutputConfig",
    }  # fmt: skip
    assert request["AlgorithmSpecification"] == {"TrainingInputMode": "File", "TrainingImage": f"{ECR}:{tag}"}
    assert request["RoleArn"] == account["role_arn"]
    assert request["ResourceConfig"] == {"InstanceType": instance_type, "InstanceCount": count, "VolumeSizeInGB": 30}
    assert request["StoppingCondition"] == {"MaxRuntimeInSeconds": 86400}
    assert request["OutputDataConfig"] == {"S3OutputPath": "s3://my-bucket/output/"}
    assert request["TensorBoardOutputConfig"] == {"S3OutputPath": "s3://my-bucket/output/"}
    data_type = "S3Prefix" if method.is_rft else "Converse"
    assert request["InputDataConfig"] == [
        {
            "ChannelName": "train",
            "DataSource": {
                "S3DataSource": {
                    "S3DataType": data_type,
                    "S3Uri": data,
                    "S3DataDistributionType": "FullyReplicated",
                }
            },
        },
        {
            "ChannelName": "recipe",
            "DataSource": {
                "S3DataSource": {
                    "S3DataType": "S3Prefix",
                    "S3Uri": f"s3://my-bucket/output/{job}/input/recipe/",
                    "S3DataDistributionType": "FullyReplicated",
                }
            },
        },
    ]
    expected_hp = {
        "sagemaker_recipe_local_path": "/opt/ml/input/data/recipe/recipe.yaml",
        "base_model": model.model_path,
    }
    if method.is_rft:
        expected_hp["reward_lambda_arn"] = LAMBDA
    assert request["HyperParameters"] == expected_hp

    # The stand-in holds the job, and the rendered recipe is kept beside the output.
    described = clients.sagemaker.describe_training_job(TrainingJobName=job)
    assert described["TrainingJobStatus"] == "InProgress"
    body = clients.s3.get_object(Bucket="my-bucket", Key=f"output/{job}/input/recipe/recipe.yaml")["Body"].read()
    assert body.decode() == plan.recipe.yaml
    recipe = yaml.safe_load(body)
    assert recipe["run"]["name"] == job
    assert recipe["run"]["model_type"] == model.model_type
    assert recipe["run"]["model_name_or_path"] == model.model_path
    if "replicas" in recipe["run"]:
        assert recipe["run"]["replicas"] == count
    if method.is_rft:
        assert recipe["run"]["reward_lambda_arn"] == LAMBDA
        assert recipe["training_config"]["rollout"]["rewards"]["api_endpoint"]["lambda_arn"] == LAMBDA


def test_validation_data_adds_a_channel_and_check_interval(account: dict[str, str]) -> None:
    clients = AwsClients(region_name="us-east-1")
    infra = SMTJRuntimeManager("ml.p5.48xlarge", 4, clients=clients)
    customizer = NovaModelCustomizer(
        Model.NOVA_LITE_2, TrainingMethod.SFT_LORA, infra, "s3://my-bucket/training-data/", "s3://my-bucket/output/"
    )
    plan = customizer.plan_training(
        "with-validation", overrides={"validation_s3_path": "s3://my-bucket/val/", "val_check_interval": 100}
    )
    channels = {c["ChannelName"]: c["DataSource"]["S3DataSource"] for c in plan.request["InputDataConfig"]}
    assert list(channels) == ["train", "validation", "recipe"]
    assert channels["validation"]["S3Uri"] == "s3://my-bucket/val/"
    assert channels["validation"]["S3DataType"] == "Converse"
    assert plan.request["HyperParameters"]["val_check_interval"] == "100"
    with pytest.raises(ValueError, match="validation_s3_path must be an s3:// URI"):
        customizer.plan_training("with-validation", overrides={"validation_s3_path": "val/"})


def test_continued_training_from_a_checkpoint_uses_base_model_location(account: dict[str, str]) -> None:
    clients = AwsClients(region_name="us-east-1")
    infra = SMTJRuntimeManager("ml.p5.48xlarge", 2, clients=clients)
    checkpoint = "s3://customer-escrow-123456789012-smtj-us-east-1/earlier-job/1/"
    customizer = NovaModelCustomizer(
        Model.NOVA_MICRO, TrainingMethod.SFT_LORA, infra, "s3://my-bucket/training-data/", model_path=checkpoint
    )
    plan = customizer.plan_training("continued")
    assert plan.request["HyperParameters"] == {
        "sagemaker_recipe_local_path": "/opt/ml/input/data/recipe/recipe.yaml",
        "base_model_location": checkpoint,
    }
    assert plan.recipe.recipe["run"]["model_name_or_path"] == checkpoint
    # no output_s3_path: the SageMaker default bucket, created by train() (not by planning) when missing
    assert plan.output_s3_path == "s3://sagemaker-us-east-1-123456789012/nova-customization/"
    with pytest.raises(ClientError):
        clients.s3.head_bucket(Bucket="sagemaker-us-east-1-123456789012")
    customizer.train("continued")
    clients.s3.head_bucket(Bucket="sagemaker-us-east-1-123456789012")
    assert customizer.output_s3_path == "s3://sagemaker-us-east-1-123456789012/nova-customization/"


def test_recipe_path_from_s3_with_overrides_on_top(account: dict[str, str]) -> None:
    clients = AwsClients(region_name="us-east-1")
    infra = SMTJRuntimeManager("ml.p5.48xlarge", 2, clients=clients)
    customizer = NovaModelCustomizer(
        Model.NOVA_MICRO, TrainingMethod.SFT_LORA, infra, "s3://my-bucket/training-data/", "s3://my-bucket/output/"
    )
    mine = customizer.plan_training("base", overrides={"max_epochs": 3}).recipe.recipe
    mine["training_config"]["model"]["optim"]["sched"]["constant_steps"] = 7  # a field no override reaches
    clients.s3.put_object(Bucket="my-bucket", Key="recipes/mine.yaml", Body=yaml.safe_dump(mine).encode())
    plan = customizer.plan_training("from-file", recipe_path="s3://my-bucket/recipes/mine.yaml", overrides={"lr": 2e-5})
    recipe = plan.recipe.recipe
    assert recipe["run"]["name"] == "from-file"
    assert recipe["training_config"]["trainer"]["max_epochs"] == 3
    assert recipe["training_config"]["model"]["optim"]["lr"] == 2e-5
    assert recipe["training_config"]["model"]["optim"]["sched"]["constant_steps"] == 7
    assert plan.recipe.source == "s3://my-bucket/recipes/mine.yaml"
