"""Retrain when new data lands: one DAG prepares the data, the other is scheduled on what it emits.

``nova_prepare_support_data`` converts the raw conversations to Nova's training format, splits
them and writes them to S3; its task emits the ``PREPARED`` Asset with the row counts in the
event's extra. ``nova_retrain_on_new_data`` is scheduled on that Asset: each new event starts a
training run on the data it names, and its checkpoint is emitted as an Asset in turn.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import Asset, Param, dag

from airflow_provider_nova.operators import NovaPrepareDatasetOperator, NovaTrainOperator

BUCKET = "s3://my-bucket"
PREPARED = Asset(f"{BUCKET}/nova/prepared/support-bot")
CHECKPOINTS = Asset(f"{BUCKET}/nova/checkpoints/support-bot")
EVENT = "(triggering_asset_events.values() | first | last).extra"  # the newest event of the one Asset


@dag(
    dag_id="nova_prepare_support_data",
    schedule=None,  # triggered when raw data lands: by the system that writes it, or `airflow dags trigger`
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["nova", "data"],
    params={"raw_data": Param(f"{BUCKET}/raw/support-conversations.jsonl", type="string")},
)
def nova_prepare_support_data() -> None:
    NovaPrepareDatasetOperator(
        task_id="prepare",
        source_path="{{ params.raw_data }}",
        model="NOVA_MICRO",
        method="SFT_LORA",
        output_s3_path=PREPARED.uri + "/",
        outlets=[PREPARED],
    )


@dag(
    dag_id="nova_retrain_on_new_data",
    schedule=PREPARED,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["nova", "sagemaker"],
)
def nova_retrain_on_new_data() -> None:
    NovaTrainOperator(
        task_id="train",
        model="NOVA_MICRO",
        method="SFT_LORA",
        instance_type="ml.p5.48xlarge",
        instance_count=2,
        data_s3_path="{{ " + EVENT + "['train_s3_path'] }}",
        output_s3_path=f"{BUCKET}/nova/output/",
        overrides={"max_epochs": 2},
        deferrable=True,
        outlets=[CHECKPOINTS],
    )


nova_prepare_support_data()
nova_retrain_on_new_data()
