"""The stand-in's hub serves exactly what the recipe publisher emits (``shared/reference/published-hub``)."""

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
needs_reference = pytest.mark.skipif(REFERENCE is None, reason="shared/reference/published-hub is not checked out")
REGIONS = ("us-east-1", "us-west-2", "ap-northeast-1")
# what the hub adds to a recipe's published metadata, per platform: (image parameter, fields)
ADDED = {
    "smtj": ("smtj_regional_ecr_uri", ("SmtjRecipeTemplateS3Uri", "SmtjOverrideParamsS3Uri", "SmtjImageUri")),
    "hyperpod": ("hp_eks_regional_ecr_uri", ("HpEksPayloadTemplateS3Uri", "HpEksOverrideParamsS3Uri")),
}


def published() -> dict[str, dict[str, dict[str, Any]]]:
    assert REFERENCE is not None
    return build.load_documents(REFERENCE)


def published_in(region: str) -> dict[str, dict[str, dict[str, Any]]]:
    """The published documents of every recipe with an image in ``region``, by recipe and platform."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for name, by_platform in published().items():
        for platform, doc in by_platform.items():
            if region in doc["regional_parameters"].get(ADDED[platform][0], {}).get("prod", {}):
                out.setdefault(name, {})[platform] = doc
    return out


@needs_reference
def test_the_packaged_snapshot_is_the_builders_output(tmp_path: Path) -> None:
    assert REFERENCE is not None
    build.write_snapshot(REFERENCE, tmp_path)
    written = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    packaged = sorted(
        p.relative_to(hub_snapshot.SNAPSHOT_DIR)
        for p in hub_snapshot.SNAPSHOT_DIR.rglob("*")
        if p.is_file() and p.parent.name != "__pycache__" and p.suffix in (".json", ".yaml")
    )
    assert written == packaged
    for path in written:
        assert (tmp_path / path).read_bytes() == (hub_snapshot.SNAPSHOT_DIR / path).read_bytes(), path


@needs_reference
@pytest.mark.parametrize("region", REGIONS)
def test_describe_hub_content_serves_the_published_documents(aws: AwsClients, region: str) -> None:
    clients = AwsClients(region_name=region, endpoint_url=aws.endpoint_url)
    expected = published_in(region)
    served: dict[str, dict[str, Any]] = {}
    for model_id in sorted({d["metadata"]["Model_ID"] for docs in published().values() for d in docs.values()}):
        answer = clients.sagemaker.describe_hub_content(
            HubName="SageMakerPublicHub", HubContentType="Model", HubContentName=model_id
        )
        for entry in json.loads(answer["HubContentDocument"])["RecipeCollection"]:
            assert entry["Model_ID"] == model_id
            served[entry["Name"]] = entry
    assert sorted(served) == sorted(expected)
    for name, by_platform in expected.items():
        check_entry(clients, served[name], by_platform, region)


def check_entry(clients: AwsClients, entry: dict[str, Any], docs: dict[str, dict[str, Any]], region: str) -> None:
    metadata = next(iter(docs.values()))["metadata"]
    added = {"SupportedInstanceTypes"} | {f for p in docs for f in ADDED[p][1]}
    assert set(entry) == set(metadata) | added, entry["Name"]
    assert {k: entry[k] for k in metadata} == metadata
    assert entry["SupportedInstanceTypes"] == metadata["InstanceTypes"]
    for platform, doc in docs.items():
        template_field, params_field, *image_field = ADDED[platform][1]
        assert served_template(read_object(clients.s3, entry[template_field]), platform, entry["Name"]) == (
            doc["template_yaml"].encode("utf-8")
        )
        params = read_object(clients.s3, entry[params_field])
        assert json.loads(params) == doc["override_parameters"]
        assert params == json.dumps(doc["override_parameters"], indent=2).encode("utf-8")
        assert entry[template_field].startswith(f"s3://jumpstart-cache-prod-{region}/recipes/{entry['Name']}_")
        if image_field:
            assert entry[image_field[0]] == doc["regional_parameters"]["smtj_regional_ecr_uri"]["prod"][region]
    for platform in set(ADDED) - set(docs):
        assert not set(ADDED[platform][1]) & set(entry), (entry["Name"], platform)


def served_template(body: bytes, platform: str, name: str) -> bytes:
    """The recipe template a served template object holds: a HyperPod payload holds it in its ConfigMap."""
    if platform == "smtj" or not hub_payload.is_chart_rendered(name):
        return body
    config_map, job = yaml.safe_load_all(body.decode("utf-8").replace("{{", "<<").replace("}}", ">>"))
    assert (config_map["kind"], job["kind"]) == ("ConfigMap", "PyTorchJob"), name
    return (config_map["data"]["config.yaml"].replace("<<", "{{").replace(">>", "}}") + "\n").encode("utf-8")


def test_a_region_without_images_serves_an_empty_collection(aws: AwsClients) -> None:
    clients = AwsClients(region_name="eu-north-1", endpoint_url=aws.endpoint_url)
    answer = clients.sagemaker.describe_hub_content(
        HubName="SageMakerPublicHub", HubContentType="Model", HubContentName="nova-textgeneration-micro"
    )
    assert json.loads(answer["HubContentDocument"]) == {"RecipeCollection": []}


def test_unknown_hub_content_is_not_found(aws: AwsClients) -> None:
    from airflow_provider_nova.core.aws import aws_errors
    from airflow_provider_nova.core.errors import AwsCallError

    with pytest.raises(AwsCallError, match="ResourceNotFound"), aws_errors("DescribeHubContent"):
        aws.sagemaker.describe_hub_content(
            HubName="SageMakerPublicHub", HubContentType="Model", HubContentName="nova-textgeneration-mega"
        )


def test_snapshot_files_are_read_only_by_name() -> None:
    with pytest.raises(KeyError):
        hub_snapshot.load_model_document("nova-textgeneration-mega")
    with pytest.raises(KeyError):
        hub_snapshot.read_recipe_file("smtj", "../../models/nova-textgeneration-micro", "json")
    with pytest.raises(KeyError):
        hub_snapshot.read_recipe_file("bedrock", "nova_micro_1_0_p5_p4d_gpu_sft", "json")
    assert hub_snapshot.read_recipe_file("smtj", "nova_micro_1_0_p5_p4d_gpu_sft", "yaml").startswith(b"run:\n")
