"""Dataset loaders: prepare JSONL, JSON or CSV data for Nova training and evaluation.

::

    from airflow_provider_nova.core.datasets import JSONLDatasetLoader
    from airflow_provider_nova.core.enums import Model, TrainingMethod

    loader = JSONLDatasetLoader(question="user_query", answer="bot_response")
    loader.load("s3://my-bucket/raw.jsonl").transform(TrainingMethod.SFT_LORA, Model.NOVA_LITE_2)
    train, val, test = loader.split_data(0.8, 0.1, 0.1, seed=42)
    train.save_data("s3://my-bucket/train.jsonl")
"""

from __future__ import annotations

from airflow_provider_nova.core.datasets.loader import (
    CSVDatasetLoader,
    DatasetLoader,
    JSONDatasetLoader,
    JSONLDatasetLoader,
)
from airflow_provider_nova.core.datasets.transform import STANDARD_COLUMNS

__all__ = ["STANDARD_COLUMNS", "CSVDatasetLoader", "DatasetLoader", "JSONDatasetLoader", "JSONLDatasetLoader"]
