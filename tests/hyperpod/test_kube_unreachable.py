"""A Kubernetes API that does not answer is a KubernetesCallError (status 0), never urllib3's own error."""

from __future__ import annotations

import socket

import kubernetes
import pytest

from airflow_provider_nova.core.errors import KubernetesCallError, NovaError
from airflow_provider_nova.core.hyperpod.kube import KubeApi


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # nothing listens once the socket is closed


def test_an_api_server_nobody_answers_on_is_a_transient_nova_error() -> None:
    config = kubernetes.client.Configuration()
    config.host = f"http://127.0.0.1:{closed_port()}"
    config.retries = 0
    api = KubeApi(kubernetes.client.ApiClient(config))

    with pytest.raises(KubernetesCallError) as raised:
        api.namespace_exists("nova")

    assert isinstance(raised.value, NovaError) and raised.value.status == 0
    assert "read Namespace" in str(raised.value)
