"""Render recipe templates: ``{{name}}`` placeholders in YAML text, filled with typed values."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import yaml

from airflow_provider_nova.core.errors import RecipeError

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


def placeholders(template: str) -> set[str]:
    """The placeholder names a template uses."""
    return set(PLACEHOLDER.findall(template))


def yaml_scalar(value: Any) -> str:
    """Encode ``value`` as a YAML scalar that parses back to the same value and type."""
    if isinstance(value, float):
        text = repr(value)
        # PyYAML (YAML 1.1) reads "5e-06" as a string: floats need a dot before the exponent.
        if "e" in text and "." not in text:
            text = text.replace("e", ".0e")
        return text
    return json.dumps(value)


def render_template(template: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """Substitute every placeholder and parse the result; RecipeError when a value is missing."""
    missing = sorted(placeholders(template) - set(values))
    if missing:
        raise RecipeError(f"recipe template needs values for: {', '.join(missing)}")
    text = PLACEHOLDER.sub(lambda m: yaml_scalar(values[m.group(1)]), template)
    try:
        recipe = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RecipeError(f"rendered recipe is not valid YAML: {exc}") from exc
    if not isinstance(recipe, dict):
        raise RecipeError("rendered recipe is not a YAML mapping")
    return recipe


def placeholder_paths(template: str) -> dict[str, list[tuple[str, ...]]]:
    """Map each placeholder to the key paths where the template uses it as a whole value."""
    marked = PLACEHOLDER.sub(lambda m: json.dumps("\x00" + m.group(1)), template)
    tree = yaml.safe_load(marked)
    paths: dict[str, list[tuple[str, ...]]] = {}

    def walk(node: Any, path: tuple[str, ...]) -> None:
        if isinstance(node, dict):
            for key, child in node.items():
                walk(child, (*path, str(key)))
        elif isinstance(node, str) and node.startswith("\x00"):
            paths.setdefault(node[1:], []).append(path)

    walk(tree, ())
    return paths


def set_path(recipe: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    """Set ``value`` at ``path`` in a nested mapping, creating mappings on the way."""
    node = recipe
    for key in path[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = node[key] = {}
        node = child
    node[path[-1]] = value


def get_path(recipe: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    """Return the value at ``path``, or None when any key is missing."""
    node: Any = recipe
    for key in path:
        if not isinstance(node, Mapping) or key not in node:
            return None
        node = node[key]
    return node


def dump_recipe(recipe: Mapping[str, Any]) -> str:
    """The YAML text of a recipe, keys in their template order."""
    return yaml.safe_dump(dict(recipe), sort_keys=False, default_flow_style=False)
