"""The spec's "Complete Usage Example", end to end on the stand-in, in one test.

It is the spec's code with the imports pointed at the core, plus three changes the published
service needs, each marked ``# spec:``:
- ``DeployPlatform`` is imported (the spec's example uses it without importing it);
- 2 instances instead of 1 (Nova Micro LoRA SFT on ml.p5.48xlarge allows 2, 4 or 8; the test
  checks that 1 fails first);
- the training job is waited for before evaluating its checkpoint, which exists only then;
  likewise the evaluation before ``get()`` ("Wait for completion" in the spec's comment).
"""

from __future__ import annotations

import re

import pytest

RAW = [
    {"question": f"How do I reset my password? (ticket {i})", "answer": "Settings > Security > Reset."}
    for i in range(50)
]


def test_complete_usage_example(account: dict[str, str], control: object, capsys: pytest.CaptureFixture[str]) -> None:
    from airflow_provider_nova.sandbox import rehearsal

    rehearsal.put_jsonl(account["endpoint_url"], "s3://my-bucket/raw-data.jsonl", RAW)
    control.set_job_seconds(0.5)  # type: ignore[attr-defined]
    control.set_bedrock_seconds(0.2)  # type: ignore[attr-defined]
    try:
        run_example(capsys)
    finally:
        control.set_job_seconds(3600)  # type: ignore[attr-defined]


def run_example(capsys: pytest.CaptureFixture[str]) -> None:
    from airflow_provider_nova.core import DeployPlatform  # noqa: I001 - spec: missing import; the rest as the spec writes them
    from airflow_provider_nova.core import NovaModelCustomizer
    from airflow_provider_nova.core import Model, TrainingMethod
    from airflow_provider_nova.core import SMTJRuntimeManager
    from airflow_provider_nova.core import JSONLDatasetLoader
    from airflow_provider_nova.core import EvaluationTask

    # 1. Prepare dataset
    loader = JSONLDatasetLoader()
    loader.load("s3://my-bucket/raw-data.jsonl")
    loader.transform(method=TrainingMethod.SFT_LORA, model=Model.NOVA_MICRO)
    # Split into train/val/test
    train, val, test = loader.split_data(train_ratio=0.8, val_ratio=0.1, test_ratio=0.1)
    train.save_data("s3://my-bucket/train.jsonl")
    val.save_data("s3://my-bucket/val.jsonl")
    # 2. Set up infrastructure
    with pytest.raises(ValueError, match=r"instance_count 1 is not allowed .* allowed counts: 2, 4, 8"):
        NovaModelCustomizer(
            model=Model.NOVA_MICRO, method=TrainingMethod.SFT_LORA,
            infra=SMTJRuntimeManager(instance_type="ml.p5.48xlarge", instance_count=1),
            data_s3_path="s3://my-bucket/train.jsonl", output_s3_path="s3://my-bucket/output/",
        ).validate(job_name="my-training-job")  # fmt: skip
    infra = SMTJRuntimeManager(
        instance_type="ml.p5.48xlarge",
        instance_count=2,  # spec: 1
    )
    # 3. Initialize customizer
    customizer = NovaModelCustomizer(
        model=Model.NOVA_MICRO,
        method=TrainingMethod.SFT_LORA,
        infra=infra,
        data_s3_path="s3://my-bucket/train.jsonl",
        output_s3_path="s3://my-bucket/output/",
    )
    # 4. Train model
    training_result = customizer.train(
        job_name="my-training-job", overrides={"max_epochs": 5, "lr": 5e-6, "global_batch_size": 64}
    )
    # Monitor logs
    customizer.get_logs(limit=50)
    training_result.wait_for_completion(poll_seconds=0.1, timeout_seconds=60)  # spec: wait for the checkpoint
    # 5. Evaluate model
    eval_result = customizer.evaluate(
        job_name="my-eval-job",
        eval_task=EvaluationTask.MMLU,
        model_path=training_result.model_artifacts.checkpoint_s3_path,
    )
    # Wait for completion and get results
    eval_result.wait_for_completion(poll_seconds=0.1, timeout_seconds=60)  # spec: "Wait for completion"
    results = eval_result.get()
    eval_result.show()
    # 6. Deploy model
    deployment = customizer.deploy(
        model_artifact_path=training_result.model_artifacts.checkpoint_s3_path,
        deploy_platform=DeployPlatform.BEDROCK_OD,
        endpoint_name="my-custom-model",
        poll_seconds=0.1,  # spec: the default polls every 30 s
    )
    print(f"Model deployed at: {deployment.endpoint.uri}")

    out = capsys.readouterr().out
    checkpoint = training_result.model_artifacts.checkpoint_s3_path
    assert checkpoint is not None and checkpoint.startswith(
        "s3://customer-escrow-123456789012-smtj-us-east-1/my-training-job/"
    )
    assert "training job my-training-job started" in out
    recipe = customizer.plan_evaluation("check", EvaluationTask.MMLU, model_path=checkpoint).recipe.recipe
    assert recipe["run"]["model_name_or_path"] == checkpoint
    assert 0 < results["results"]["all"]["accuracy"] < 1
    assert "MMLU evaluation my-eval-job" in out
    assert deployment.status == "Active" and deployment.endpoint_name == "my-custom-model"
    assert deployment.model_artifact_path == checkpoint
    assert re.search(r"Model deployed at: arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/\w+", out)
