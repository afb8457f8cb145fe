"""Retrain Nova Micro every week and deploy the new model only when it beats the deployed one.

prepare -> train -> evaluate the deployed model, then the new checkpoint on the same benchmark
with the deployed one's scores as its baseline (its "Evaluation report" compares the two) ->
deploy when the new score beats the old by the ``margin`` Param -> batch inference with the
model that is deployed now. The provider's "Nova retraining" page in the Airflow UI charts the
scores over the runs.

The tasks reach AWS through the ``aws_default`` connection (its region, credentials or role,
and, for the local stand-in, its ``endpoint_url``). The waits defer to the triggerer, so no
worker slot is held while SageMaker trains. The DAG file imports only Airflow and the provider's
operators: it parses with no AWS credentials and no network.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import Asset, Param, dag, task
from airflow.sdk.bases.operator import chain

from airflow_provider_nova.operators import (
    NovaBatchInferenceOperator,
    NovaDeployOperator,
    NovaEvaluateOperator,
    NovaPrepareDatasetOperator,
    NovaTrainOperator,
)

BUCKET = "s3://my-bucket"
CHECKPOINTS = Asset(f"{BUCKET}/nova/checkpoints/support-bot", extra={"model": "NOVA_MICRO"})
DEPLOYED = Asset("bedrock://support-bot", extra={"model": "NOVA_MICRO"})
PREPARED = Asset(f"{BUCKET}/nova/prepared/support-bot")
CHECKPOINT = "{{ ti.xcom_pull(task_ids='train')['checkpoint_s3_path'] }}"
# The checkpoint deployed before this run (empty on the first run: the base model), and after the decision.
DEPLOYED_BEFORE = "{{ ti.xcom_pull(task_ids='decide', key='deployed_checkpoint', include_prior_dates=True) or '' }}"
DEPLOYED_NOW = "{{ ti.xcom_pull(task_ids='decide', key='deployed_checkpoint') or '' }}"
COMMON: dict[str, Any] = {
    "model": "NOVA_MICRO",
    "instance_type": "{{ params.instance_type }}",
    "poll_interval": "{{ params.poll_interval }}",
    "deferrable": True,
}


@dag(
    dag_id="nova_weekly_retraining",
    schedule="@weekly",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=5)},
    tags=["nova", "sagemaker", "bedrock"],
    params={
        "raw_data": Param(f"{BUCKET}/raw/support-conversations.jsonl", type="string"),
        "instance_type": Param("ml.p5.48xlarge", type="string"),
        "instance_count": Param(2, type="integer", minimum=1),
        "max_epochs": Param(2, type="integer", minimum=1),
        "learning_rate": Param(5e-6, type="number", exclusiveMinimum=0),
        "eval_task": Param("MMLU", type="string"),
        "metric": Param("accuracy", type="string"),
        "margin": Param(0.01, type="number", description="deploy only when the new score beats the old by this"),
        "poll_interval": Param(60, type="number", exclusiveMinimum=0),
    },
)
def nova_weekly_retraining() -> None:
    prepare = NovaPrepareDatasetOperator(
        task_id="prepare",
        source_path="{{ params.raw_data }}",
        model="NOVA_MICRO",
        method="SFT_LORA",
        output_s3_path=f"{BUCKET}/nova/prepared/support-bot/",
        outlets=[PREPARED],
    )
    train = NovaTrainOperator(
        task_id="train",
        method="SFT_LORA",
        instance_count="{{ params.instance_count }}",
        data_s3_path="{{ ti.xcom_pull(task_ids='prepare')['train_s3_path'] }}",
        output_s3_path=f"{BUCKET}/nova/output/",
        overrides={"max_epochs": "{{ params.max_epochs }}", "lr": "{{ params.learning_rate }}"},
        outlets=[CHECKPOINTS],
        **COMMON,
    )
    evaluate_deployed = NovaEvaluateOperator(
        task_id="evaluate_deployed",
        eval_task="{{ params.eval_task }}",
        model_path=DEPLOYED_BEFORE,  # the base model on the first run
        output_s3_path=f"{BUCKET}/nova/eval/",
        **COMMON,
    )
    evaluate_new = NovaEvaluateOperator(
        task_id="evaluate_new",
        eval_task="{{ params.eval_task }}",
        model_path=CHECKPOINT,
        output_s3_path=f"{BUCKET}/nova/eval/",
        baseline=evaluate_deployed.output,  # the report compares the new checkpoint with the deployed model
        **COMMON,
    )

    @task.branch
    def decide(
        new: dict[str, Any], deployed: dict[str, Any], train: dict[str, Any], params: dict[str, Any], ti: Any
    ) -> str:
        """Deploy when the new checkpoint's score beats the deployed model's by the margin."""
        metric = params["metric"]
        new_score = float(new["metrics"]["results"]["all"][metric])
        old_score = float(deployed["metrics"]["results"]["all"][metric])
        better = new_score >= old_score + float(params["margin"])
        print(f"{metric}: new {new_score:.4f}, deployed {old_score:.4f}, margin {params['margin']}: deploy={better}")
        before = ti.xcom_pull(task_ids="decide", key="deployed_checkpoint", include_prior_dates=True) or ""
        ti.xcom_push(key="scores", value={"metric": metric, "new": new_score, "deployed": old_score, "deploy": better})
        ti.xcom_push(key="deployed_checkpoint", value=train["checkpoint_s3_path"] if better else before)
        return "deploy" if better else "keep_deployed"

    @task
    def keep_deployed() -> None:
        """The deployed model stays; nothing to do."""

    deploy = NovaDeployOperator(
        task_id="deploy",
        model="NOVA_MICRO",
        deploy_platform="BEDROCK_OD",
        endpoint_name="support-bot-{{ dag_run.run_after.strftime('%Y%m%d-%H%M%S') }}",  # one per run, same on retry
        model_artifact_path=CHECKPOINT,
        poll_interval="{{ params.poll_interval }}",
        deferrable=True,
        outlets=[DEPLOYED],
    )
    batch = NovaBatchInferenceOperator(
        task_id="batch_inference",
        input_path=f"{BUCKET}/nova/batch/prompts.jsonl",
        output_s3_path=f"{BUCKET}/nova/batch/output/",
        model_path=DEPLOYED_NOW,
        trigger_rule="none_failed_min_one_success",
        **COMMON,
    )
    decision = decide(evaluate_new.output, evaluate_deployed.output, train.output)
    chain(prepare, train, [evaluate_new, evaluate_deployed], decision, [deploy, keep_deployed()], batch)


nova_weekly_retraining()
