"""A packaged snapshot of the SageMaker Public Hub's Nova model documents.

``models/<hub content name>.json`` holds a model's document with its recipes; SMTJ-capable
recipes have ``recipes/<Name>/smtj_recipe_template.yaml`` and ``smtj_override_params.json``.
Regenerate with ``python -m airflow_provider_nova.sandbox.hub_snapshot.build --reference ...``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SNAPSHOT_DIR = Path(__file__).resolve().parent
_MODELS_DIR = SNAPSHOT_DIR / "models"
_RECIPES_DIR = SNAPSHOT_DIR / "recipes"

__all__ = ["SNAPSHOT_DIR", "list_model_documents", "load_model_document", "read_recipe_file"]


def list_model_documents() -> list[str]:
    """The hub content names in the snapshot, sorted."""
    return sorted(path.stem for path in _MODELS_DIR.glob("*.json"))


def load_model_document(hub_content_name: str) -> dict[str, Any]:
    """The model document (HubContentName, HubContentDisplayName, ModelType, Recipes)."""
    if hub_content_name not in list_model_documents():
        raise KeyError(f"no hub snapshot document named {hub_content_name!r}")
    document: dict[str, Any] = json.loads((_MODELS_DIR / f"{hub_content_name}.json").read_text())
    return document


def read_recipe_file(name: str, filename: str) -> bytes:
    """A recipe's template or override-params file, as bytes."""
    path = (_RECIPES_DIR / name / filename).resolve()
    if path.parent.parent != _RECIPES_DIR or not path.is_file():
        raise KeyError(f"no hub snapshot file {filename!r} for recipe {name!r}")
    return path.read_bytes()
