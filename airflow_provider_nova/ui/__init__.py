"""The provider's Airflow plugin: the "Nova retraining" history page and the evaluation report page.

``plugin`` (the ``AirflowPlugin``, light to import), ``routes`` (the FastAPI app, built on the first
request), ``store`` (what Airflow's metadata database already holds), ``history`` (runs assembled
from those rows, pure) and ``pages`` (the HTML, pure).
"""
