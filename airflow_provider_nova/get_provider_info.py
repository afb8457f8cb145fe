"""Provider metadata for Airflow's provider discovery (the ``apache_airflow_provider`` entry point)."""

from __future__ import annotations

from typing import Any


def get_provider_info() -> dict[str, Any]:
    """Return the plain dict Airflow reads to list this provider."""
    from airflow_provider_nova import __version__

    return {
        "package-name": "airflow-provider-nova",
        "name": "Amazon Nova customization",
        "description": "Fine-tune, evaluate and deploy Amazon Nova models on SageMaker and Bedrock from Airflow DAGs.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": "Amazon Nova customization",
                "external-doc-url": "https://docs.aws.amazon.com/sagemaker/latest/dg/nova-model.html",
                "tags": ["aws"],
            }
        ],
    }
