"""The SageMaker Public Hub's Nova model documents, served from the packaged snapshot.

``DescribeHubContent`` answers with a region's view of a model document: one ``RecipeCollection``
entry per recipe that has an image in that region, holding the recipe's published metadata fields
unchanged plus what the hub adds (field names as the publisher's own hub-entry code writes them and
the public Nova SDK reads them): ``SupportedInstanceTypes`` (the published ``InstanceTypes``), for
SageMaker Training Jobs ``SmtjRecipeTemplateS3Uri``, ``SmtjOverrideParamsS3Uri`` and ``SmtjImageUri``,
for HyperPod ``HpEksPayloadTemplateS3Uri`` and ``HpEksOverrideParamsS3Uri``. The objects live in the
region's ``jumpstart-cache-prod-<region>`` bucket, seeded when the stand-in starts.

The SMTJ template object is the published recipe template. The HyperPod payload object is, as on
AWS, the Nova chart rendered with placeholders around the recipe (the ConfigMap whose ``config.yaml``
is the published HyperPod template, then the PyTorchJob), made per region from the snapshot's
template and the region's ``hp_eks_regional_ecr_uri`` and ``init_container_image`` by
:mod:`~airflow_provider_nova.sandbox.hub_payload`; for RFT recipes, whose chart is not reproduced,
it is the bare HyperPod recipe template (see that module). Override-parameter objects are the
published documents.

Not visible from outside AWS, so chosen here: the envelope fields, the S3 keys (the publisher's own
scheme, ``recipes/<recipe>_payload_template_<sm_jobs|k8s>_v<version>.yaml``), and the instance type
the HyperPod payload is rendered for (see :mod:`~airflow_provider_nova.sandbox.hub_payload`).
"""

from __future__ import annotations

import json
import threading
from typing import Any

from airflow_provider_nova.sandbox import hub_payload, hub_snapshot, moto_state
from airflow_provider_nova.sandbox.errors import ServiceError, validation

PUBLIC_HUB = "SageMakerPublicHub"
HUB_CONTENT_VERSION = "1.0.0"
SNAPSHOT_TIME = 1763683200.0  # 2025-11-21, the recipes' publication date the snapshot follows
STAGE = "prod"
# platform -> (regional image parameter, S3 key infix, template URI field, params URI field, image field)
PLATFORM_FIELDS = {
    "smtj": ("smtj_regional_ecr_uri", "sm_jobs", "SmtjRecipeTemplateS3Uri", "SmtjOverrideParamsS3Uri", "SmtjImageUri"),
    "hyperpod": ("hp_eks_regional_ecr_uri", "k8s", "HpEksPayloadTemplateS3Uri", "HpEksOverrideParamsS3Uri", None),
}


def recipe_bucket(region: str) -> str:
    return f"jumpstart-cache-prod-{region}"


def object_keys(name: str, platform: str) -> dict[str, str]:
    """The S3 keys of a recipe's template (``yaml``) and override params (``json``) on ``platform``."""
    infix = PLATFORM_FIELDS[platform][1]
    return {
        hub_snapshot.TEMPLATE: f"recipes/{name}_payload_template_{infix}_v{HUB_CONTENT_VERSION}.yaml",
        hub_snapshot.PARAMS: f"recipes/{name}_override_params_{infix}_v{HUB_CONTENT_VERSION}.json",
    }


def _image(recipe: dict[str, Any], platform: str, region: str) -> str | None:
    """The recipe's image on ``platform`` in ``region``, or None when it does not run there."""
    found = recipe["Platforms"].get(platform)
    if found is None:
        return None
    images = found["RegionalParameters"].get(PLATFORM_FIELDS[platform][0], {}).get(STAGE, {})
    image: str | None = images.get(region)
    return image


class Hub:
    """Serves hub documents and seeds the regional recipe buckets."""

    def __init__(self) -> None:
        self._seeded: set[str] = set()
        self._objects: dict[str, list[tuple[str, bytes]]] = {}  # region -> (key, body), read from the package once
        self._lock = threading.Lock()

    def describe_hub_content(self, region: str, request: dict[str, Any]) -> dict[str, Any]:
        hub, kind, name = request.get("HubName"), request.get("HubContentType"), request.get("HubContentName")
        if hub != PUBLIC_HUB:
            raise ServiceError("ResourceNotFound", f"Hub {hub} does not exist (the stand-in serves {PUBLIC_HUB} only)")
        if kind != "Model":
            raise validation(f"HubContentType {kind} is not served by the stand-in; use Model")
        if name not in hub_snapshot.list_model_documents():
            raise ServiceError("ResourceNotFound", f"Hub content {name} of type Model does not exist in {hub}")
        doc = hub_snapshot.load_model_document(name)
        entries = [self.entry(recipe, region) for recipe in doc["Recipes"]]
        document = {"RecipeCollection": [e for e in entries if e]}
        arn = f"arn:aws:sagemaker:{region}:aws:hub-content/{PUBLIC_HUB}/Model/{name}/{HUB_CONTENT_VERSION}"
        return {
            "HubContentName": name,
            "HubContentArn": arn,
            "HubContentVersion": HUB_CONTENT_VERSION,
            "HubContentType": "Model",
            "DocumentSchemaVersion": "2.4.0",
            "HubName": PUBLIC_HUB,
            "HubArn": f"arn:aws:sagemaker:{region}:aws:hub/{PUBLIC_HUB}",
            "HubContentDisplayName": doc["HubContentDisplayName"],
            "HubContentDescription": f"{doc['HubContentDisplayName']} (local stand-in snapshot, not AWS)",
            "HubContentDocument": json.dumps(document),
            "HubContentStatus": "Available",
            "CreationTime": SNAPSHOT_TIME,
        }

    @staticmethod
    def entry(recipe: dict[str, Any], region: str) -> dict[str, Any] | None:
        """The ``RecipeCollection`` entry of ``recipe`` in ``region``; None when it has no image there."""
        out: dict[str, Any] = {**recipe["Metadata"], "SupportedInstanceTypes": recipe["Metadata"]["InstanceTypes"]}
        runs = False
        for platform, (_, _, template_field, params_field, image_field) in PLATFORM_FIELDS.items():
            image = _image(recipe, platform, region)
            if image is None:
                continue
            runs = True
            keys = object_keys(recipe["Name"], platform)
            out[template_field] = f"s3://{recipe_bucket(region)}/{keys[hub_snapshot.TEMPLATE]}"
            out[params_field] = f"s3://{recipe_bucket(region)}/{keys[hub_snapshot.PARAMS]}"
            if image_field:
                out[image_field] = image
        return out if runs else None

    def reset(self) -> None:
        """Seed the recipe buckets again after moto forgot them: AWS's public buckets never go away."""
        with self._lock:
            regions, self._seeded = set(self._seeded), set()
        for region in sorted(regions):
            self.seed(region)

    def regions(self) -> list[str]:
        """Every region some recipe of the snapshot has an image in, on any platform."""
        found: set[str] = set()
        for name in hub_snapshot.list_model_documents():
            for recipe in hub_snapshot.load_model_document(name)["Recipes"]:
                for platform, found_on in recipe["Platforms"].items():
                    images = found_on["RegionalParameters"].get(PLATFORM_FIELDS[platform][0], {})
                    found.update(images.get(STAGE, {}))
        return sorted(found)

    def seed_all(self) -> None:
        for region in self.regions():
            self.seed(region)

    def seed(self, region: str) -> None:
        """Put the templates and override params of the recipes that run in ``region`` into its bucket."""
        with self._lock:
            if region in self._seeded:
                return
            bucket = recipe_bucket(region)
            moto_state.ensure_bucket(bucket, region)
            for key, body in self._region_objects(region):
                moto_state.put_object(bucket, key, body)
            self._seeded.add(region)

    def _region_objects(self, region: str) -> list[tuple[str, bytes]]:
        """The (key, body) pairs of ``region``'s recipe bucket; the snapshot never changes, so read it once."""
        if region not in self._objects:
            found: list[tuple[str, bytes]] = []
            for name in hub_snapshot.list_model_documents():
                for recipe in hub_snapshot.load_model_document(name)["Recipes"]:
                    for platform in PLATFORM_FIELDS:
                        if _image(recipe, platform, region) is None:
                            continue
                        for kind, key in object_keys(recipe["Name"], platform).items():
                            found.append((key, _object_body(recipe, platform, kind, region)))
            self._objects[region] = found
        return self._objects[region]


def _object_body(recipe: dict[str, Any], platform: str, kind: str, region: str) -> bytes:
    """A recipe object's body: the published file, or for a HyperPod template the rendered payload."""
    published = hub_snapshot.read_recipe_file(platform, recipe["Name"], kind)
    if platform != "hyperpod" or kind != hub_snapshot.TEMPLATE or not hub_payload.is_chart_rendered(recipe["Name"]):
        return published
    found = recipe["Platforms"][platform]["RegionalParameters"]
    images = {
        "training": found["hp_eks_regional_ecr_uri"][STAGE][region],
        "init": found["init_container_image"][STAGE][region],
    }
    text = hub_payload.payload(published.decode("utf-8"), recipe["Metadata"], region, images)
    return text.encode("utf-8")
