"""Build the recipe a job runs: the hub's template (or the caller's recipe file) plus overrides."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from airflow_provider_nova.core.errors import RecipeError
from airflow_provider_nova.core.recipes.overrides import OverrideKeys, Resolved, check_overrides
from airflow_provider_nova.core.recipes.render import Path as KeyPath
from airflow_provider_nova.core.recipes.render import dump_recipe, fill, get_path, set_path
from airflow_provider_nova.core.s3 import read_object

if TYPE_CHECKING:
    from airflow_provider_nova.core.enums import Model
    from airflow_provider_nova.core.recipes.hub import RecipeTemplate

# Values the customizer sets itself, each with the argument a caller uses instead of an override.
MANAGED = {
    "name": "job_name",
    "replicas": "the runtime's instance_count",
    "model_type": "the customizer's model",
    "model_name_or_path": "model_path",
    "data_s3_path": "data_s3_path",
    "output_s3_path": "output_s3_path",
    "reward_lambda_arn": "rft_lambda_arn (training) or rl_env (RFT_EVAL)",
    "task": "eval_task",
    "strategy": "eval_task",
    "metric": "eval_task",
    "subtask": "subtask",
    "lambda_arn": "processor",
    "lambda_type": "processor",
    "peft_scheme": "the training method (LoRA or full rank)",
}


@dataclass(frozen=True)
class BuiltRecipe:
    """A recipe ready to run: its YAML text, its parsed form and where it came from."""

    recipe: dict[str, Any]
    yaml: str
    recipe_name: str
    source: str

    def get(self, *path: str) -> Any:
        return get_path(self.recipe, path)

    def updated(self, recipe: dict[str, Any]) -> BuiltRecipe:
        """The same recipe after changes made outside its template (sections dropped or added)."""
        return BuiltRecipe(recipe=recipe, yaml=dump_recipe(recipe), recipe_name=self.recipe_name, source=self.source)


def load_recipe_file(recipe_path: str, s3_client_factory: Any) -> dict[str, Any]:
    """Read a YAML recipe from a local path or ``s3://`` URI with ``yaml.safe_load``.

    Every failure is a RecipeError naming ``recipe_path`` and the problem: not a path, unreadable or
    missing, not UTF-8, not YAML, or not a mapping with a ``run`` section.
    """
    import os

    from airflow_provider_nova.core.errors import ConfigurationError, NovaError
    from airflow_provider_nova.core.s3 import S3Uri

    path = os.fspath(recipe_path) if isinstance(recipe_path, os.PathLike) else recipe_path
    if not isinstance(path, str) or not path:
        raise RecipeError(f"recipe_path must be a local file path or an s3:// URI, got {recipe_path!r}")
    try:
        if path.startswith("s3://"):
            data = read_object(s3_client_factory(), S3Uri.parse(path, "recipe_path", require_key=True))
        else:
            data = Path(path).read_bytes()
    except ConfigurationError as exc:
        raise RecipeError(str(exc)) from exc
    except OSError as exc:
        raise RecipeError(f"cannot read recipe_path {path!r}: {exc.strerror or exc}") from exc
    except NovaError as exc:
        missing = getattr(exc, "code", None) in ("NoSuchKey", "NoSuchBucket")
        problem = "no such object" if missing else str(exc)
        raise RecipeError(f"cannot read recipe_path {path!r}: {problem}") from exc
    try:
        recipe = yaml.safe_load(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise RecipeError(f"recipe_path {path!r} is not UTF-8 text (bad byte at offset {exc.start})") from exc
    except yaml.constructor.ConstructorError as exc:
        raise RecipeError(_tag_refused(path, exc)) from None
    except (yaml.YAMLError, RecursionError) as exc:
        raise RecipeError(f"recipe_path {path!r} is not valid YAML: {exc}") from exc
    if not isinstance(recipe, dict):
        raise RecipeError(f"recipe_path {path!r} must hold a YAML mapping, not {type(recipe).__name__}")
    if not isinstance(recipe.get("run"), dict):
        raise RecipeError(f"recipe_path {path!r} must have a 'run' section (a mapping)")
    return recipe


def _tag_refused(path: str, exc: yaml.constructor.ConstructorError) -> str:
    """The message for a recipe using a tag ``yaml.safe_load`` does not construct (``!!python/object``, ...)."""
    mark = exc.problem_mark
    where = f" at line {mark.line + 1}" if mark is not None else ""
    tag = (exc.problem or "").rsplit("tag ", 1)[-1].replace("tag:yaml.org,2002:", "!!")
    return (
        f"recipe_path {path!r}{where} uses the YAML tag {tag}, which is not allowed: recipes are read with "
        "yaml.safe_load and may hold only mappings, lists, strings, numbers, booleans and nulls"
    )


def build_recipe(
    template: RecipeTemplate,
    model: Model,
    managed: Mapping[str, Any],
    overrides: Mapping[str, Any] | None,
    user_recipe: dict[str, Any] | None = None,
    source: str = "hub",
) -> BuiltRecipe:
    """Render ``template`` (or apply to ``user_recipe``) with managed values and checked overrides.

    :param managed: values the customizer sets, by recipe key or parameter name (``name``,
        ``replicas``, ``model_name_or_path``, ...); names the template lacks are skipped.
    """
    keys = OverrideKeys(template.tree, template.params)
    checked = check_overrides(keys, overrides, MANAGED)
    fixed = _managed(keys, managed, keep_model_type=user_recipe is None)
    values = {**checked.values, **fixed.values}
    literals = {**checked.literals, **fixed.literals}
    if user_recipe is None:
        recipe = fill(template.tree, {**template.params.defaults(), **values}, literals)
    else:
        # the caller's recipe keeps its own model_type, so a recipe for another model is caught below
        recipe = _apply(user_recipe, keys, values, literals)
    model_type = get_path(recipe, ("run", "model_type"))
    if model_type != model.model_type:
        raise RecipeError(
            f"recipe from {source} is for model_type {model_type!r}, but the customizer's model is "
            f"{model.name} ({model.model_type})"
        )
    return BuiltRecipe(recipe=recipe, yaml=dump_recipe(recipe), recipe_name=template.entry.name, source=source)


def _managed(keys: OverrideKeys, managed: Mapping[str, Any], keep_model_type: bool) -> Resolved:
    """Where the customizer's own values go: placeholders by name, literals (``run.replicas``) by path."""
    out = Resolved()
    for name, value in managed.items():
        target = keys.resolve(name)
        if target is None or (name == "model_type" and not keep_model_type):
            continue
        if target.slot is not None:
            out.literals[target.slot.path] = value
        else:
            out.values[str(target.placeholder)] = value
    return out


def _apply(
    user_recipe: dict[str, Any], keys: OverrideKeys, values: Mapping[str, Any], literals: Mapping[KeyPath, Any]
) -> dict[str, Any]:
    """Set ``values`` in a copy of the caller's recipe at the places the hub template puts them."""
    recipe: dict[str, Any] = yaml.safe_load(yaml.safe_dump(user_recipe))  # deep copy, plain types only
    for slot in keys.slots:
        if slot.placeholder is not None and slot.placeholder in values:
            set_path(recipe, slot.path, values[slot.placeholder])
    for path, value in literals.items():
        set_path(recipe, path, value)
    return recipe
