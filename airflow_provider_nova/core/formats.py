"""AWS's own formats for the names, ARNs and regions the core sends, and whose account an ARN is in.

Where botocore's service model documents a field (``pattern``, ``min``, ``max``), the value is checked
against that model at run time, so the rule is the one the installed SDK would send against::

    check_shape("my-job", "job_name", "sagemaker", "TrainingJobName")

Every failure is a ConfigurationError naming the field and the allowed format, raised before any call.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from airflow_provider_nova.core.errors import ConfigurationError

# AWS region names: partition-prefix, an optional qualifier (gov, iso, isob, ...), direction and number
# (us-east-1, us-gov-west-1, cn-north-1, eu-isoe-west-1, eusc-de-east-1).
REGION = re.compile(r"[a-z]{2,4}(-[a-z]+){1,3}-[0-9]{1,2}", re.ASCII)
REGION_RULE = "an AWS region name such as us-east-1 (lower-case letters and hyphens, ending in a number)"
# Any ARN's account field: arn:<partition>:<service>:<region>:<account>:<resource>.
_ARN = re.compile(r"arn:(aws[a-z\-]*):([a-z0-9\-]+):([a-z0-9\-]*):([0-9]{12})?:(.+)", re.ASCII)


@dataclass(frozen=True)
class Rule:
    """One botocore shape's constraints."""

    service: str
    shape: str
    pattern: re.Pattern[str] | None
    min: int
    max: int | None

    def describe(self) -> str:
        length = f"{self.min}-{self.max}" if self.max is not None else f"at least {self.min}"
        where = f"{self.service} {self.shape}"
        pattern = f", pattern {self.pattern.pattern}" if self.pattern is not None else ""
        return f"{where}: {length} characters{pattern}"


@cache
def shape_rule(service: str, shape: str) -> Rule:
    """The ``pattern``/``min``/``max`` botocore's installed model gives ``shape`` of ``service``."""
    from botocore.loaders import Loader

    model: dict[str, Any] = Loader().load_service_model(service, "service-2")
    spec = model["shapes"][shape]
    pattern = spec.get("pattern")
    return Rule(
        service,
        shape,
        re.compile(pattern) if pattern else None,
        int(spec.get("min", 0)),
        int(spec["max"]) if "max" in spec else None,
    )


def check_shape(value: Any, field: str, service: str, shape: str, *, hint: str = "") -> str:
    """Return ``value`` when botocore's model for ``service`` accepts it as ``shape``; else name ``field``."""
    rule = shape_rule(service, shape)
    ok = isinstance(value, str) and rule.min <= len(value) and (rule.max is None or len(value) <= rule.max)
    if ok and rule.pattern is not None:
        ok = rule.pattern.fullmatch(value) is not None
    if not ok:
        shown = _short(value)
        raise ConfigurationError(f"{field} {shown} is not a valid {rule.describe()}" + (f" ({hint})" if hint else ""))
    return str(value)


def check_region(value: Any, field: str = "region") -> str:
    """Return ``value`` when it is shaped like an AWS region name."""
    if not isinstance(value, str) or not REGION.fullmatch(value):
        raise ConfigurationError(f"{field} {_short(value)} is not {REGION_RULE}")
    return value


def arn_account(arn: str) -> str | None:
    """The 12-digit account an ARN names, or None when it names none (or is no ARN)."""
    found = _ARN.fullmatch(arn) if isinstance(arn, str) else None
    return found.group(4) if found and found.group(4) else None


def check_same_account(arns: Mapping[str, str | None], account: str, *, allowed: bool, opt_in: str) -> None:
    """Refuse ARNs in another account than the caller's, unless the caller opted in.

    :param arns: ``{field: arn}``; None values and ARNs without an account are skipped.
    :param account: the caller's account (``sts:GetCallerIdentity``).
    :param opt_in: the parameter that allows it, named in the error.
    """
    if allowed:
        return
    foreign = {field: arn for field, arn in arns.items() if arn and arn_account(arn) not in (None, account)}
    if foreign:
        listed = "; ".join(f"{field} {arn} (account {arn_account(arn)})" for field, arn in foreign.items())
        raise ConfigurationError(
            f"{listed}: not in the caller's account {account}; a job only uses another account's role or "
            f"function when you say so: pass {opt_in}=True (nothing was created)"
        )


def arns_in(tree: Any, path: str = "") -> dict[str, str]:
    """Every ARN-valued string in a parsed recipe, by its dotted path."""
    found: dict[str, str] = {}
    if isinstance(tree, Mapping):
        for key, value in tree.items():
            found.update(arns_in(value, f"{path}.{key}" if path else str(key)))
    elif isinstance(tree, list):
        for index, value in enumerate(tree):
            found.update(arns_in(value, f"{path}[{index}]"))
    elif isinstance(tree, str) and tree.startswith("arn:"):
        found[path] = tree
    return found


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "..."
