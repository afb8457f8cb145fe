"""Two one-task DAGs for the reliability tests: a training job waited on by the worker, or deferred.

Both retry once, two seconds later, and poll every second; the stand-in decides how long a job runs.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import DAG

from airflow_provider_nova.operators import NovaTrainOperator

for dag_id, deferrable in (("nova_wait_in_worker", False), ("nova_wait_deferred", True)):
    with DAG(
        dag_id=dag_id,
        schedule=None,
        start_date=datetime(2025, 1, 1),
        catchup=False,
        default_args={"retries": 1, "retry_delay": timedelta(seconds=2)},
    ):
        NovaTrainOperator(
            task_id="train",
            model="NOVA_MICRO",
            method="SFT_LORA",
            instance_type="ml.p5.48xlarge",
            instance_count=2,
            data_s3_path="s3://my-bucket/training-data/",
            output_s3_path="s3://my-bucket/output/",
            poll_interval=1,
            deferrable=deferrable,
        )
