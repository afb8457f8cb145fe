"""OpenLineage: dataset naming (pure), and no lineage without the OpenLineage provider."""

from __future__ import annotations

import sys

import pytest

from airflow_provider_nova.lineage import dataset_name, operator_lineage

MODEL_ARN = "arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.nova-micro-v1:0:128k/abcdef123456"


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("s3://my-bucket/prepared/train.jsonl", ("s3://my-bucket", "prepared/train.jsonl")),
        ("s3://my-bucket/output/", ("s3://my-bucket", "output")),
        ("s3://my-bucket", ("s3://my-bucket", "/")),
        ("s3://my-bucket/", ("s3://my-bucket", "/")),
        (
            MODEL_ARN,
            ("arn:aws:bedrock:us-east-1:123456789012", "custom-model/amazon.nova-micro-v1:0:128k/abcdef123456"),
        ),
        (
            "arn:aws-cn:bedrock:cn-north-1:123456789012:provisioned-model/0123456789ab",
            ("arn:aws-cn:bedrock:cn-north-1:123456789012", "provisioned-model/0123456789ab"),
        ),
        ("s3://", None),
        ("arn:aws:bedrock:us-east-1:123456789012", None),
        ("arn::bedrock:us-east-1:1:x", None),
        ("/local/path.jsonl", None),
        ("https://example.com/x", None),
    ],
)
def test_dataset_names_follow_the_openlineage_spec(uri: str, expected: tuple[str, str] | None) -> None:
    assert dataset_name(uri) == expected


def test_no_lineage_without_the_openlineage_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    # None in sys.modules makes the import fail as it does when the provider is not installed.
    monkeypatch.setitem(sys.modules, "airflow.providers.openlineage", None)
    monkeypatch.setitem(sys.modules, "airflow.providers.openlineage.extractors.base", None)
    assert operator_lineage(["s3://b/train.jsonl"], [MODEL_ARN]) is None


def test_lineage_lists_the_named_datasets_when_the_provider_is_installed() -> None:
    pytest.importorskip("airflow.providers.openlineage.extractors.base")
    lineage = operator_lineage(["s3://b/train.jsonl", "not-a-dataset"], ["s3://b/ckpt/", MODEL_ARN])
    assert lineage is not None
    assert [(d.namespace, d.name) for d in lineage.inputs] == [("s3://b", "train.jsonl")]
    assert [(d.namespace, d.name) for d in lineage.outputs] == [
        ("s3://b", "ckpt"),
        ("arn:aws:bedrock:us-east-1:123456789012", "custom-model/amazon.nova-micro-v1:0:128k/abcdef123456"),
    ]
