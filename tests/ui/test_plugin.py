"""The plugin as Airflow loads it: its name, its app at /nova, its navigation entry, and a light import."""

from __future__ import annotations

import json
import subprocess
import sys

from airflow_provider_nova.get_provider_info import get_provider_info
from airflow_provider_nova.ui.plugin import NovaApp, NovaPlugin


def test_the_plugin_mounts_one_app_at_nova_and_adds_a_nav_entry() -> None:
    assert NovaPlugin.name == "nova"
    (app,) = NovaPlugin.fastapi_apps
    assert app["url_prefix"] == "/nova" and isinstance(app["app"], NovaApp)
    (view,) = NovaPlugin.external_views
    assert view == {
        "name": "Nova retraining",
        "href": "nova/history",
        "destination": "nav",
        "url_route": "nova-retraining",
    }


def test_the_provider_info_lists_the_plugin_and_the_report_link() -> None:
    info = get_provider_info()
    assert info["plugins"] == [{"name": "nova", "plugin-class": "airflow_provider_nova.ui.plugin.NovaPlugin"}]
    assert "airflow_provider_nova.links.report.EvaluationReportLink" in info["extra-links"]


CHILD = """
import json, sys
import airflow.plugins_manager
before = set(sys.modules)
import airflow_provider_nova.ui.plugin
print(json.dumps(sorted(set(sys.modules) - before)))
"""


def test_importing_the_plugin_loads_no_web_framework_and_no_core() -> None:
    """Every Airflow process may import plugins (a task's runner does): FastAPI and the API load on first request."""
    out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, check=True, timeout=120)
    added = json.loads(out.stdout.strip().splitlines()[-1])
    heavy = ("fastapi", "starlette", "airflow.api_fastapi", "airflow_provider_nova.core", "sqlalchemy", "boto3")
    assert [m for m in added if m.split(".")[0] in heavy or m.startswith(heavy)] == []
    assert "airflow_provider_nova.ui.plugin" in added
