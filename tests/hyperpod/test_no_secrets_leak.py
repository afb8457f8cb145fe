"""Credentials, session tokens and presigned URLs never reach logs, results, recipes or exception messages.

The caller runs with the stand-in account's credentials (an assumed role's key, secret and session token);
a SageMaker training job and a HyperPod job (which makes an EKS token, a presigned STS URL) are started
and followed, and errors are provoked; everything produced is scanned.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from airflow_provider_nova.core import (
    AwsCallError,
    AwsClients,
    BaseJobResult,
    Model,
    NovaError,
    NovaModelCustomizer,
    SMHPRuntimeManager,
    SMTJRuntimeManager,
    TrainingMethod,
)

MARKERS = ("X-Amz-Signature", "X-Amz-Credential", "X-Amz-Security-Token=", "k8s-aws-v1.", "Signature=")
DATA, OUT = "s3://my-bucket/training-data/", "s3://my-bucket/hp-out/"


def secrets() -> dict[str, str]:
    return {name: os.environ[name] for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")}


def leaks(text: str, where: str) -> list[str]:
    found = [f"{where}: {name}" for name, value in secrets().items() if value and value in text]
    return found + [f"{where}: {marker}" for marker in MARKERS if marker.lower() in text.lower()]


def exception_text(exc: BaseException) -> str:
    """The message of an exception and of every one it was raised from."""
    parts: list[str] = []
    seen: BaseException | None = exc
    while seen is not None:
        parts += [str(seen), repr(seen)]
        seen = seen.__cause__ or seen.__context__
    return "\n".join(parts)


@pytest.fixture
def everything(caplog: pytest.LogCaptureFixture) -> Iterator[dict[str, list[str]]]:
    """Captured at DEBUG (every logger, botocore's and kubernetes' included), plus what the test adds."""
    caplog.set_level(logging.DEBUG)
    produced: dict[str, list[str]] = {"texts": []}
    yield produced
    produced["texts"].append(caplog.text)


def _scan(produced: dict[str, list[str]], caplog: pytest.LogCaptureFixture) -> list[str]:
    found: list[str] = []
    for index, text in enumerate([*produced["texts"], caplog.text]):
        found += leaks(text, f"output {index}")
    return found


def test_a_training_job_and_its_errors_carry_no_credentials(
    account: dict[str, str],
    control: Any,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    everything: dict[str, list[str]],
) -> None:
    assert len(os.environ["AWS_SESSION_TOKEN"]) > 20  # the stand-in's assumed-role credentials, not "testing"
    clients = AwsClients(region_name="us-east-1")
    infra = SMTJRuntimeManager("ml.p5.48xlarge", 2, clients=clients)
    customizer = NovaModelCustomizer(Model.NOVA_MICRO, TrainingMethod.SFT_LORA, infra, DATA, "s3://my-bucket/output/")
    plan = customizer.plan_training("leak-check")
    result = customizer.train("leak-check")
    control.complete_job("leak-check")
    result.get_job_status()
    result.dump(str(tmp_path / "result.json"))
    texts = everything["texts"]
    texts += [plan.recipe.yaml, json.dumps(plan.request, default=str), (tmp_path / "result.json").read_text()]
    texts += [repr(clients), repr(infra), repr(customizer), repr(BaseJobResult.load(str(tmp_path / "result.json")))]
    uploaded = clients.s3.get_object(Bucket="my-bucket", Key="output/leak-check/input/recipe/recipe.yaml")
    texts.append(uploaded["Body"].read().decode())
    texts.append(exception_text(_error(lambda: customizer.train("leak-check"))))  # name taken
    texts.append(exception_text(_error(lambda: clients.sagemaker.describe_training_job(TrainingJobName="nope"))))
    dead = AwsClients(boto3.Session(), region_name="us-east-1", endpoint_url="http://127.0.0.1:9")
    dead.sagemaker.meta.config.retries["total_max_attempts"] = 1
    texts.append(
        exception_text(_error(lambda: BaseJobResult.load(str(tmp_path / "result.json"), clients=dead).get_job_status()))
    )
    texts.append(capsys.readouterr().out)
    assert _scan(everything, caplog) == []


def _error(call: Any) -> BaseException:
    from airflow_provider_nova.core.aws import aws_errors

    try:
        with aws_errors("Call"):
            call()
    except (NovaError, AwsCallError) as exc:
        return exc
    raise AssertionError("no error was raised")


def test_a_hyperpod_job_and_its_eks_token_stay_out_of_everything(
    aws: Any,
    hyperpod: dict[str, Any],
    kube: Any,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    everything: dict[str, list[str]],
) -> None:
    infra = SMHPRuntimeManager("ml.p5.48xlarge", 2, hyperpod["cluster_name"], hyperpod["namespace"], clients=aws)
    customizer = NovaModelCustomizer(Model.NOVA_MICRO, TrainingMethod.SFT_LORA, infra, DATA, OUT)
    result = customizer.train("leak-hp")
    result.dump(str(tmp_path / "r.json"))
    kube.run_pytorchjob(hyperpod["namespace"], "leak-hp")
    loaded = BaseJobResult.load(str(tmp_path / "r.json"))
    loaded.get_job_status()  # a new EKS token
    texts = everything["texts"]
    texts += [(tmp_path / "r.json").read_text(), repr(loaded), repr(infra)]
    config_map = kube.get("v1", "configmaps", hyperpod["namespace"], "training-config-leak-hp")
    texts.append(json.dumps(config_map))
    texts.append(json.dumps(kube.get("kubeflow.org/v1", "pytorchjobs", hyperpod["namespace"], "leak-hp")))
    texts.append(exception_text(_error(lambda: customizer.train("leak-hp"))))  # name taken
    kube.stop()  # the cluster goes away: the error names the call, not the token
    texts.append(exception_text(_error(loaded.get_job_status)))
    assert _scan(everything, caplog) == []


def test_redact_blanks_tokens_presigned_urls_headers_and_sts_answers(eks_token: Any) -> None:
    from airflow_provider_nova.core.errors import AwsCallError, KubernetesCallError
    from airflow_provider_nova.core.redact import redact

    token = eks_token()
    url = "https://b.s3.amazonaws.com/k?X-Amz-Credential=AKIAX%2F1&X-Amz-Security-Token=tok&X-Amz-Signature=abc1"
    samples = {
        f"Bearer {token} rejected": "Bearer [redacted] rejected",
        f"GET {url}": "GET https://b.s3.amazonaws.com/k?[redacted]&[redacted]&[redacted]",
        "headers={'Authorization': b'AWS4-HMAC-SHA256 Credential=AKIAX/x, Signature=ff', 'X': b'1'}": (
            "headers={'Authorization': b'[redacted]', 'X': b'1'}"
        ),
        "<SessionToken>tok</SessionToken><SecretAccessKey>sec</SecretAccessKey>": (
            "<SessionToken>[redacted]</SessionToken><SecretAccessKey>[redacted]</SecretAccessKey>"
        ),
        '{"sessionToken": "tok", "a": 1}': '{"sessionToken": "[redacted]", "a": 1}',
        "nothing secret here": "nothing secret here",
    }
    for text, expected in samples.items():
        assert redact(text) == expected
    assert token not in str(KubernetesCallError("ListPods", 401, "Unauthorized", f"bad token {token}"))
    assert "abc1" not in str(AwsCallError("GetObject", "403", f"denied for {url}"))
