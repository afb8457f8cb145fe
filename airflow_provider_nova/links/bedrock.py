"""Console links to a Bedrock custom model and to where it is deployed."""

from __future__ import annotations

from typing import Any, ClassVar

from airflow_provider_nova.links.base import CONSOLE, NovaConsoleLink

_BEDROCK = CONSOLE + "/bedrock/home?region={region_name}"


class BedrockCustomModelLink(NovaConsoleLink):
    """The custom model's page in the Bedrock console (field ``model_arn``)."""

    name = "Bedrock custom model"
    key = "nova_bedrock_custom_model"
    format_str = _BEDROCK + "#/custom-models/item?arn={model_arn}"


class BedrockDeploymentLink(NovaConsoleLink):
    """Where the model is deployed in the Bedrock console; field ``platform`` picks the page.

    ``bedrock_pt``: the provisioned throughput's page (field ``arn``, the provisioned model ARN).
    ``bedrock_od``: AWS documents no console address for one custom model deployment, so the link
    opens the deployed custom model's page (field ``model_arn``).
    """

    name = "Bedrock deployment"
    key = "nova_bedrock_deployment"
    format_str = ""  # one page per platform: see ``pages``
    pages: ClassVar[dict[str, str]] = {
        "bedrock_pt": _BEDROCK + "#/provisioned-throughput/details?arn={arn}",
        "bedrock_od": _BEDROCK + "#/custom-models/item?arn={model_arn}",
    }

    def template(self, fields: dict[str, Any]) -> str | None:
        return self.pages.get(str(fields.get("platform", "")).lower())
