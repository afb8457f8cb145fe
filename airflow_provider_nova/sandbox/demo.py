"""``make demo``: the Nova SDK's complete usage example, rehearsed on the local stand-in (not AWS).

Starts the stand-in, gives its account raw chat data in ``s3://my-bucket`` and a role (the demo
runs as that role, as an Airflow worker would), then: prepares the dataset, fine-tunes Nova Micro
with LoRA on SageMaker Training Jobs (printing the job id, each status change and the checkpoint),
evaluates the checkpoint on MMLU, and deploys it to Bedrock on demand. ``--only-train`` stops
after training.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

from airflow_provider_nova.sandbox import rehearsal
from airflow_provider_nova.sandbox.server import BANNER, NovaSandbox

RAW = [
    {"question": f"How do I reset my password? (ticket {i})", "answer": "Settings > Security > Reset."}
    for i in range(50)
]


def follow(result: Any, poll_seconds: float, timeout: float = 120.0) -> None:
    """Print each status change of a job until it ends."""
    last, deadline = None, time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, raw = result.get_job_status()
        secondary = result.clients.sagemaker.describe_training_job(TrainingJobName=result.job_id)["SecondaryStatus"]
        if (raw, secondary) != last:
            print(f"  status: {raw} / {secondary} ({status.value})")
            last = (raw, secondary)
        if status.is_terminal:
            return
        time.sleep(poll_seconds)
    raise TimeoutError(f"{result.job_id} did not finish in {timeout:g}s")


def run(endpoint_url: str, poll_seconds: float = 0.5, only_train: bool = False) -> str:
    """Run the example against ``endpoint_url``; returns the checkpoint path."""
    rehearsal.use_stand_in(endpoint_url)
    rehearsal.put_jsonl(endpoint_url, "s3://my-bucket/raw-data.jsonl", RAW)
    role_arn = rehearsal.create_role(endpoint_url, "NovaCustomizationRole")
    os.environ.update(rehearsal.assume_role_env(endpoint_url, role_arn))

    from airflow_provider_nova.core import (
        DeployPlatform,
        EvaluationTask,
        JSONLDatasetLoader,
        Model,
        NovaModelCustomizer,
        SMTJRuntimeManager,
        TrainingMethod,
    )

    print("1. Prepare dataset")
    loader = JSONLDatasetLoader()
    loader.load("s3://my-bucket/raw-data.jsonl")
    loader.transform(method=TrainingMethod.SFT_LORA, model=Model.NOVA_MICRO)
    train, val, test = loader.split_data(train_ratio=0.8, val_ratio=0.1, test_ratio=0.1)
    print(f"   {len(train)} train / {len(val)} validation / {len(test)} test rows")
    train.save_data("s3://my-bucket/train.jsonl")
    val.save_data("s3://my-bucket/val.jsonl")

    print("2-3. Infrastructure and customizer (2 x ml.p5.48xlarge: the published recipe allows 2, 4 or 8)")
    infra = SMTJRuntimeManager(instance_type="ml.p5.48xlarge", instance_count=2)
    customizer = NovaModelCustomizer(
        model=Model.NOVA_MICRO,
        method=TrainingMethod.SFT_LORA,
        infra=infra,
        data_s3_path="s3://my-bucket/train.jsonl",
        output_s3_path="s3://my-bucket/output/",
    )
    overrides = {"max_epochs": 5, "lr": 5e-6, "global_batch_size": 128}
    try:  # the published enum for this recipe is 64, 128, 256, 512, 1024
        customizer.validate(job_name="my-training-job", overrides={**overrides, "global_batch_size": 100})
    except ValueError as exc:
        print(f"   validate() caught before any job started: {exc}")

    print("4. Train model")
    training_result = customizer.train(job_name="my-training-job", overrides=overrides)
    print(f"Training job started: {training_result.job_id}")
    follow(training_result, poll_seconds)
    checkpoint = str(training_result.model_artifacts.checkpoint_s3_path)
    print(f"Checkpoint path: {checkpoint}")
    customizer.get_logs(limit=50)
    if only_train:
        return checkpoint

    print("5. Evaluate model")
    eval_result = customizer.evaluate(job_name="my-eval-job", eval_task=EvaluationTask.MMLU, model_path=checkpoint)
    print(f"Evaluation job started: {eval_result.job_id}")
    follow(eval_result, poll_seconds)
    eval_result.get()
    eval_result.show()

    print("6. Deploy model")
    deployment = customizer.deploy(
        model_artifact_path=checkpoint,
        deploy_platform=DeployPlatform.BEDROCK_OD,
        endpoint_name="my-custom-model",
        poll_seconds=poll_seconds,
    )
    print(f"Model deployed at: {deployment.endpoint.uri} ({deployment.status})")
    return checkpoint


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m airflow_provider_nova.sandbox.demo", description=__doc__)
    parser.add_argument("--endpoint-url", help="a stand-in already running (default: start one here)")
    parser.add_argument("--job-seconds", type=float, default=4.0, help="how long each job runs on the stand-in")
    parser.add_argument("--only-train", action="store_true", help="stop after the training job")
    args = parser.parse_args(argv)
    print(BANNER)
    if args.endpoint_url:
        run(args.endpoint_url, only_train=args.only_train)
        return
    with NovaSandbox(job_seconds=args.job_seconds, bedrock_seconds=args.job_seconds / 2) as sandbox:
        print(f"stand-in listening on {sandbox.endpoint_url}")
        run(sandbox.endpoint_url, only_train=args.only_train)


if __name__ == "__main__":
    main()
