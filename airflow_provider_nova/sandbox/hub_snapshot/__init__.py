"""A packaged snapshot of what the recipe publisher emits for every Nova recipe.

``models/<hub content name>.json`` lists a model's recipes: each one's published ``Metadata`` and,
per platform (``smtj``, ``hyperpod``), its ``RegionalParameters`` (images per stage and region).
``recipes/<platform>/<recipe>.yaml`` is the template exactly as published and ``.json`` its
override-parameter document. Regenerate with ``python -m airflow_provider_nova.sandbox.hub_snapshot.build``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SNAPSHOT_DIR = Path(__file__).resolve().parent
_MODELS_DIR = SNAPSHOT_DIR / "models"
_RECIPES_DIR = SNAPSHOT_DIR / "recipes"
PLATFORMS = ("smtj", "hyperpod")
TEMPLATE, PARAMS = "yaml", "json"

__all__ = ["PLATFORMS", "SNAPSHOT_DIR", "list_model_documents", "load_model_document", "read_recipe_file"]


def list_model_documents() -> list[str]:
    """The hub content names in the snapshot, sorted."""
    return sorted(path.stem for path in _MODELS_DIR.glob("*.json"))


def load_model_document(hub_content_name: str) -> dict[str, Any]:
    """The model document (HubContentName, HubContentDisplayName, Recipes)."""
    if hub_content_name not in list_model_documents():
        raise KeyError(f"no hub snapshot document named {hub_content_name!r}")
    document: dict[str, Any] = json.loads((_MODELS_DIR / f"{hub_content_name}.json").read_text(encoding="utf-8"))
    return document


def read_recipe_file(platform: str, name: str, kind: str) -> bytes:
    """A recipe's template (``kind="yaml"``) or override-parameter document (``"json"``) on ``platform``."""
    folder = (_RECIPES_DIR / platform).resolve()
    path = (folder / f"{name}.{kind}").resolve()
    if platform not in PLATFORMS or kind not in (TEMPLATE, PARAMS) or path.parent != folder or not path.is_file():
        raise KeyError(f"no hub snapshot {kind} file for recipe {name!r} on {platform!r}")
    return path.read_bytes()
