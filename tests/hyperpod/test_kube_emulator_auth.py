"""The Kubernetes API emulator lets in only EKS-shaped tokens and serves TLS its CA verifies."""

from __future__ import annotations

import base64
import json
import time

import kubernetes
import pytest

from airflow_provider_nova.sandbox.kube import KubeEmulator

UNAUTHORIZED = {
    "kind": "Status",
    "apiVersion": "v1",
    "metadata": {},
    "status": "Failure",
    "message": "Unauthorized",
    "reason": "Unauthorized",
    "code": 401,
}


def read_default(client: object) -> kubernetes.client.ApiException | None:
    try:
        kubernetes.client.CoreV1Api(client).read_namespace("default")
    except kubernetes.client.ApiException as error:
        return error
    return None


def test_a_presigned_get_caller_identity_token_is_let_in(kube, make_client):
    assert read_default(make_client(kube)) is None
    assert kube.requests == [("GET", "/api/v1/namespaces/default", 200)]


@pytest.mark.parametrize(
    "token",
    [
        None,
        "not-a-token",
        "k8s-aws-v1.%%%",
        "k8s-aws-v1." + base64.urlsafe_b64encode(b"https://sts.amazonaws.com/?Action=GetCallerIdentity").decode(),
    ],
    ids=["missing", "not-eks", "not-base64", "padded-and-unsigned"],
)
def test_missing_or_malformed_tokens_are_answered_401_as_kube_apiserver_does(kube, make_client, token):
    error = read_default(make_client(kube, token=token))

    assert error is not None and error.status == 401
    assert json.loads(error.body) == UNAUTHORIZED
    assert kube.requests == [("GET", "/api/v1/namespaces/default", 401)]


def test_a_token_must_sign_the_cluster_header(kube, make_client, eks_token):
    unsigned = eks_token(sign_cluster=False)

    assert "x-k8s-aws-id" not in base64.urlsafe_b64decode(unsigned[11:] + "==").decode()
    assert read_default(make_client(kube, token=unsigned)).status == 401


def test_a_token_must_presign_get_caller_identity(kube, make_client, eks_token):
    assert read_default(make_client(kube, token=eks_token(operation="get_session_token"))).status == 401


@pytest.mark.parametrize(("age", "status"), [(14 * 60, None), (15 * 60 + 5, 401)])
def test_tokens_expire_15_minutes_after_their_x_amz_date(make_client, age, status):
    with KubeEmulator("nova-eks", clock=lambda: time.time() + age).start() as later:
        error = read_default(make_client(later))

    assert (error.status if error else None) == status


def test_the_server_certificate_verifies_against_ca_data_only(kube, make_client):
    with KubeEmulator("other").start() as other:
        error = read_default(make_client(kube, ca_data=other.ca_data))

    assert error is not None and error.status == 0  # the client's wrapping of a TLS failure
    assert "CERTIFICATE_VERIFY_FAILED" in str(error)
    assert kube.requests == []


def test_ca_data_is_base64_of_a_pem_ca_as_eks_describe_cluster_has_it(kube):
    from cryptography import x509

    ca = x509.load_pem_x509_certificate(base64.b64decode(kube.ca_data))

    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert kube.cluster_description() == {
        "name": "nova-eks",
        "arn": "arn:aws:eks:us-east-1:123456789012:cluster/nova-eks",
        "endpoint": kube.url,
        "certificateAuthority": {"data": kube.ca_data},
        "status": "ACTIVE",
    }
    assert kube.url.startswith("https://127.0.0.1:")


def test_the_sandbox_package_does_not_load_the_emulator_eagerly():
    import subprocess
    import sys

    code = "import sys, airflow_provider_nova.sandbox; print(sorted({'kmock', 'aiohttp'} & set(sys.modules)))"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout

    assert loaded.strip() == "[]"
