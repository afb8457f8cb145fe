"""Overrides: the published rules for what a recipe lets a caller change, and under which names.

A caller names an override by its recipe key, as the recipes and the spec do (``lr``,
``max_epochs``, ``loraplus_lr_ratio``); the key resolves to the placeholder the template holds at
that place (``lr: '{{learning_rate}}'`` -> parameter ``learning_rate``), which the public Nova SDK
does too. The parameter document's own name (``learning_rate``) is accepted as well. A recipe key
the template holds as a literal (Nova 1 SFT ``max_length``, ``eps``) may be overridden with a value
of the literal's type. A key found at several places resolves to the one placeholder among them
(``name`` is ``run.name``, never the optimizer's ``name``); when that does not decide it, the
caller names the place by its dotted path (``processor.preprocessing.enabled``). Anything else is
refused.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_nova.core.errors import RecipeError
from airflow_provider_nova.core.recipes.render import Path, Slot, slots

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

    def typed(self, value: Any) -> Any:
        """A published default as this parameter's type (documents write ``"default": 0`` for a float)."""
        if self.type == "float" and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if self.type == "integer" and isinstance(value, float) and value.is_integer():
            return int(value)
        return value

    def check(self, value: Any, key: str | None = None) -> Any:
        """Return ``value`` coerced to this parameter's type; RecipeError when it is not allowed.

        :param key: the name the caller used (``lr`` for ``learning_rate``), for the message.
        """
        key = key or self.name
        coerced = self._coerce(value, key)
        if self.enum is not None and coerced not in self.enum:
            raise RecipeError(f"override {key!r} = {value!r} is not allowed; use {self.allowed()}")
        if isinstance(coerced, (int, float)) and not isinstance(coerced, bool):
            too_low = self.min is not None and coerced < self.min
            too_high = self.max is not None and coerced > self.max
            if too_low or too_high:
                raise RecipeError(f"override {key!r} = {value!r} is out of range; use {self.allowed()}")
        return coerced

    def _coerce(self, value: Any, key: str) -> Any:
        ok = {
            "integer": isinstance(value, int) and not isinstance(value, bool),
            "float": isinstance(value, (int, float)) and not isinstance(value, bool),
            "string": isinstance(value, str),
            "boolean": isinstance(value, bool),
        }[self.type]
        if not ok:
            raise RecipeError(
                f"override {key!r} must be {_TYPE_NAMES[self.type]}, got {value!r} ({type(value).__name__})"
            )
        if self.type == "float":
            if not math.isfinite(value):
                raise RecipeError(f"override {key!r} must be a finite number, got {value!r}")
            return float(value)
        return value


@dataclass(frozen=True)
class OverrideParams:
    """The override parameters of one recipe, keyed by placeholder name."""

    params: Mapping[str, OverrideParam]

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> OverrideParams:
        return cls({name: OverrideParam.from_json(name, spec) for name, spec in document.items()})

    def __contains__(self, name: object) -> bool:
        return name in self.params

    def __getitem__(self, name: str) -> OverrideParam:
        return self.params[name]

    def defaults(self) -> dict[str, Any]:
        """Every parameter's published default, typed; parameters without one are left out."""
        return {name: p.typed(p.default) for name, p in self.params.items() if p.default is not None}


@dataclass(frozen=True)
class Target:
    """Where an override lands: a placeholder's parameter, or the literal at one path."""

    placeholder: str | None = None
    slot: Slot | None = None


@dataclass
class Resolved:
    """Checked values: by placeholder name, and for literals by path."""

    values: dict[str, Any] = field(default_factory=dict)
    literals: dict[Path, Any] = field(default_factory=dict)


class OverrideKeys:
    """How override names map onto one template (parsed tree) and its parameter document."""

    def __init__(self, tree: Mapping[str, Any], params: OverrideParams) -> None:
        self.slots = list(slots(tree))
        self.params = params
        self._placeholders = {s.placeholder for s in self.slots if s.placeholder}

    def resolve(self, key: str) -> Target | None:
        """The target of ``key`` (recipe key, dotted path or parameter name); None when there is none."""
        if "." in key:
            slot = next((s for s in self.slots if s.dotted == key), None)
            return None if slot is None else Target(slot.placeholder, None if slot.placeholder else slot)
        found = [s for s in self.slots if s.key == key]
        names = sorted({str(s.placeholder) for s in found if s.placeholder})
        if len(names) == 1:
            return Target(names[0])
        if len(found) == 1 and not names:
            return Target(None, found[0])
        if found:
            places = ", ".join(s.dotted for s in found)
            raise RecipeError(f"override {key!r} is ambiguous: the recipe has it at {places}; name one by its path")
        return Target(key) if key in self._placeholders else None

    def managed_reason(self, key: str, target: Target, managed: Mapping[str, str]) -> str | None:
        """What to use instead when ``key`` names a value the customizer sets itself."""
        for name in (key, target.placeholder, target.slot.key if target.slot else None):
            if name is not None and name in managed:
                return managed[name]
        for slot in self.slots:  # a placeholder the customizer fills under its recipe key
            if target.placeholder and slot.placeholder == target.placeholder and slot.key in managed:
                return managed[slot.key]
        return None

    def allowed(self, managed: Mapping[str, str]) -> str:
        """The accepted names: ``key (parameter)`` for placeholders, then the literal keys."""
        named: set[str] = set()
        for slot in self.slots:
            name = slot.placeholder
            if name and name not in managed and slot.key not in managed:
                named.add(slot.key if slot.key == name else f"{slot.key} ({name})")
        keys = [s.key for s in self.slots if not s.placeholder and s.key not in managed]
        literals = sorted({s.dotted if keys.count(s.key) > 1 else s.key for s in self.slots if s.key in keys})
        return f"allowed: {', '.join(sorted(named)) or 'none'}; recipe values: {', '.join(literals) or 'none'}"


def check_overrides(keys: OverrideKeys, overrides: Any, managed: Mapping[str, str]) -> Resolved:
    """Resolve and check the caller's overrides; RecipeError naming the key and what is allowed."""
    out = Resolved()
    if overrides is None:
        return out
    if not isinstance(overrides, Mapping):
        raise RecipeError(f"overrides must be a dict of name to value, got {type(overrides).__name__}")
    seen: dict[str, str] = {}
    for key, value in overrides.items():
        target = keys.resolve(str(key))
        if target is None:
            raise RecipeError(f"unknown override {key!r}; {keys.allowed(managed)}")
        instead = keys.managed_reason(str(key), target, managed)
        if instead is not None:
            raise RecipeError(f"override {key!r} is set by the customizer; use {instead} instead")
        where = target.placeholder or (target.slot.dotted if target.slot else "")
        if where in seen:
            raise RecipeError(f"overrides {seen[where]!r} and {key!r} both set {where}; pass one of them")
        seen[where] = str(key)
        if target.slot is not None:
            out.literals[target.slot.path] = check_literal(str(key), target.slot.value, value)
        elif target.placeholder in keys.params:
            out.values[str(target.placeholder)] = keys.params[str(target.placeholder)].check(value, str(key))
        else:
            out.values[str(target.placeholder)] = value
    return out


def check_literal(key: str, literal: Any, value: Any) -> Any:
    """``value`` for a key the template holds as ``literal``: it must have the literal's type."""
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(literal, float) and number and math.isfinite(value):
        return float(value)
    scalar = isinstance(value, (str, int, float, bool))
    if (literal is None and scalar) or (literal is not None and type(value) is type(literal)):
        return value
    kind = (
        "a scalar"
        if literal is None
        else _TYPE_NAMES.get(_LITERAL_TYPES.get(type(literal), ""), type(literal).__name__)
    )
    raise RecipeError(
        f"override {key!r} must be {kind} like the recipe's {literal!r}, got {value!r} ({type(value).__name__})"
    )


_LITERAL_TYPES = {bool: "boolean", int: "integer", float: "float", str: "string"}
