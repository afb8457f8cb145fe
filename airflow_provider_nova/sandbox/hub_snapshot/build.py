"""Write the hub snapshot from the recipe publisher's own output (``shared/reference/published-hub``).

Run ``python -m airflow_provider_nova.sandbox.hub_snapshot.build [--reference PATH]``; without
``--reference`` the published documents are found by walking up from the working directory and
from this file for ``shared/reference/published-hub``. Every ``smtj/*.json`` and
``hyperpod/*.json`` there becomes, unchanged:

- ``recipes/<platform>/<recipe>.yaml``: the template, byte for byte ``template_yaml``;
- ``recipes/<platform>/<recipe>.json``: the override-parameter document, written as the publisher
  uploads it (``json.dumps(..., indent=2)``, key order kept);
- ``models/<Model_ID>.json``: per model, each recipe's ``metadata`` (identical on both platforms)
  and each platform's ``regional_parameters``.

Output is deterministic: re-running over the same documents produces no diff.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path
from typing import Any

SNAPSHOT_DIR = Path(__file__).resolve().parent
REFERENCE_PARTS = ("shared", "reference", "published-hub")
PLATFORMS = ("smtj", "hyperpod")
# Not part of the published documents: the hub content's display name, as the hub lists the model.
DISPLAY_NAMES = {
    "nova-textgeneration-micro": "Amazon Nova Micro",
    "nova-textgeneration-lite": "Amazon Nova Lite",
    "nova-textgeneration-lite-v2": "Amazon Nova 2 Lite",
    "nova-textgeneration-pro": "Amazon Nova Pro",
    "nova-premier": "Amazon Nova Premier",
}


def find_reference(*starts: Path) -> Path:
    """The first ``shared/reference/published-hub`` found walking up from any of ``starts``."""
    for start in starts:
        for folder in (start, *start.parents):
            candidate = folder.joinpath(*REFERENCE_PARTS)
            if candidate.is_dir():
                return candidate
    raise FileNotFoundError(f"no {'/'.join(REFERENCE_PARTS)} above {', '.join(map(str, starts))}; pass --reference")


def params_bytes(params: dict[str, Any]) -> bytes:
    """The override-parameter document as the publisher uploads it."""
    return json.dumps(params, indent=2).encode("utf-8")


def load_documents(reference: Path) -> dict[str, dict[str, dict[str, Any]]]:
    """``{recipe name: {platform: published document}}``, from every platform folder."""
    found: dict[str, dict[str, dict[str, Any]]] = {}
    for platform in PLATFORMS:
        for path in sorted((reference / platform).glob("*.json")):
            document = json.loads(path.read_text(encoding="utf-8"))
            if document.get("platform") not in (None, platform):
                raise ValueError(f"{path}: platform {document['platform']!r} does not match its folder")
            found.setdefault(path.stem, {})[platform] = document
    return found


def recipe_record(name: str, documents: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """One recipe of a model document: its metadata and each platform's regional images."""
    metadata = [doc["metadata"] for doc in documents.values()]
    if any(m != metadata[0] for m in metadata):
        raise ValueError(f"{name}: the platforms' metadata differ; the hub has one entry per recipe")
    if metadata[0].get("Name") != name:
        raise ValueError(f"{name}: metadata Name is {metadata[0].get('Name')!r}")
    return {
        "Name": name,
        "Metadata": metadata[0],
        "Platforms": {p: {"RegionalParameters": documents[p]["regional_parameters"]} for p in sorted(documents)},
    }


def write_snapshot(reference: Path, out: Path = SNAPSHOT_DIR) -> list[str]:
    """(Re)write ``models/`` and ``recipes/`` under ``out``; return the hub content names written."""
    documents = load_documents(reference)
    for stale in (out / "models", out / "recipes"):
        shutil.rmtree(stale, ignore_errors=True)
    models: dict[str, list[dict[str, Any]]] = {}
    for name, by_platform in sorted(documents.items()):
        for platform, document in by_platform.items():
            folder = out / "recipes" / platform
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{name}.yaml").write_bytes(document["template_yaml"].encode("utf-8"))
            (folder / f"{name}.json").write_bytes(params_bytes(document["override_parameters"]))
        record = recipe_record(name, by_platform)
        models.setdefault(record["Metadata"]["Model_ID"], []).append(record)
    for model_id, recipes in sorted(models.items()):
        document = {
            "HubContentName": model_id,
            "HubContentDisplayName": DISPLAY_NAMES.get(model_id, model_id),
            "Recipes": recipes,
        }
        path = out / "models" / f"{model_id}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return sorted(models)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--reference", type=Path, help="the published-hub folder (found by walking up when omitted)")
    parser.add_argument("--out", type=Path, default=SNAPSHOT_DIR, help="snapshot package directory")
    args = parser.parse_args(argv)
    reference = args.reference or find_reference(Path.cwd(), SNAPSHOT_DIR)
    for model_id in write_snapshot(reference, args.out):
        print(f"wrote {model_id}")


if __name__ == "__main__":
    main()
