"""SageMaker HyperPod (EKS): the Kubernetes objects of a Nova job, rendered without Helm."""

from __future__ import annotations

from airflow_provider_nova.core.hyperpod.manifests import (
    JOB_LABEL,
    MANAGED_BY,
    ChartValues,
    config_map_name,
    efa_count,
    gpu_count,
    is_evaluation,
    job_labels,
    label_selector,
    recipe_devices,
    render,
)

__all__ = [
    "JOB_LABEL",
    "MANAGED_BY",
    "ChartValues",
    "config_map_name",
    "efa_count",
    "gpu_count",
    "is_evaluation",
    "job_labels",
    "label_selector",
    "recipe_devices",
    "render",
]
