"""Read a HyperPod hub entry's payload template: the recipe template and the images it runs with.

``HpEksPayloadTemplateS3Uri`` holds the Nova chart rendered by ``helm template`` with placeholders: a
multi-document YAML whose ConfigMap carries the recipe template as ``config.yaml`` and whose
PyTorchJob names the training image (container ``pytorch``) and the init container's image. The
public Nova SDK reads the recipe and the ``pytorch`` image from it; so do we, and the init image too.
Placeholders such as ``{{name}}`` stand unquoted in the Kubernetes part, which YAML would read as
mappings, so they are swapped for plain words while parsing and put back in the recipe text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from airflow_provider_nova.core.errors import RecipeError

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")
_WORD = "NOVA_PLACEHOLDER_{}_END"
_WORD_BACK = re.compile(r"NOVA_PLACEHOLDER_([A-Za-z0-9_]+?)_END")


@dataclass(frozen=True)
class HyperPodPayload:
    """What a payload template holds that a job needs."""

    recipe_template: str  # the recipe template text, placeholders as published
    image_uri: str  # the pytorch container's image
    init_image_uri: str | None  # the init container's image, when the chart has one


def parse_payload(text: str, source: str) -> HyperPodPayload:
    """Parse a payload template; RecipeError naming ``source`` when it lacks the ConfigMap or the image."""
    import yaml

    masked = _PLACEHOLDER.sub(lambda m: _WORD.format(m.group(1)), text)
    try:
        docs = [d for d in yaml.safe_load_all(masked) if isinstance(d, dict)]
    except yaml.YAMLError as exc:
        raise RecipeError(f"HyperPod payload template {source} is not YAML: {exc}") from exc
    config_maps = [d for d in docs if d.get("kind") == "ConfigMap" and "config.yaml" in (d.get("data") or {})]
    jobs = [d for d in docs if d.get("kind") == "PyTorchJob"]
    if not config_maps or not jobs:
        raise RecipeError(f"HyperPod payload template {source} has no training ConfigMap and PyTorchJob")
    recipe = _WORD_BACK.sub(lambda m: "{{" + m.group(1) + "}}", str(config_maps[0]["data"]["config.yaml"]))
    spec = _master_pod_spec(jobs[0], source)
    image = next((c.get("image") for c in spec.get("containers") or () if c.get("name") == "pytorch"), None)
    if not isinstance(image, str) or _WORD_BACK.search(image):
        raise RecipeError(f"HyperPod payload template {source} names no image for its pytorch container")
    init = next((c.get("image") for c in spec.get("initContainers") or ()), None)
    return HyperPodPayload(recipe, image, init if isinstance(init, str) and not _WORD_BACK.search(init) else None)


def _master_pod_spec(job: dict[str, Any], source: str) -> dict[str, Any]:
    try:
        spec: dict[str, Any] = job["spec"]["pytorchReplicaSpecs"]["Master"]["template"]["spec"]
    except (KeyError, TypeError) as exc:
        raise RecipeError(f"HyperPod payload template {source}: the PyTorchJob has no Master pod spec") from exc
    return spec
