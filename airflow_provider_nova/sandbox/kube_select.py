"""Label and field selectors, and the metadata checks kube-apiserver makes on create.

Selectors follow the Kubernetes syntax: ``a=b``, ``a==b``, ``a!=b``, ``a in (x,y)``,
``a notin (x)``, ``a`` and ``!a``, joined by commas. Field selectors support the fields every
kind has (``metadata.name``, ``metadata.namespace``) and, for pods, ``status.phase`` and
``spec.nodeName``; others are refused as kube-apiserver refuses them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

Match = Callable[[Mapping[str, str]], bool]

_KEY = r"[^\s!=(),]+"
_SET_RULE = re.compile(rf"(?P<key>{_KEY})\s+(?P<op>in|notin)\s*\((?P<values>[^()]*)\)")
_EQUALITY_RULE = re.compile(rf"(?P<key>{_KEY})\s*(?P<op>==|=|!=)\s*(?P<value>[^\s!=(),]*)")
_EXISTS_RULE = re.compile(rf"(?P<neg>!?)\s*(?P<key>{_KEY})")
_FIELDS = {"pods": ("status.phase", "spec.nodeName")}

DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
LABEL_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_SUBDOMAIN_RULE = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and "
    "must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
    f"'{DNS_SUBDOMAIN.pattern}')"
)
_LABEL_RULE = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used "
    f"for validation is '({LABEL_NAME.pattern})?')"
)

Cause = tuple[str, str, str]  # field, reason, message as in a Status's details.causes


def label_selector(text: str) -> Match:
    """Return a predicate over labels for a label selector; ``ValueError`` when it does not parse."""
    rules = [_label_rule(part) for part in _split(text)]
    return lambda labels: all(rule(labels) for rule in rules)


def field_selector(text: str, plural: str) -> Callable[[Mapping[str, Any]], bool]:
    """Return a predicate over objects for a field selector; ``ValueError`` for an unsupported field."""
    supported = ("metadata.name", "metadata.namespace", *_FIELDS.get(plural, ()))
    rules = []
    for part in _split(text):
        found = _EQUALITY_RULE.fullmatch(part)
        if found is None:
            raise ValueError(f"invalid selector: '{text}'")
        if found["key"] not in supported:
            raise ValueError(f"field label not supported: {found['key']}")
        rules.append((found["key"].split("."), found["op"] == "!=", found["value"]))

    def matches(obj: Mapping[str, Any]) -> bool:
        for path, negated, value in rules:
            actual: Any = obj
            for step in path:
                actual = actual.get(step, "") if isinstance(actual, Mapping) else ""
            if (actual == value) == negated:
                return False
        return True

    return matches


def _split(text: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [part.strip() for part in parts if part.strip()]


def _label_rule(part: str) -> Match:
    if found := _SET_RULE.fullmatch(part):
        key, values = found["key"], {value.strip() for value in found["values"].split(",")}
        if found["op"] == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    if found := _EQUALITY_RULE.fullmatch(part):
        key, value = found["key"], found["value"]
        if found["op"] == "!=":
            return lambda labels: labels.get(key) != value
        return lambda labels: key in labels and labels[key] == value
    if found := _EXISTS_RULE.fullmatch(part):
        key, present = found["key"], not found["neg"]
        return lambda labels: (key in labels) == present
    raise ValueError(f"unable to parse requirement: {part!r}")


def metadata_causes(meta: Mapping[str, Any]) -> list[Cause]:
    """Return what kube-apiserver finds wrong with a new object's name and labels (empty if nothing)."""
    name = meta.get("name") or ""
    causes: list[Cause] = []
    if not name:
        causes.append(("metadata.name", "FieldValueRequired", "Required value: name or generateName is required"))
    elif len(name) > 253:
        causes.append(
            ("metadata.name", "FieldValueInvalid", f'Invalid value: "{name}": must be no more than 253 characters')
        )
    elif not DNS_SUBDOMAIN.fullmatch(name):
        causes.append(("metadata.name", "FieldValueInvalid", f'Invalid value: "{name}": {_SUBDOMAIN_RULE}'))
    labels = meta.get("labels") or {}
    for key, value in labels.items():
        causes.extend(("metadata.labels", "FieldValueInvalid", problem) for problem in _label_problems(key, value))
    return causes


def _label_problems(key: str, value: object) -> list[str]:
    prefix, _, label = key.rpartition("/")
    problems = []
    if prefix and (len(prefix) > 253 or not DNS_SUBDOMAIN.fullmatch(prefix)):
        problems.append(f'Invalid value: "{key}": prefix part {_SUBDOMAIN_RULE}')
    if len(label) > 63 or not LABEL_NAME.fullmatch(label):
        problems.append(
            f'Invalid value: "{key}": name part must be 63 characters or less and match {LABEL_NAME.pattern}'
        )
    if not isinstance(value, str):
        problems.append(f"Invalid value: {value!r}: label values must be strings")
    elif len(value) > 63:
        problems.append(f'Invalid value: "{value}": must be no more than 63 characters')
    elif value and not LABEL_NAME.fullmatch(value):
        problems.append(f'Invalid value: "{value}": {_LABEL_RULE}')
    return problems
