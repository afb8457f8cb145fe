"""Apache Airflow provider for Amazon Nova model customization."""

from __future__ import annotations

__version__ = "0.1.0"
