"""OpenLineage datasets for Nova tasks, when the OpenLineage provider is installed.

Datasets are named as the OpenLineage naming spec names them: an S3 object is namespace
``s3://{bucket}``, name ``{key}``; an AWS resource addressed by ARN is namespace
``arn:{partition}:{service}:{region}:{account id}``, name ``{resource}`` (the spec's pattern for AWS
Glue tables), so a Bedrock custom model is ``arn:aws:bedrock:us-east-1:123456789012`` +
``custom-model/...``. Importing this module imports nothing beyond the standard library.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors.base import OperatorLineage

log = logging.getLogger(__name__)


def dataset_name(uri: str) -> tuple[str, str] | None:
    """The OpenLineage ``(namespace, name)`` of an ``s3://`` URI or an AWS ARN; ``None`` for anything else.

    A trailing ``/`` is dropped from an S3 key so that a prefix names one dataset; the bucket itself is ``/``.
    """
    if uri.startswith("s3://"):
        bucket, _, key = uri[len("s3://") :].partition("/")
        return (f"s3://{bucket}", key.rstrip("/") or "/") if bucket else None
    parts = uri.split(":", 5)
    if len(parts) == 6 and parts[0] == "arn" and all(parts[1:3]) and parts[5]:
        return ":".join(parts[:5]), parts[5]
    return None


def operator_lineage(inputs: list[str], outputs: list[str]) -> OperatorLineage | None:
    """What a task read and wrote, for ``get_openlineage_facets_on_*``; ``None`` without the OpenLineage provider.

    :param inputs: S3 URIs (or ARNs) the task read, e.g. the training dataset.
    :param outputs: S3 URIs and ARNs the task wrote, e.g. the checkpoint and the Bedrock custom model.
        A value that is neither an S3 URI nor an ARN is left out.
    """
    try:
        from airflow.providers.openlineage.extractors.base import OperatorLineage
    except ImportError:
        return None
    from airflow.providers.common.compat.openlineage.facet import Dataset

    return OperatorLineage(inputs=_datasets(inputs, Dataset), outputs=_datasets(outputs, Dataset))


def _datasets(uris: list[str], dataset: Any) -> list[Any]:
    found = []
    for uri in uris:
        name = dataset_name(uri)
        if name is None:
            log.debug("No OpenLineage dataset for %r: neither an s3:// URI nor an ARN", uri)
            continue
        found.append(dataset(namespace=name[0], name=name[1]))
    return found
