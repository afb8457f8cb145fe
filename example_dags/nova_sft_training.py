"""Fine-tune Nova Micro with LoRA on SageMaker Training Jobs, then wait for the checkpoint.

Runs against AWS through the ``aws_default`` connection, or against the local stand-in when that
connection's extra sets ``endpoint_url``. Until the provider's operators land, the tasks call the
framework-free core directly; the DAG file itself imports only Airflow at parse time.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import Param, dag, task

POLL = timedelta(seconds=30)


def _clients(aws_conn_id: str) -> Any:
    from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

    from airflow_provider_nova.core import AwsClients

    hook = AwsBaseHook(aws_conn_id=aws_conn_id)
    return AwsClients(
        session=hook.get_session(), region_name=hook.region_name, endpoint_url=hook.conn_config.endpoint_url
    )


@dag(
    dag_id="nova_sft_training",
    schedule=None,
    start_date=datetime(2025, 1, 1),
    catchup=False,
    tags=["nova", "sagemaker"],
    params={
        "data_s3_path": Param("s3://my-bucket/training-data/", type="string"),
        "output_s3_path": Param("s3://my-bucket/output/", type="string"),
        "instance_type": Param("ml.p5.48xlarge", type="string"),
        "instance_count": Param(2, type="integer", minimum=1),
        "overrides": Param({"max_epochs": 2, "lr": 5e-6}, type="object"),
        "poll_seconds": Param(30, type="integer", minimum=1),
    },
)
def nova_sft_training() -> None:
    @task
    def train(params: dict[str, Any], run_id: str, aws_conn_id: str = "aws_default") -> dict[str, Any]:
        from airflow_provider_nova.core import Model, NovaModelCustomizer, SMTJRuntimeManager, TrainingMethod

        clients = _clients(aws_conn_id)
        infra = SMTJRuntimeManager(params["instance_type"], params["instance_count"], clients=clients)
        customizer = NovaModelCustomizer(
            Model.NOVA_MICRO, TrainingMethod.SFT_LORA, infra, params["data_s3_path"], params["output_s3_path"]
        )
        job_name = "nova-sft-" + "".join(ch if ch.isalnum() else "-" for ch in run_id)[-50:].strip("-")
        return customizer.train(job_name, overrides=params["overrides"]).model_dump(mode="json")

    @task
    def wait_for_checkpoint(result: dict[str, Any], params: dict[str, Any], aws_conn_id: str = "aws_default") -> str:
        import time

        from airflow_provider_nova.core import JobFailedError, JobStatus, TrainingResult

        training = TrainingResult.model_validate(result).with_clients(_clients(aws_conn_id))
        while True:
            status, raw = training.get_job_status()
            print(f"{training.job_id}: {raw}")
            if status is JobStatus.COMPLETED:
                return str(training.model_artifacts.checkpoint_s3_path)  # type: ignore[attr-defined]
            if status is JobStatus.FAILED:
                raise JobFailedError(training.job_id, raw)
            time.sleep(params["poll_seconds"])

    wait_for_checkpoint(train())


nova_sft_training()
