"""Fine-tune Nova Micro with LoRA on a SageMaker HyperPod cluster, then score the checkpoint on MMLU there.

train (SFT LoRA on 4 x ml.p5.48xlarge) -> evaluate (MMLU on the trained checkpoint, 1 x ml.p5.48xlarge).

Each task renders its Nova recipe into a ConfigMap and a Kubeflow PyTorchJob and creates them in
the ``namespace`` Param's namespace of the EKS-orchestrated HyperPod cluster ``cluster_name``,
through the cluster's Kubernetes API, with a token made from the ``aws_default`` connection's
credentials: no HyperPod CLI, Helm or kubeconfig on the workers. Both waits defer to the triggerer.
The jobs are named after the DAG, the run and the task (lower case, as Kubernetes names must be), so
a retried task finds its job again instead of starting a second one.

What must be set up first (README, section "SageMaker HyperPod"):

- a HyperPod cluster orchestrated by Amazon EKS, with a restricted instance group of
  ml.p5.48xlarge (4 instances for the training) and the Kubeflow training operator installed;
- the namespace, and an EKS access entry for the connection's IAM identity with RBAC in that
  namespace to create, read and delete ConfigMaps and PyTorchJobs and to read pods and their logs;
- S3 locations for the data and the outputs that the instance group's role can read and write.

To wait on a HyperPod job started some other way (the HyperPod CLI, another DAG), use
``NovaJobSensor(platform="SMHP", job_name=..., cluster_name=..., namespace=...)``.

The DAG file imports only Airflow and the provider's operators: it parses with no AWS credentials
and no network.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from airflow.sdk import Param, dag

from airflow_provider_nova.operators import NovaEvaluateOperator, NovaTrainOperator

HYPERPOD: dict[str, Any] = {
    "model": "NOVA_MICRO",
    "instance_type": "ml.p5.48xlarge",
    "cluster_name": "{{ params.cluster_name }}",
    "namespace": "{{ params.namespace }}",
    "poll_interval": "{{ params.poll_interval }}",
    "deferrable": True,
}


@dag(
    dag_id="nova_hyperpod_training",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["nova", "sagemaker", "hyperpod"],
    params={
        "cluster_name": Param("nova-hp", type="string", description="the EKS-orchestrated HyperPod cluster"),
        "namespace": Param("nova-jobs", type="string", description="the Kubernetes namespace the jobs run in"),
        "data_s3_path": Param("s3://my-bucket/training-data/train.jsonl", type="string"),
        "output_s3_path": Param("s3://my-bucket/hyperpod/output/", type="string"),
        "eval_output_s3_path": Param("s3://my-bucket/hyperpod/eval/", type="string"),
        "max_epochs": Param(2, type="integer", minimum=1),
        "poll_interval": Param(60, type="number", exclusiveMinimum=0),
    },
)
def nova_hyperpod_training() -> None:
    train = NovaTrainOperator(
        task_id="train",
        method="SFT_LORA",
        instance_count=4,
        data_s3_path="{{ params.data_s3_path }}",
        output_s3_path="{{ params.output_s3_path }}",
        overrides={"max_epochs": "{{ params.max_epochs }}"},
        **HYPERPOD,
    )
    evaluate = NovaEvaluateOperator(
        task_id="evaluate",
        eval_task="MMLU",
        model_path="{{ ti.xcom_pull(task_ids='train')['checkpoint_s3_path'] }}",
        instance_count=1,
        output_s3_path="{{ params.eval_output_s3_path }}",
        **HYPERPOD,
    )
    train >> evaluate


nova_hyperpod_training()
