"""``make demo``: the SDK's SMTJ training example, rehearsed on the local stand-in (not AWS).

Starts the stand-in, gives its account a bucket with training data and a role (the demo runs as
that role, as an Airflow worker would), then fine-tunes Nova Micro with LoRA and prints the job
id, each status change, the checkpoint path and the job's log lines.
"""

from __future__ import annotations

import argparse
import os
import time

from airflow_provider_nova.sandbox import rehearsal
from airflow_provider_nova.sandbox.server import BANNER, NovaSandbox

DATA = "s3://my-bucket/training-data/train.jsonl"


def run(endpoint_url: str, poll_seconds: float = 1.0, timeout: float = 120.0) -> str:
    """Run the training example against ``endpoint_url``; returns the checkpoint path."""
    rehearsal.use_stand_in(endpoint_url)
    rehearsal.put_jsonl(endpoint_url, DATA, rehearsal.SAMPLE_SFT_ROWS)
    role_arn = rehearsal.create_role(endpoint_url, "NovaCustomizationRole")
    os.environ.update(rehearsal.assume_role_env(endpoint_url, role_arn))

    from airflow_provider_nova.core import Model, NovaModelCustomizer, SMTJRuntimeManager, TrainingMethod

    infra = SMTJRuntimeManager(instance_type="ml.p5.48xlarge", instance_count=2)
    customizer = NovaModelCustomizer(
        model=Model.NOVA_MICRO,
        method=TrainingMethod.SFT_LORA,
        infra=infra,
        data_s3_path="s3://my-bucket/training-data/",
        output_s3_path="s3://my-bucket/output/",
    )
    overrides = {"max_epochs": 10, "lr": 5e-6, "warmup_steps": 20, "global_batch_size": 128}
    try:
        customizer.validate(job_name="my-training-job", overrides=overrides)
    except ValueError as exc:
        print(f"validate() caught before any job started: {exc}")
    overrides["global_batch_size"] = 64
    result = customizer.train(job_name="my-training-job", overrides=overrides)
    print(f"Training job started: {result.job_id}")
    last = None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, raw = result.get_job_status()
        if raw != last:
            print(f"  status: {raw} ({status.value})")
            last = raw
        if status.is_terminal:
            break
        time.sleep(poll_seconds)
    print(f"Checkpoint path: {result.model_artifacts.checkpoint_s3_path}")
    print("Job logs:")
    customizer.get_logs(limit=50, start_from_head=True)
    return str(result.model_artifacts.checkpoint_s3_path)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m airflow_provider_nova.sandbox.demo", description=__doc__)
    parser.add_argument("--endpoint-url", help="a stand-in already running (default: start one here)")
    parser.add_argument("--job-seconds", type=float, default=6.0, help="how long the job runs on the stand-in")
    args = parser.parse_args(argv)
    print(BANNER)
    if args.endpoint_url:
        run(args.endpoint_url)
        return
    with NovaSandbox(job_seconds=args.job_seconds) as sandbox:
        print(f"stand-in listening on {sandbox.endpoint_url}")
        run(sandbox.endpoint_url)


if __name__ == "__main__":
    main()
