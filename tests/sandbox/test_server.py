"""The stand-in as users start it: a separate process and the control API."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from airflow_provider_nova.sandbox import SandboxControl


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server_process() -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "airflow_provider_nova.sandbox", "--port", str(port), "--job-seconds", "1"],
        stdout=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        assert proc.stdout is not None
        banner = proc.stdout.readline()
        assert "NOT AWS" in banner
        assert f"listening on {url}" in proc.stdout.readline()
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_command_line_server_answers_hub_and_control(server_process: str) -> None:
    control = SandboxControl(server_process)
    assert "not AWS" in control.health()["service"]
    sm = boto3.client("sagemaker", endpoint_url=server_process, region_name="us-west-2")
    answer = sm.describe_hub_content(
        HubName="SageMakerPublicHub", HubContentType="Model", HubContentName="nova-textgeneration-lite-v2"
    )
    document = json.loads(answer["HubContentDocument"])
    names = {r["Name"] for r in document["RecipeCollection"]}
    assert "nova_lite_v2_smtj_p5_p5en_gpu_rft" in names
    sft = next(r for r in document["RecipeCollection"] if r["Name"] == "nova_lite_2_0_p5_gpu_lora_sft")
    assert sft["SmtjImageUri"] == "176779409107.dkr.ecr.us-west-2.amazonaws.com/nova-fine-tune-repo:SM-TJ-SFT-V2-latest"
    assert sft["SmtjRecipeTemplateS3Uri"].startswith("s3://jumpstart-cache-prod-us-west-2/recipes/")
    s3 = boto3.client("s3", endpoint_url=server_process, region_name="us-west-2")
    bucket, _, key = sft["SmtjOverrideParamsS3Uri"][5:].partition("/")
    params = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    assert "replicas" not in params  # SMTJ templates hold run.replicas as a literal
    bucket, _, key = sft["HpEksOverrideParamsS3Uri"][5:].partition("/")
    params = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    assert params["replicas"]["enum"] == [4, 8, 16, 32]


def test_unknown_hub_content_and_unknown_job_are_service_errors(server_process: str) -> None:
    sm = boto3.client("sagemaker", endpoint_url=server_process, region_name="us-east-1")
    with pytest.raises(sm.exceptions.ResourceNotFound):
        sm.describe_hub_content(HubName="SageMakerPublicHub", HubContentType="Model", HubContentName="nova-mega")
    with pytest.raises(sm.exceptions.ClientError, match="Requested resource not found"):
        sm.describe_training_job(TrainingJobName="never-started")
    request = urllib.request.Request(server_process + "/_sandbox/nothing", data=b"{}", method="POST")
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request, timeout=5)
    assert info.value.code == 404


def test_region_without_images_has_no_recipes(server_process: str) -> None:
    sm = boto3.client("sagemaker", endpoint_url=server_process, region_name="eu-central-1")
    answer = sm.describe_hub_content(
        HubName="SageMakerPublicHub", HubContentType="Model", HubContentName="nova-textgeneration-micro"
    )
    assert json.loads(answer["HubContentDocument"])["RecipeCollection"] == []


def test_tensorboard_reads_the_stand_in_event_files(tmp_path: Path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from airflow_provider_nova.sandbox.tfevents import read_scalars, scalar_events

    data = scalar_events({"mmlu/accuracy": 0.75, "mmlu/other": 1.5}, 1_700_000_000.0, step=3)
    (tmp_path / "events.out.tfevents.1700000000.sandbox").write_bytes(data)
    accumulator = EventAccumulator(str(tmp_path))
    accumulator.Reload()
    assert sorted(accumulator.Tags()["scalars"]) == ["mmlu/accuracy", "mmlu/other"]
    event = accumulator.Scalars("mmlu/accuracy")[0]
    assert (event.wall_time, event.step, event.value) == (1_700_000_000.0, 3, 0.75)
    assert read_scalars(data) == {"mmlu/accuracy": 0.75, "mmlu/other": 1.5}
    with pytest.raises(ValueError, match="bad data CRC"):
        read_scalars(data[:-1] + bytes([data[-1] ^ 1]))
