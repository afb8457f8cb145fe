"""Provider metadata: valid against the schema Airflow ships, and every path it lists imports."""

from __future__ import annotations

import importlib
import json
from importlib.resources import files

import jsonschema
import pytest
from airflow.sdk import BaseOperatorLink

from airflow_provider_nova.get_provider_info import get_provider_info

INFO = get_provider_info()
KINDS = ("hooks", "operators", "sensors", "triggers")
MODULES = [path for kind in KINDS for entry in INFO[kind] for path in entry["python-modules"]]


def test_provider_info_is_valid_against_airflows_schema() -> None:
    schema = json.loads((files("airflow") / "provider_info.schema.json").read_text())
    jsonschema.validators.validator_for(schema)(schema).validate(INFO)


def test_provider_info_lists_every_kind_and_invents_no_connection_type() -> None:
    assert all(INFO[kind] for kind in (*KINDS, "extra-links"))
    assert "connection-types" not in INFO  # the hook uses the amazon provider's ``aws`` connection type


def test_every_entry_names_a_declared_integration() -> None:
    integrations = {i["integration-name"] for i in INFO["integrations"]}
    assert {entry["integration-name"] for kind in KINDS for entry in INFO[kind]} <= integrations


@pytest.mark.parametrize("path", MODULES)
def test_every_listed_module_imports(path: str) -> None:
    importlib.import_module(path)


@pytest.mark.parametrize("path", INFO["extra-links"])
def test_every_listed_link_is_an_operator_link(path: str) -> None:
    module, _, name = path.rpartition(".")
    link = getattr(importlib.import_module(module), name)
    assert issubclass(link, BaseOperatorLink)
    assert link().name
