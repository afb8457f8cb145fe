from __future__ import annotations

import re

import pytest

from airflow_provider_nova.core import DeployPlatform, JobStatus, Model, Platform, TrainingMethod, Version


@pytest.mark.parametrize(
    ("model", "model_type", "model_path", "version"),
    [
        (Model.NOVA_MICRO, "amazon.nova-micro-v1:0:128k", "nova-micro/prod", Version.ONE),
        (Model.NOVA_LITE, "amazon.nova-lite-v1:0:300k", "nova-lite/prod", Version.ONE),
        (Model.NOVA_LITE_2, "amazon.nova-2-lite-v1:0:256k", "nova-lite-2/prod", Version.TWO),
        (Model.NOVA_PRO, "amazon.nova-pro-v1:0:300k", "nova-pro/prod", Version.ONE),
    ],
)
def test_model_carries_the_service_names(model: Model, model_type: str, model_path: str, version: Version) -> None:
    assert (model.model_type, model.model_path, model.version) == (model_type, model_path, version)
    assert Model.from_model_type(model_type) is model


def test_from_model_type_lists_the_valid_types() -> None:
    with pytest.raises(ValueError, match=re.escape("unknown model_type 'amazon.nova-mega'")) as info:
        Model.from_model_type("amazon.nova-mega")
    for model in Model:
        assert model.model_type in str(info.value)


def test_enum_members_are_those_of_the_spec() -> None:
    assert [m.name for m in TrainingMethod] == ["SFT_LORA", "SFT_FULLRANK", "RFT_LORA", "RFT", "EVALUATION"]
    assert [p.name for p in DeployPlatform] == ["BEDROCK_OD", "BEDROCK_PT", "SAGEMAKER"]
    assert [p.name for p in Platform] == ["SMTJ", "SMHP"]
    assert [s.name for s in JobStatus] == ["IN_PROGRESS", "COMPLETED", "FAILED"]
    assert [v.value for v in Version] == [1, 2]


def test_only_in_progress_is_not_terminal() -> None:
    assert [s for s in JobStatus if not s.is_terminal] == [JobStatus.IN_PROGRESS]


def test_method_flags() -> None:
    assert {m for m in TrainingMethod if m.is_lora} == {TrainingMethod.SFT_LORA, TrainingMethod.RFT_LORA}
    assert {m for m in TrainingMethod if m.is_rft} == {TrainingMethod.RFT_LORA, TrainingMethod.RFT}
