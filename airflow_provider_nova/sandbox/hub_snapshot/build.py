"""Generate the hub snapshot (model documents, SMTJ templates, override params) from reference data.

Run ``python -m airflow_provider_nova.sandbox.hub_snapshot.build --reference <recipes checkout>``
where the checkout holds ``recipes_src/`` and ``recipe_templatization/`` as in
aws/sagemaker-hyperpod-recipes. Output is deterministic: re-running produces no diff.
Inconsistencies found in the reference data are printed as notes.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

SNAPSHOT_DIR = Path(__file__).resolve().parent
STAGE = "prod"
KEY_PREFIX = "recipes/nova"
TEMPLATE_FILE = "smtj_recipe_template.yaml"
PARAMS_FILE = "smtj_override_params.json"

# hub content name -> (display name, run.model_type)
MODELS: dict[str, tuple[str, str]] = {
    "nova-textgeneration-micro": ("Amazon Nova Micro", "amazon.nova-micro-v1:0:128k"),
    "nova-textgeneration-lite": ("Amazon Nova Lite", "amazon.nova-lite-v1:0:300k"),
    "nova-textgeneration-lite-v2": ("Amazon Nova 2 Lite", "amazon.nova-2-lite-v1:0:256k"),
    "nova-textgeneration-pro": ("Amazon Nova Pro", "amazon.nova-pro-v1:0:300k"),
}
TECHNIQUES = {"sft": "SFT", "dpo": "DPO", "rft": "RLVR", "pretrain": "CPT", "ppo": "PPO", "distill": "DISTILL"}
SKIPPED_PREFIXES = ("mtrl_",)
# templatization names -> the names the hub's published templates (and the SDKs' overrides) use
RENAMES = {"learning_rate": "lr", "learning_rate_ratio": "loraplus_lr_ratio", "max_context_length": "max_length"}
# placeholders kept as literals: "do not modify" in the recipe and a default outside its own enum
LITERAL_PLACEHOLDERS = {"preset_reward_function"}
# caller-supplied locations: the recipes hold example values here, the hub default stays ""
USER_SUPPLIED = {"data_s3_path", "output_s3_path", "validation_s3_path", "reward_lambda_arn", "lambda_arn"}
# placeholders every SMTJ template gets, at these recipe paths, where the recipe has the key
STANDARD_PATHS: dict[tuple[str, ...], str] = {
    ("run", "name"): "name",
    ("run", "model_name_or_path"): "model_name_or_path",
    ("run", "replicas"): "replicas",
    ("run", "data_s3_path"): "data_s3_path",
    ("run", "output_s3_path"): "output_s3_path",
    ("run", "reward_lambda_arn"): "reward_lambda_arn",
    ("training_config", "rollout", "rewards", "api_endpoint", "lambda_arn"): "reward_lambda_arn",
}
EVAL_PATHS: dict[tuple[str, ...], str] = {
    **{("evaluation", k): k for k in ("task", "strategy", "metric", "subtask")},
    **{("inference", k): k for k in ("max_new_tokens", "top_k", "top_p", "temperature", "top_logprobs")},
    ("processor", "lambda_arn"): "lambda_arn",
    ("processor", "lambda_type"): "lambda_type",
}
# parameters the templatization data does not define (values from the recipes and nova-facts.md)
EVAL_REPLICAS = [1, 2, 4, 8, 16]
SYNTHESIZED: dict[str, dict[str, Any]] = {
    "name": {"type": "string", "required": True},
    "model_name_or_path": {"type": "string", "required": False},
    "replicas": {"type": "integer", "required": True},
    "data_s3_path": {"type": "string", "required": False},
    "output_s3_path": {"type": "string", "required": True},
    "reward_lambda_arn": {"type": "string", "required": True},
    "top_logprobs": {"type": "integer", "required": False, "min": 0, "max": 20},
}
PARAM_KEYS = ("type", "required", "default", "min", "max", "enum", "description")
_SENTINEL = "PLACEHOLDER__{}__PLACEHOLDER"
_SENTINEL_RE = re.compile(r"PLACEHOLDER__(\w+?)__PLACEHOLDER")
_INTERPOLATION_RE = re.compile(r"^\$\{oc\.select:([\w.]+)\}$")
_YAML12_FLOAT = re.compile(
    r"^[-+]?(?:\d[\d_]*\.[\d_]*(?:[eE][-+]?\d+)?|\d[\d_]*[eE][-+]?\d+|\.\d[\d_]*(?:[eE][-+]?\d+)?)$"
    r"|^[-+]?\.(?:inf|Inf|INF)$|^\.(?:nan|NaN|NAN)$"
)


class _RecipeLoader(yaml.SafeLoader):
    """Safe loader that also reads ``1e-5`` as a float (YAML 1.2, as the recipe runtime does)."""


_RecipeLoader.add_implicit_resolver("tag:yaml.org,2002:float", _YAML12_FLOAT, list("-+0123456789."))


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text())


@dataclass
class Reference:
    root: Path
    metadata: dict[str, Any]
    regional: dict[str, Any]
    templates: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, root: Path) -> Reference:
        base = root / "recipe_templatization"
        return cls(
            root=root,
            metadata=_read_json(base / "nova_metadata.json"),
            regional=_read_json(base / "nova_regional_parameters.json"),
            templates=_read_json(base / "nova_recipe_template_parameters.json")["templates"],
        )

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)


@dataclass
class Recipe:
    name: str
    rel_path: str
    body: dict[str, Any]
    kind: str
    is_eval: bool

    @property
    def model_type(self) -> str:
        return str(self.body.get("run", {}).get("model_type", ""))


# ----------------------------------------------------------------------------- recipe discovery


def recipe_kind(name: str) -> str:
    """The recipe type in its file name: ``lora_sft``, ``pretrain``, ``general_text_benchmark_eval``."""
    match = re.search(r"_(?:gpu|cpu)_(.+)$", name)
    if not match:
        raise ValueError(f"cannot tell the recipe type of {name}")
    return match.group(1)


def is_nova_2(name: str) -> bool:
    return "_2_0_" in name or "_v2_" in name


def discover_recipes(ref: Reference) -> list[Recipe]:
    src = ref.root / "recipes_src"
    model_types = {model_type for _, model_type in MODELS.values()}
    recipes = []
    for path in sorted(src.rglob("*.yaml")):
        name = path.stem
        if name.startswith(SKIPPED_PREFIXES):
            continue
        body = yaml.load(path.read_text(), Loader=_RecipeLoader)  # noqa: S506 - a SafeLoader subclass
        recipe = Recipe(
            name,
            f"recipes/{path.relative_to(src).as_posix()}",
            body,
            recipe_kind(name),
            path.relative_to(src).parts[0] == "evaluation",
        )
        if recipe.model_type in model_types:
            recipes.append(recipe)
    return recipes


def template_name_for(name: str, templates: dict[str, Any]) -> str | None:
    """``nova_[smtj_]<kind>``, preferring the ``_2_0`` variant for Nova 2 recipes when one exists."""
    kind = recipe_kind(name)
    prefix = "nova_smtj_" if "_smtj_" in name else "nova_"
    candidates = [prefix + kind]
    if is_nova_2(name):
        versioned = f"{kind[:-5]}_2_0_eval" if kind.endswith("_eval") else f"{kind}_2_0"
        candidates.insert(0, prefix + versioned)
    return next((c for c in candidates if c in templates), None)


def check_template_matching(ref: Reference) -> None:
    """Every recipe a template's constraints name must match that template under our rule."""
    for template_name, template in sorted(ref.templates.items()):
        for spec in template["recipe_override_parameters"].values():
            for by_field in spec.get("conditional_constraints", {}).values():
                for recipe_name in by_field.get("Name", {}):
                    found = recipe_name == "default" or template_name_for(recipe_name, ref.templates)
                    if found not in (True, template_name):
                        ref.note(f"{recipe_name} is constrained in {template_name} but matches {found}")


# ----------------------------------------------------------------------------- nested-dict helpers


def flatten(tree: dict[str, Any], prefix: tuple[str, ...] = ()) -> dict[tuple[str, ...], Any]:
    out: dict[tuple[str, ...], Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict) and value:
            out.update(flatten(value, (*prefix, key)))
        else:
            out[prefix + (key,)] = value  # noqa: RUF005 - py3.10 syntax
    return out


def lookup(tree: dict[str, Any], path: tuple[str, ...]) -> tuple[bool, Any]:
    node: Any = tree
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return False, None
        node = node[key]
    return True, node


def assign(tree: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    node = tree
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value


def resolve_interpolation(body: dict[str, Any], value: Any) -> Any:
    """``${oc.select:a.b}`` -> the value at ``a.b`` (recipes use it for save_steps)."""
    match = _INTERPOLATION_RE.match(value) if isinstance(value, str) else None
    if not match:
        return value
    found, target = lookup(body, tuple(match.group(1).split(".")))
    return resolve_interpolation(body, target) if found else value


# ----------------------------------------------------------------------------- templates


class _RecipeDumper(yaml.SafeDumper):
    """Safe dumper that quotes strings a YAML 1.2 reader would take for floats."""


_RecipeDumper.add_implicit_resolver("tag:yaml.org,2002:float", _YAML12_FLOAT, list("-+0123456789."))


def placeholder_paths(ref: Reference, recipe: Recipe, template_name: str) -> dict[tuple[str, ...], str]:
    """Recipe path -> placeholder name, for the paths the recipe actually has."""
    template = ref.templates[template_name]
    mapping: dict[tuple[str, ...], str] = {}
    for path, value in flatten(template["recipe_template"]).items():
        match = re.fullmatch(r"\{\{(\w+)\}\}", str(value))
        if not match or match.group(1) in LITERAL_PLACEHOLDERS:
            continue
        if lookup(recipe.body, path)[0]:
            mapping[path] = RENAMES.get(match.group(1), match.group(1))
        else:
            ref.note(f"{template_name}: template path {'.'.join(path)} is not in {recipe.name}; left out")
    max_length = ("training_config", "max_length")
    if "max_context_length" in template["recipe_override_parameters"] and lookup(recipe.body, max_length)[0]:
        mapping.setdefault(max_length, "max_length")
    extras = {**STANDARD_PATHS, **(EVAL_PATHS if recipe.is_eval else {})}
    for path, name in extras.items():
        if lookup(recipe.body, path)[0]:
            mapping.setdefault(path, name)
    return dict(sorted(mapping.items()))


def template_text(recipe: Recipe, mapping: dict[tuple[str, ...], str]) -> str:
    """The recipe as YAML with ``{{name}}`` placeholders (unquoted) at the mapped paths."""
    tree = json.loads(json.dumps(recipe.body))
    for path, name in mapping.items():
        assign(tree, path, _SENTINEL.format(name))
    text = yaml.dump(tree, Dumper=_RecipeDumper, sort_keys=False, default_flow_style=False, width=1000)
    if re.search(r"['\"]" + _SENTINEL_RE.pattern, text):
        raise ValueError(f"{recipe.name}: a placeholder was quoted by the YAML dumper")
    return _SENTINEL_RE.sub(r"{{\1}}", text)


# ----------------------------------------------------------------------------- override params


def coerce(value: Any, kind: str) -> Any:
    """The recipe value as the parameter's declared type, or None when it is not one."""
    if isinstance(value, bool):
        return value if kind == "boolean" else None
    if kind == "integer" and isinstance(value, str) and value.strip().isdigit():
        return int(value)
    if kind == "integer" and isinstance(value, (int, float)) and float(value).is_integer():
        return int(value)
    if kind == "float" and isinstance(value, (int, float)):
        return float(value)
    return value if kind == "string" and isinstance(value, str) else None


def satisfies(value: Any, spec: dict[str, Any]) -> bool:
    if "enum" in spec and value not in spec["enum"]:
        return False
    if "min" in spec and value < spec["min"]:
        return False
    return not ("max" in spec and value > spec["max"])


def resolve_constraints(raw: dict[str, Any], recipe_name: str, hub_name: str) -> dict[str, Any]:
    """Apply ``conditional_constraints`` for this recipe (by Name or Model_ID) and drop them."""
    spec = {key: raw[key] for key in PARAM_KEYS if key in raw}
    keys = {"Name": recipe_name, "Model_ID": hub_name}
    for target, by_field in raw.get("conditional_constraints", {}).items():
        for condition, table in by_field.items():
            key = keys[condition]
            spec[target] = table[key] if key in table else table["default"]
    return spec


def raw_param(ref: Reference, template_name: str, name: str) -> dict[str, Any] | None:
    params = ref.templates[template_name]["recipe_override_parameters"]
    for candidate in [name] + [old for old, new in RENAMES.items() if new == name]:
        if candidate in params:
            found: dict[str, Any] = params[candidate]
            return found
    return None


def synthesized_param(ref: Reference, recipe: Recipe, template_name: str, name: str) -> dict[str, Any]:
    """A parameter the template lacks; replicas' allowed counts come from the HyperPod sibling."""
    spec = dict(SYNTHESIZED[name])
    if name == "replicas" and recipe.is_eval:
        spec["enum"] = list(EVAL_REPLICAS)
    elif name == "replicas":
        sibling = template_name.replace("nova_smtj_", "nova_")
        spec["enum"] = list(ref.templates[sibling]["recipe_override_parameters"]["replicas"]["enum"])
        ref.note(f"{recipe.name}: replicas enum {spec['enum']} taken from HyperPod template {sibling}")
    return spec


def choose_default(ref: Reference, recipe: Recipe, name: str, path: tuple[str, ...], spec: dict[str, Any]) -> Any:
    """The published recipe's own value where valid, else the templatization default."""
    fallback = spec.get("default", "" if spec["type"] == "string" else None)
    if name in USER_SUPPLIED:
        return fallback
    value = coerce(resolve_interpolation(recipe.body, lookup(recipe.body, path)[1]), spec["type"])
    if value is None:
        ref.note(f"{recipe.name}: {name} recipe value is not a {spec['type']}; kept default {fallback!r}")
        return fallback
    if not satisfies(value, spec):
        ref.note(f"{recipe.name}: {name} recipe value {value!r} violates {spec}; kept default {fallback!r}")
        return fallback
    if spec["type"] != "string" and "default" in spec and spec["default"] != value:
        ref.note(f"{recipe.name}: {name} default {spec['default']!r} differs from recipe {value!r}; used recipe")
    return value


def override_params(
    ref: Reference, recipe: Recipe, template_name: str, hub_name: str, mapping: dict[tuple[str, ...], str]
) -> dict[str, dict[str, Any]]:
    first_paths: dict[str, tuple[str, ...]] = {}
    for path, name in mapping.items():
        first_paths.setdefault(name, path)
    params = {}
    for name, path in sorted(first_paths.items()):
        raw = raw_param(ref, template_name, name)
        if raw:
            spec = resolve_constraints(raw, recipe.name, hub_name)
        else:
            spec = synthesized_param(ref, recipe, template_name, name)
        spec["default"] = choose_default(ref, recipe, name, path, spec)
        params[name] = {key: spec[key] for key in PARAM_KEYS if key in spec}
    return params


# ----------------------------------------------------------------------------- hub entries


def region_images(ref: Reference, recipe_name: str, platform: str) -> dict[str, str]:
    stages = ref.regional.get(recipe_name, {}).get(platform, {}).get("container_image", {})
    return dict(sorted(stages.get(STAGE, {}).items()))


def sequence_length(recipe: Recipe) -> str | None:
    value = (recipe.body.get("training_config") or {}).get("max_length")
    return f"{value // 1024}K" if isinstance(value, int) and not isinstance(value, bool) else None


def base_entry(ref: Reference, recipe: Recipe) -> dict[str, Any]:
    meta = ref.metadata[recipe.name]
    entry: dict[str, Any] = {
        "Name": recipe.name,
        "DisplayName": meta["display_name"],
        "RecipeFilePath": recipe.rel_path,
        "Type": "Evaluation" if recipe.is_eval else "FineTuning",
        "SupportedInstanceTypes": list(meta["instance_types"]),
        "Hardware": "CPU" if "_cpu_" in recipe.name else "GPU",
        "Version": meta["version"],
    }
    parts = recipe.kind.split("_")
    if recipe.is_eval:
        entry["EvaluationKind"] = recipe.kind.removesuffix("_eval")
    else:
        entry["CustomizationTechnique"] = TECHNIQUES[parts[-1]]
    if "lora" in parts:
        entry["Peft"] = "LORA"
    return entry


def add_platforms(ref: Reference, recipe: Recipe, entry: dict[str, Any]) -> None:
    for key, platform in (("SmtjImageUris", "sm_jobs"), ("HpEksImageUris", "k8s")):
        images = region_images(ref, recipe.name, platform)
        if images:
            entry[key] = images
    if sequence_length(recipe):
        entry["SequenceLength"] = sequence_length(recipe)
    replicas = recipe.body.get("run", {}).get("replicas")
    if isinstance(replicas, int):
        entry["InstanceCount"] = replicas


def build_smtj(ref: Reference, recipe: Recipe, hub_name: str, entry: dict[str, Any], out: Path) -> None:
    """Write the recipe's SMTJ template and override params and point the entry at them."""
    template_name = template_name_for(recipe.name, ref.templates)
    if template_name is None:
        ref.note(f"{recipe.name}: has SMTJ images but no templatization template; not SMTJ-capable")
        del entry["SmtjImageUris"]
        return
    mapping = placeholder_paths(ref, recipe, template_name)
    params = override_params(ref, recipe, template_name, hub_name, mapping)
    if "replicas" in params and params["replicas"]["default"] != entry.get("InstanceCount"):
        ref.note(f"{recipe.name}: InstanceCount {entry.get('InstanceCount')} -> {params['replicas']['default']}")
        entry["InstanceCount"] = params["replicas"]["default"]
    folder = out / "recipes" / recipe.name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / TEMPLATE_FILE).write_text(template_text(recipe, mapping))
    write_json(folder / PARAMS_FILE, params)
    entry["SmtjRecipeTemplateKey"] = f"{KEY_PREFIX}/{recipe.name}/{TEMPLATE_FILE}"
    entry["SmtjOverrideParamsKey"] = f"{KEY_PREFIX}/{recipe.name}/{PARAMS_FILE}"


def build_entry(ref: Reference, recipe: Recipe, hub_name: str, out: Path) -> dict[str, Any]:
    entry = base_entry(ref, recipe)
    add_platforms(ref, recipe, entry)
    if "SmtjImageUris" in entry:
        build_smtj(ref, recipe, hub_name, entry, out)
    elif "HpEksImageUris" not in entry:
        ref.note(f"{recipe.name}: no image in nova_regional_parameters.json for any platform")
    return entry


# ----------------------------------------------------------------------------- output


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def check_reference_names(ref: Reference, recipes: list[Recipe]) -> None:
    names = {recipe.name for recipe in recipes}
    for name in sorted(set(ref.regional) - set(ref.metadata)):
        if not name.startswith("_") and name != "all":
            ref.note(f"nova_regional_parameters.json has {name}, which is no recipe; ignored")
    for name in sorted(names - set(ref.metadata)):
        ref.note(f"{name}: missing from nova_metadata.json")


def build(reference: Path, out: Path = SNAPSHOT_DIR) -> list[str]:
    """(Re)write models/ and recipes/ under ``out``; return the notes about the reference data."""
    ref = Reference.load(reference)
    recipes = discover_recipes(ref)
    check_template_matching(ref)
    check_reference_names(ref, recipes)
    for stale in (out / "models", out / "recipes"):
        shutil.rmtree(stale, ignore_errors=True)
    for hub_name, (display_name, model_type) in MODELS.items():
        entries = [build_entry(ref, r, hub_name, out) for r in recipes if r.model_type == model_type]
        document = {
            "HubContentName": hub_name,
            "HubContentDisplayName": display_name,
            "ModelType": model_type,
            "Recipes": sorted(entries, key=lambda e: e["Name"]),
        }
        write_json(out / "models" / f"{hub_name}.json", document)
    return ref.notes


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", type=Path, required=True, help="sagemaker-hyperpod-recipes data checkout")
    parser.add_argument("--out", type=Path, default=SNAPSHOT_DIR, help="snapshot package directory")
    args = parser.parse_args(argv)
    for note in build(args.reference, args.out):
        print(f"note: {note}")


if __name__ == "__main__":
    main()
