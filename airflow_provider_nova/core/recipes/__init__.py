"""Recipes: resolved from the SageMaker Public Hub, validated against its override params, rendered."""

from __future__ import annotations

from airflow_provider_nova.core.cache import RecipeCache
from airflow_provider_nova.core.recipes.build import MANAGED, BuiltRecipe, build_recipe, load_recipe_file
from airflow_provider_nova.core.recipes.hub import RecipeEntry, RecipeHub, RecipeTemplate
from airflow_provider_nova.core.recipes.overrides import OverrideParam, OverrideParams

__all__ = [
    "MANAGED",
    "BuiltRecipe",
    "OverrideParam",
    "OverrideParams",
    "RecipeCache",
    "RecipeEntry",
    "RecipeHub",
    "RecipeTemplate",
    "build_recipe",
    "load_recipe_file",
]
