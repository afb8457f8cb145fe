"""A result file cannot send calls (and the caller's credentials) anywhere: its fields are data, checked."""

from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_nova.core import AwsCallError, AwsClients, BaseJobResult, ConfigurationError, JobStatus

JOB = {
    "result_type": "training",
    "job_id": "safe-job",
    "started_time": "2025-01-01T00:00:00Z",
    "platform": "SMTJ",
    "region": "us-east-1",
    "method": "sft_lora",
    "model_artifacts": {"output_s3_path": "s3://my-bucket/output/safe-job/output/output.tar.gz"},
}


class Listener:
    """A TCP listener on loopback that records every request it is sent, and answers 500."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}"
        self.received: list[bytes] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                data = b""
                try:
                    while b"\r\n\r\n" not in data:
                        chunk = conn.recv(65536)
                        if not chunk:
                            break
                        data += chunk
                    conn.sendall(
                        b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                    )
                except OSError:
                    pass
                self.received.append(data)

    def close(self) -> None:
        self.server.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    found = Listener()
    yield found
    found.close()


def _write(tmp_path: Path, **changes: Any) -> str:
    path = tmp_path / "result.json"
    path.write_text(json.dumps({**JOB, **changes}))
    return str(path)


def _start_job(aws: Any) -> None:
    aws.sagemaker.create_training_job(
        TrainingJobName="safe-job",
        AlgorithmSpecification={"TrainingImage": "x", "TrainingInputMode": "File"},
        RoleArn="arn:aws:iam::123456789012:role/NovaCustomizationRole",
        OutputDataConfig={"S3OutputPath": "s3://my-bucket/output/"},
        ResourceConfig={"InstanceType": "ml.p5.48xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30},
        StoppingCondition={"MaxRuntimeInSeconds": 3600},
    )


def test_a_tampered_endpoint_in_a_result_file_is_never_called(
    account: dict[str, str], aws: Any, listener: Listener, tmp_path: Path
) -> None:
    _start_job(aws)
    loaded = BaseJobResult.load(_write(tmp_path, endpoint_url=listener.url))
    assert loaded.get_job_status() == (JobStatus.IN_PROGRESS, "InProgress")  # from the stand-in (AWS_ENDPOINT_URL)
    assert listener.received == []
    assert "endpoint_url" not in loaded.model_dump() and "endpoint_url" not in loaded.model_dump_json()


def test_the_listener_sees_signed_calls_when_the_caller_sends_them_there(
    account: dict[str, str], listener: Listener, tmp_path: Path
) -> None:
    """The check above can fail: a call really sent to the listener is recorded with its credentials."""
    loaded = BaseJobResult.load(_write(tmp_path), endpoint_url=listener.url)
    with pytest.raises(AwsCallError):
        loaded.get_job_status()
    assert listener.received, "the explicit endpoint_url was not used"
    assert os.environ["AWS_ACCESS_KEY_ID"].encode() in listener.received[0]  # the signature names the key
    assert os.environ["AWS_SESSION_TOKEN"].encode() in listener.received[0]


def test_clients_given_to_load_are_used(account: dict[str, str], aws: Any, listener: Listener, tmp_path: Path) -> None:
    _start_job(aws)
    loaded = BaseJobResult.load(_write(tmp_path, endpoint_url=listener.url), clients=aws)
    assert loaded.clients is aws
    assert loaded.get_job_status()[0] is JobStatus.IN_PROGRESS
    assert listener.received == []


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"region": "127.0.0.1:8080"}, "region '127.0.0.1:8080' is not an AWS region name"),
        ({"region": "us-east-1.evil.example"}, "is not an AWS region name"),
        ({"region": "us-east-1\n"}, "is not an AWS region name"),
        ({"job_id": "../../other"}, "job_id '../../other' is not a valid sagemaker TrainingJobName"),
        ({"job_id": "x" * 64}, "1-63 characters"),
        ({"cluster_name": "c", "namespace": "n"}, "cluster_name and namespace are for HyperPod (SMHP) jobs only"),
        ({"platform": "SMHP", "job_id": "a-job", "cluster_name": "c", "namespace": "a/../b"}, "namespace 'a/../b'"),
        ({"platform": "SMHP", "job_id": "a-job", "cluster_name": "c/../x", "namespace": "n"}, "cluster_name 'c/../x'"),
        ({"platform": "SMHP", "job_id": "A_job", "cluster_name": "c", "namespace": "n"}, "job_name 'A_job'"),
        ({"model_artifacts": {"output_s3_path": "https://evil.example/x"}}, "output_s3_path must be an s3:// URI"),
        (
            {"model_artifacts": {"output_s3_path": "s3://b/ok", "checkpoint_s3_path": "s3://B@d/x"}},
            "checkpoint_s3_path has an invalid bucket name",
        ),
    ],
)  # fmt: skip
def test_fields_that_reach_a_request_are_checked_on_load(tmp_path: Path, changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match="is not a valid result") as info:
        BaseJobResult.load(_write(tmp_path, **changes))
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("result_type", "field"),
    [("smtj_evaluation", "eval_output_path"), ("smtj_batch_inference", "inference_output_path")],
)
def test_output_paths_of_evaluation_and_inference_results_are_checked(
    tmp_path: Path, result_type: str, field: str
) -> None:
    from airflow_provider_nova.core.results import _concrete_results

    cls = next(c for c in _concrete_results() if c.model_fields["result_type"].default == result_type)
    good = {k: v for k, v in JOB.items() if k not in ("method", "model_artifacts")}
    extra = {"eval_task": "mmlu"} if "eval" in result_type else {}
    path = _write(tmp_path, **{**good, **extra, "result_type": result_type, field: "s3://my-bucket/out/"})
    for key in ("method", "model_artifacts"):
        data = json.loads(Path(path).read_text())
        data.pop(key, None)
        Path(path).write_text(json.dumps(data))
    assert type(BaseJobResult.load(path)) is cls
    data = json.loads(Path(path).read_text())
    Path(path).write_text(json.dumps({**data, field: "file:///etc/passwd"}))
    with pytest.raises(ConfigurationError, match=f"{field} must be an s3:// URI"):
        BaseJobResult.load(path)


def test_region_pattern_accepts_every_region_botocore_knows() -> None:
    from botocore.loaders import Loader

    from airflow_provider_nova.core.formats import check_region

    endpoints = Loader().load_data("endpoints")
    regions = {name for partition in endpoints["partitions"] for name in partition["regions"]}
    assert len(regions) > 30
    for region in regions:
        check_region(region)


def test_clients_built_for_a_loaded_result_take_the_environment_endpoint(
    monkeypatch: pytest.MonkeyPatch, listener: Listener, tmp_path: Path
) -> None:
    """The caller's environment decides: AWS_ENDPOINT_URL (here the listener), never the file."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", listener.url)
    loaded = BaseJobResult.load(_write(tmp_path, endpoint_url="http://127.0.0.1:9"))
    assert isinstance(loaded.clients, AwsClients)
    assert loaded.clients.endpoint_of("sagemaker") == listener.url
