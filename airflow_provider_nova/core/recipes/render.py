"""Recipe templates: YAML whose values may be ``{{name}}`` placeholders, filled with typed values.

Templates are parsed, not text-substituted: a placeholder is a whole value (quoted as OmegaConf
saves it, ``lr: '{{learning_rate}}'``, or bare as in the bundled templates), and the rendered
recipe holds the value itself, so a number stays a number and a boolean a boolean.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from airflow_provider_nova.core.errors import RecipeError

Path = tuple[str, ...]
# a whole value: after "key: " or "- ", to the end of the line
PLACEHOLDER = re.compile(r"""(?<=[:-] )(['"]?)\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}\1[ \t]*$""", re.MULTILINE)
_MARK = "\x00"


@dataclass(frozen=True)
class Placeholder:
    """Where a template leaves a value to its override parameter ``name``."""

    name: str


@dataclass(frozen=True)
class Slot:
    """One leaf of a template: its key path and either a placeholder or the literal value it holds."""

    path: Path
    value: Any

    @property
    def key(self) -> str:
        return self.path[-1]

    @property
    def placeholder(self) -> str | None:
        return self.value.name if isinstance(self.value, Placeholder) else None

    @property
    def dotted(self) -> str:
        return ".".join(self.path)


def parse_template(template: str) -> dict[str, Any]:
    """The template as a tree whose placeholder values are ``Placeholder`` objects."""
    marked = PLACEHOLDER.sub(lambda m: '"\\0' + m.group(2) + '"', template)
    try:
        tree = yaml.safe_load(marked)
    except yaml.YAMLError as exc:
        raise RecipeError(f"recipe template is not valid YAML: {exc}") from exc
    if not isinstance(tree, dict):
        raise RecipeError("recipe template is not a YAML mapping")
    return _mark(tree, ())  # type: ignore[no-any-return]


def _mark(node: Any, path: Path) -> Any:
    if isinstance(node, dict):
        return {str(k): _mark(v, (*path, str(k))) for k, v in node.items()}
    if isinstance(node, list):
        return [_mark(v, path) for v in node]
    if isinstance(node, str) and node.startswith(_MARK):
        return Placeholder(node[1:])
    if isinstance(node, str) and ("{{" in node or _MARK in node):
        raise RecipeError(f"recipe template value at {'.'.join(path)} embeds a placeholder in text: {node!r}")
    return node


def slots(tree: Mapping[str, Any], path: Path = ()) -> Iterator[Slot]:
    """Every leaf of ``tree`` in template order (a non-empty mapping is a branch, anything else a leaf)."""
    for key, value in tree.items():
        if isinstance(value, Mapping) and value:
            yield from slots(value, (*path, key))
        else:
            yield Slot((*path, key), value)


def placeholders(template: str) -> set[str]:
    """The placeholder names a template uses."""
    return {m.group(2) for m in PLACEHOLDER.finditer(template)}


def placeholder_paths(template: str) -> dict[str, list[Path]]:
    """Map each placeholder to the key paths where the template uses it."""
    paths: dict[str, list[Path]] = {}
    for slot in slots(parse_template(template)):
        if slot.placeholder:
            paths.setdefault(slot.placeholder, []).append(slot.path)
    return paths


def fill(
    tree: Mapping[str, Any], values: Mapping[str, Any], literals: Mapping[Path, Any] | None = None
) -> dict[str, Any]:
    """A copy of ``tree`` with every placeholder replaced by ``values[name]`` and ``literals`` set at their paths."""
    missing = sorted({s.placeholder for s in slots(tree) if s.placeholder and s.placeholder not in values})
    if missing:
        raise RecipeError(f"recipe template needs values for: {', '.join(missing)}")

    def sub(node: Any) -> Any:
        if isinstance(node, Mapping):
            return {k: sub(v) for k, v in node.items()}
        if isinstance(node, list):
            return [sub(v) for v in node]
        return copy.deepcopy(values[node.name]) if isinstance(node, Placeholder) else node

    recipe: dict[str, Any] = sub(tree)
    for path, value in (literals or {}).items():
        set_path(recipe, path, value)
    return recipe


def render_template(template: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """Parse ``template`` and fill every placeholder; RecipeError when a value is missing."""
    return fill(parse_template(template), values)


def set_path(recipe: dict[str, Any], path: Path, value: Any) -> None:
    """Set ``value`` at ``path`` in a nested mapping, creating mappings on the way."""
    node = recipe
    for key in path[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = node[key] = {}
        node = child
    node[path[-1]] = value


def get_path(recipe: Mapping[str, Any], path: Path) -> Any:
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
