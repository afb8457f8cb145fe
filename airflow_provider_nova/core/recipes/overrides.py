"""Override parameters: the service's published rules for what a recipe lets a caller change."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from airflow_provider_nova.core.errors import RecipeError

_TYPE_NAMES = {"integer": "an integer", "float": "a number", "string": "a string", "boolean": "a boolean"}


@dataclass(frozen=True)
class OverrideParam:
    """One override parameter: its type, default and constraints."""

    name: str
    type: str
    default: Any = None
    required: bool = False
    min: float | None = None
    max: float | None = None
    enum: tuple[Any, ...] | None = None
    description: str = ""

    @classmethod
    def from_json(cls, name: str, spec: Mapping[str, Any]) -> OverrideParam:
        kind = spec.get("type")
        if kind not in _TYPE_NAMES:
            raise RecipeError(f"override parameter {name!r} has unknown type {kind!r} in the recipe's override params")
        enum = spec.get("enum")
        return cls(
            name=name,
            type=kind,
            default=spec.get("default"),
            required=bool(spec.get("required", False)),
            min=spec.get("min"),
            max=spec.get("max"),
            enum=tuple(enum) if enum is not None else None,
            description=str(spec.get("description", "")),
        )

    def allowed(self) -> str:
        """Describe the values this parameter accepts."""
        if self.enum is not None:
            return "one of " + ", ".join(repr(v) for v in self.enum)
        bounds = []
        if self.min is not None:
            bounds.append(f">= {self.min:g}")
        if self.max is not None:
            bounds.append(f"<= {self.max:g}")
        return f"{_TYPE_NAMES[self.type]}" + (f" {' and '.join(bounds)}" if bounds else "")

    def check(self, value: Any) -> Any:
        """Return ``value`` coerced to this parameter's type; RecipeError when it is not allowed."""
        coerced = self._coerce(value)
        if self.enum is not None and coerced not in self.enum:
            raise RecipeError(f"override {self.name!r} = {value!r} is not allowed; use {self.allowed()}")
        if isinstance(coerced, (int, float)) and not isinstance(coerced, bool):
            too_low = self.min is not None and coerced < self.min
            too_high = self.max is not None and coerced > self.max
            if too_low or too_high:
                raise RecipeError(f"override {self.name!r} = {value!r} is out of range; use {self.allowed()}")
        return coerced

    def _coerce(self, value: Any) -> Any:
        ok = {
            "integer": isinstance(value, int) and not isinstance(value, bool),
            "float": isinstance(value, (int, float)) and not isinstance(value, bool),
            "string": isinstance(value, str),
            "boolean": isinstance(value, bool),
        }[self.type]
        if not ok:
            raise RecipeError(
                f"override {self.name!r} must be {_TYPE_NAMES[self.type]}, got {value!r} ({type(value).__name__})"
            )
        if self.type == "float":
            if not math.isfinite(value):
                raise RecipeError(f"override {self.name!r} must be a finite number, got {value!r}")
            return float(value)
        return value


@dataclass(frozen=True)
class OverrideParams:
    """The override parameters of one recipe, keyed by name."""

    params: Mapping[str, OverrideParam]

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> OverrideParams:
        return cls({name: OverrideParam.from_json(name, spec) for name, spec in document.items()})

    def __contains__(self, name: object) -> bool:
        return name in self.params

    def __getitem__(self, name: str) -> OverrideParam:
        return self.params[name]

    def defaults(self) -> dict[str, Any]:
        return {name: p.default for name, p in self.params.items()}

    def validate(self, overrides: Mapping[str, Any] | None, managed: Mapping[str, str]) -> dict[str, Any]:
        """Return the checked overrides.

        :param overrides: what the caller asked to change.
        :param managed: names the customizer sets itself, each with the argument to use instead.
        """
        if overrides is None:
            return {}
        if not isinstance(overrides, Mapping):
            raise RecipeError(f"overrides must be a dict of name to value, got {type(overrides).__name__}")
        checked: dict[str, Any] = {}
        for name, value in overrides.items():
            if name in managed:
                raise RecipeError(f"override {name!r} is set by the customizer; use {managed[name]} instead")
            if name not in self.params:
                allowed = ", ".join(sorted(n for n in self.params if n not in managed))
                raise RecipeError(f"unknown override {name!r}; allowed overrides: {allowed}")
            checked[name] = self.params[name].check(value)
        return checked
