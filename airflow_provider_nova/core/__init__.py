"""The Nova customization SDK: framework-free (never imports Airflow), one curated namespace.

Every example of the Nova Customization SDK runs with its imports pointed here::

    from airflow_provider_nova.core import NovaModelCustomizer, Model, TrainingMethod, SMTJRuntimeManager
"""

from __future__ import annotations

from airflow_provider_nova.core.aws import AwsClients
from airflow_provider_nova.core.customizer import NovaModelCustomizer
from airflow_provider_nova.core.datasets import CSVDatasetLoader, DatasetLoader, JSONDatasetLoader, JSONLDatasetLoader
from airflow_provider_nova.core.deploy import DeploymentError, DeploymentResult, EndpointInfo
from airflow_provider_nova.core.enums import (
    DeployPlatform,
    EvaluationTask,
    JobStatus,
    Model,
    Platform,
    TrainingMethod,
    Version,
)
from airflow_provider_nova.core.errors import (
    AwsCallError,
    ConfigurationError,
    DataPrepError,
    JobFailedError,
    NovaError,
    RecipeError,
    UnknownStatusError,
    UnsupportedError,
    WaitTimeoutError,
)
from airflow_provider_nova.core.job_outputs import (
    BatchInferenceResult,
    EvaluationResult,
    SMHPBatchInferenceResult,
    SMHPEvaluationResult,
    SMTJBatchInferenceResult,
    SMTJEvaluationResult,
)
from airflow_provider_nova.core.results import BaseJobResult, ModelArtifacts, TrainingResult
from airflow_provider_nova.core.runtimes import RuntimeManager, SMHPRuntimeManager, SMTJRuntimeManager

__all__ = [
    "AwsCallError",
    "AwsClients",
    "BaseJobResult",
    "BatchInferenceResult",
    "CSVDatasetLoader",
    "ConfigurationError",
    "DataPrepError",
    "DatasetLoader",
    "DeployPlatform",
    "DeploymentError",
    "DeploymentResult",
    "EndpointInfo",
    "EvaluationResult",
    "EvaluationTask",
    "JSONDatasetLoader",
    "JSONLDatasetLoader",
    "JobFailedError",
    "JobStatus",
    "Model",
    "ModelArtifacts",
    "NovaError",
    "NovaModelCustomizer",
    "Platform",
    "RecipeError",
    "RuntimeManager",
    "SMHPBatchInferenceResult",
    "SMHPEvaluationResult",
    "SMHPRuntimeManager",
    "SMTJBatchInferenceResult",
    "SMTJEvaluationResult",
    "SMTJRuntimeManager",
    "TrainingMethod",
    "TrainingResult",
    "UnknownStatusError",
    "UnsupportedError",
    "Version",
    "WaitTimeoutError",
]
