"""The SageMaker Public Hub's Nova model documents, served from the packaged snapshot.

``DescribeHubContent`` answers with a region's view of a model document: only the recipes that
have an image in that region, with the template and override-params objects in that region's
``jumpstart-cache-prod-<region>`` bucket and the region's image URI. The buckets are seeded when
the stand-in starts, for every region the snapshot has images in.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from airflow_provider_nova.sandbox import hub_snapshot, moto_state
from airflow_provider_nova.sandbox.errors import ServiceError, validation

PUBLIC_HUB = "SageMakerPublicHub"
SNAPSHOT_TIME = 1763683200.0  # 2025-11-21, the recipes' publication date the snapshot follows


def recipe_bucket(region: str) -> str:
    return f"jumpstart-cache-prod-{region}"


class Hub:
    """Serves hub documents and seeds the regional recipe buckets."""

    def __init__(self) -> None:
        self._seeded: set[str] = set()
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
        recipes = [self._regional_entry(entry, region) for entry in doc["Recipes"]]
        document = {"ModelType": doc["ModelType"], "RecipeCollection": [r for r in recipes if r]}
        arn = f"arn:aws:sagemaker:{region}:aws:hub-content/{PUBLIC_HUB}/Model/{name}/1.0.0"
        return {
            "HubContentName": name,
            "HubContentArn": arn,
            "HubContentVersion": "1.0.0",
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

    def _regional_entry(self, entry: dict[str, Any], region: str) -> dict[str, Any] | None:
        smtj_images = entry.get("SmtjImageUris", {})
        hp_images = entry.get("HpEksImageUris", {})
        if region not in smtj_images and region not in hp_images:
            return None
        out = {k: v for k, v in entry.items() if not k.endswith(("ImageUris", "Key"))}
        if region in smtj_images and "SmtjRecipeTemplateKey" in entry:
            bucket = recipe_bucket(region)
            out["SmtjRecipeTemplateS3Uri"] = f"s3://{bucket}/{entry['SmtjRecipeTemplateKey']}"
            out["SmtjOverrideParamsS3Uri"] = f"s3://{bucket}/{entry['SmtjOverrideParamsKey']}"
            out["SmtjImageUri"] = smtj_images[region]
        if region in hp_images:
            out["HpEksImageUri"] = hp_images[region]
        return out

    def reset(self) -> None:
        """Seed the recipe buckets again after moto forgot them: AWS's public buckets never go away."""
        with self._lock:
            regions, self._seeded = set(self._seeded), set()
        for region in sorted(regions):
            self.seed(region)

    def regions(self) -> list[str]:
        """Every region some recipe of the snapshot has an image in."""
        found: set[str] = set()
        for name in hub_snapshot.list_model_documents():
            for entry in hub_snapshot.load_model_document(name)["Recipes"]:
                found.update(entry.get("SmtjImageUris", {}), entry.get("HpEksImageUris", {}))
        return sorted(found)

    def seed_all(self) -> None:
        for region in self.regions():
            self.seed(region)

    def seed(self, region: str) -> None:
        """Put the recipe templates and override params into the region's recipe bucket."""
        with self._lock:
            if region in self._seeded:
                return
            bucket = recipe_bucket(region)
            moto_state.ensure_bucket(bucket, region)
            for name in hub_snapshot.list_model_documents():
                for entry in hub_snapshot.load_model_document(name)["Recipes"]:
                    if region not in entry.get("SmtjImageUris", {}) or "SmtjRecipeTemplateKey" not in entry:
                        continue
                    for key in (entry["SmtjRecipeTemplateKey"], entry["SmtjOverrideParamsKey"]):
                        filename = key.rsplit("/", 1)[-1]
                        moto_state.put_object(bucket, key, hub_snapshot.read_recipe_file(entry["Name"], filename))
            self._seeded.add(region)
