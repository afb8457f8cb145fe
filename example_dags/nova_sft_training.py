"""Fine-tune Nova Micro with LoRA on SageMaker Training Jobs: the smallest DAG that trains.

Runs against AWS through the ``aws_default`` connection, or against the local stand-in when that
connection's extra sets ``endpoint_url``. The wait defers to the triggerer when ``deferrable`` is
on (the ``[operators] default_deferrable`` setting by default).
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import Param, dag

from airflow_provider_nova.operators import NovaTrainOperator


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
        "poll_seconds": Param(30, type="number", exclusiveMinimum=0),
    },
    render_template_as_native_obj=True,
)
def nova_sft_training() -> None:
    NovaTrainOperator(
        task_id="train",
        model="NOVA_MICRO",
        method="SFT_LORA",
        instance_type="{{ params.instance_type }}",
        instance_count="{{ params.instance_count }}",
        data_s3_path="{{ params.data_s3_path }}",
        output_s3_path="{{ params.output_s3_path }}",
        overrides="{{ params.overrides }}",
        poll_interval="{{ params.poll_seconds }}",
    )


nova_sft_training()
