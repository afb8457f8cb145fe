"""A HyperPod hub entry's payload object is the Nova chart rendered with placeholders, as the publisher makes it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from airflow_provider_nova.core.aws import AwsClients
from airflow_provider_nova.core.s3 import read_object
from airflow_provider_nova.sandbox import hub_payload, hub_snapshot
from airflow_provider_nova.sandbox.hub_snapshot import build

try:
    REFERENCE: Path | None = build.find_reference(Path(__file__).resolve().parent)
except FileNotFoundError:
    REFERENCE = None
EXAMPLE = "nova_micro_1_0_p5_p4d_gpu_lora_sft"


def entry(aws: AwsClients, region: str, model: str, name: str) -> dict[str, Any]:
    clients = AwsClients(region_name=region, endpoint_url=aws.endpoint_url)
    answer = clients.sagemaker.describe_hub_content(
        HubName="SageMakerPublicHub", HubContentType="Model", HubContentName=model
    )
    found: dict[str, Any] = next(
        e for e in json.loads(answer["HubContentDocument"])["RecipeCollection"] if e["Name"] == name
    )
    return found


def served_payload(aws: AwsClients, region: str, model: str, name: str) -> str:
    clients = AwsClients(region_name=region, endpoint_url=aws.endpoint_url)
    return read_object(clients.s3, entry(aws, region, model, name)["HpEksPayloadTemplateS3Uri"]).decode("utf-8")


def documents(payload: str) -> list[dict[str, Any]]:
    """The payload's documents, placeholders kept readable (``{{x}}`` is not YAML-safe unquoted)."""
    return list(yaml.safe_load_all(payload.replace("{{", "<<").replace("}}", ">>")))


def pod_spec(job: dict[str, Any], kind: str = "Master") -> dict[str, Any]:
    spec: dict[str, Any] = job["spec"]["pytorchReplicaSpecs"][kind]["template"]["spec"]
    return spec


@pytest.mark.skipif(REFERENCE is None, reason="shared/reference/published-hub is not checked out")
def test_the_served_payload_is_the_reconstructed_example_to_the_byte(aws: AwsClients) -> None:
    assert REFERENCE is not None
    example = (REFERENCE / "hyperpod-payload-example" / f"{EXAMPLE}.yaml").read_text(encoding="utf-8")

    assert served_payload(aws, "us-east-1", "nova-textgeneration-micro", EXAMPLE) == example


def test_each_region_gets_its_own_images_and_region(aws: AwsClients) -> None:
    config_map, job = documents(served_payload(aws, "us-west-2", "nova-textgeneration-micro", EXAMPLE))
    template = hub_snapshot.read_recipe_file("hyperpod", EXAMPLE, "yaml").decode().replace("{{", "<<")
    assert config_map["data"]["config.yaml"] + "\n" == template.replace("}}", ">>")
    for kind in ("Master", "Worker"):
        spec = pod_spec(job, kind)
        (init,), (pytorch,) = spec["initContainers"], spec["containers"]
        assert init["image"] == "176779409107.dkr.ecr.us-west-2.amazonaws.com/init-container-repo:latest"
        assert pytorch["image"] == "176779409107.dkr.ecr.us-west-2.amazonaws.com/nova-fine-tune-repo:SM-HP-SFT-latest"
        expected_env = [
            {"name": "AWS_REGION", "value": "us-west-2"},
            {"name": "INSTANCE_TYPE", "value": "<<instance_type>>"},
        ]
        assert init["env"] == pytorch["env"] == expected_env
        assert "hostNetwork" not in spec and "k8s-ca-cert" not in {v["name"] for v in spec["volumes"]}
    assert job["spec"]["pytorchReplicaSpecs"]["Worker"]["replicas"] == "<<replicas>>"


def test_an_evaluation_payload_takes_the_charts_lambda_access_branch(aws: AwsClients) -> None:
    name = "nova_micro_1_0_p5_48xl_gpu_general_text_benchmark_eval"
    config_map, job = documents(served_payload(aws, "us-east-1", "nova-textgeneration-micro", name))

    assert "evaluation" in yaml.safe_load(config_map["data"]["config.yaml"])
    assert list(job["spec"]["pytorchReplicaSpecs"]) == ["Master"]  # the recipe runs on one instance
    spec = pod_spec(job)
    assert (spec["hostNetwork"], spec["dnsPolicy"]) == (True, "ClusterFirstWithHostNet")
    ca_mount = {"name": "k8s-ca-cert", "mountPath": "/etc/kubernetes/pki/ca.crt", "readOnly": True}
    assert spec["containers"][0]["volumeMounts"][-1] == ca_mount
    assert spec["initContainers"][0]["volumeMounts"][-1] == ca_mount
    ca_volume = {"name": "k8s-ca-cert", "hostPath": {"path": "/etc/kubernetes/pki/ca.crt", "type": "File"}}
    assert spec["volumes"][-1] == ca_volume


@pytest.mark.parametrize(
    ("name", "gpus", "efa"),
    [
        ("nova_micro_1_0_g5_g6_12x_gpu_lora_sft", 4, 1),
        ("nova_micro_1_0_g5_g6_48x_gpu_sft", 8, 1),
        ("nova_micro_1_0_p5_p4d_gpu_sft", 8, 32),
    ],
)
def test_devices_follow_the_recipes_instance_type(aws: AwsClients, name: str, gpus: int, efa: int) -> None:
    _, job = documents(served_payload(aws, "us-east-1", "nova-textgeneration-micro", name))
    resources = pod_spec(job)["containers"][0]["resources"]
    assert resources["limits"] == resources["requests"] == {"nvidia.com/gpu": gpus, "vpc.amazonaws.com/efa": efa}


def test_every_chart_rendered_recipe_is_a_config_map_and_a_pytorch_job() -> None:
    for model in hub_snapshot.list_model_documents():
        for recipe in hub_snapshot.load_model_document(model)["Recipes"]:
            if "hyperpod" not in recipe["Platforms"] or not hub_payload.is_chart_rendered(recipe["Name"]):
                continue
            template = hub_snapshot.read_recipe_file("hyperpod", recipe["Name"], "yaml").decode()
            images = {"training": "example.com/train:1", "init": "example.com/init:1"}
            config_map, job = documents(hub_payload.payload(template, recipe["Metadata"], "us-east-1", images))
            assert config_map["metadata"]["name"] == "training-config-<<name>>"
            assert (job["apiVersion"], job["kind"], job["metadata"]["name"]) == (
                "kubeflow.org/v1",
                "PyTorchJob",
                "<<name>>",
            )
            kinds = ["Master", "Worker"] if (recipe["Metadata"].get("InstanceCount") or 0) > 1 else ["Master"]
            assert list(job["spec"]["pytorchReplicaSpecs"]) == kinds, recipe["Name"]
            affinity = pod_spec(job)["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
            assert affinity["nodeSelectorTerms"][0]["matchExpressions"] == [
                {"key": "node.kubernetes.io/instance-type", "operator": "In", "values": ["<<instance_type>>"]},
                {"key": "sagemaker.amazonaws.com/instance-group-type", "operator": "In", "values": ["Restricted"]},
            ]


def test_rft_recipes_keep_the_bare_template(aws: AwsClients) -> None:
    name = "nova_lite_2_0_p5_gpu_rft"
    assert not hub_payload.is_chart_rendered(name)
    served = served_payload(aws, "us-east-1", "nova-textgeneration-lite-v2", name)
    assert served.encode("utf-8") == hub_snapshot.read_recipe_file("hyperpod", name, "yaml")
