"""``NovaPlugin``: the "Nova retraining" page in the Airflow UI's navigation and the app behind it.

Airflow loads it through the ``airflow.plugins`` entry point (and, with ``[core]
lazy_discover_providers = False``, through the provider info's ``plugins``). Every Airflow process
may import this module, so it stays light: the FastAPI app and Airflow's API modules are imported
on the first request, in the api-server only.
"""

from __future__ import annotations

from typing import Any

from airflow.plugins_manager import AirflowPlugin

URL_PREFIX = "/nova"


class NovaApp:
    """An ASGI app that builds the plugin's FastAPI app (``routes.create_app``) when first called."""

    def __init__(self) -> None:
        self._app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self._app is None:
            from airflow_provider_nova.ui.routes import create_app

            self._app = create_app()
        await self._app(scope, receive, send)


class NovaPlugin(AirflowPlugin):
    """The retraining history (``/nova/history``) and evaluation reports (``/nova/report/...``)."""

    name = "nova"
    fastapi_apps = [{"app": NovaApp(), "url_prefix": URL_PREFIX, "name": "Nova retraining history"}]
    external_views = [
        {
            "name": "Nova retraining",
            "href": "nova/history",  # relative: the UI resolves it against [api] base_url
            "destination": "nav",
            "url_route": "nova-retraining",
        }
    ]
