"""Provider metadata for Airflow's provider discovery (the ``apache_airflow_provider`` entry point)."""

from __future__ import annotations

from typing import Any

INTEGRATION = "Amazon Nova customization"


def get_provider_info() -> dict[str, Any]:
    """Return the plain dict Airflow reads to list this provider."""
    from airflow_provider_nova import __version__

    def modules(kind: str, *names: str) -> list[dict[str, Any]]:
        paths = [f"airflow_provider_nova.{kind}.{name}" for name in names]
        return [{"integration-name": INTEGRATION, "python-modules": paths}]

    return {
        "package-name": "airflow-provider-nova",
        "name": "Amazon Nova customization",
        "description": "Fine-tune, evaluate and deploy Amazon Nova models on SageMaker and Bedrock from Airflow DAGs.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": INTEGRATION,
                "external-doc-url": "https://docs.aws.amazon.com/sagemaker/latest/dg/nova-model.html",
                "tags": ["aws"],
            }
        ],
        "hooks": modules("hooks", "nova"),
        "operators": modules("operators", "train", "evaluate", "batch", "deploy", "prepare"),
        "sensors": modules("sensors", "job", "deployment"),
        "triggers": modules("triggers", "job", "deployment"),
        "extra-links": [
            "airflow_provider_nova.links.sagemaker.SageMakerTrainingJobLink",
            "airflow_provider_nova.links.sagemaker.TrainingJobLogsLink",
            "airflow_provider_nova.links.bedrock.BedrockCustomModelLink",
            "airflow_provider_nova.links.bedrock.BedrockDeploymentLink",
            "airflow_provider_nova.links.report.EvaluationReportLink",
        ],
        "plugins": [{"name": "nova", "plugin-class": "airflow_provider_nova.ui.plugin.NovaPlugin"}],
        # No "connection-types": the hook uses the amazon provider's ``aws`` connection type.
    }
