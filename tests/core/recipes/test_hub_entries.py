"""Hub entries read as the public SDK reads them, and instance counts as published."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_nova.core.aws import AwsClients
from airflow_provider_nova.core.enums import Model, Platform, TrainingMethod
from airflow_provider_nova.core.errors import ConfigurationError
from airflow_provider_nova.core.recipes import RecipeCache, RecipeEntry, RecipeHub

PUBLISHED = {  # as the publisher's metadata writes it
    "Name": "nova_micro_1_0_p5_p4d_gpu_lora_sft",
    "DisplayName": "Nova Micro LoRA SFT on GPU",
    "Type": "FineTuning",
    "CustomizationTechnique": "sft",
    "Peft": "lora",
    "InstanceCount": 2,
    "InstanceTypes": ["ml.p5.48xlarge"],
    "Versions": ["1.2.0"],
}


@pytest.mark.parametrize(
    "raw",
    [
        PUBLISHED,
        # as the publisher's hub-entry code and the public SDK spell it
        {**PUBLISHED, "CustomizationTechnique": "SFT", "Peft": "LORA", "SupportedInstanceTypes": ["ml.p5.48xlarge"]},
    ],
)
def test_both_spellings_read_the_same(raw: dict[str, Any]) -> None:
    entry = RecipeEntry.from_document(raw)
    assert entry.technique == "SFT" and entry.is_lora and entry.versions == ("1.2.0",)
    assert entry.instance_types == ("ml.p5.48xlarge",)
    assert entry.is_training_for(TrainingMethod.SFT_LORA) and not entry.is_training_for(TrainingMethod.SFT_FULLRANK)


def test_full_rank_has_no_peft_and_rlvr_is_rft() -> None:
    entry = RecipeEntry.from_document({**PUBLISHED, "CustomizationTechnique": "RLVR", "Peft": None})
    assert entry.is_training_for(TrainingMethod.RFT) and not entry.is_lora


@pytest.mark.parametrize(
    ("evaluation_type", "display", "kind"),
    [
        ("DeterministicTextBenchmark", "x", "general_text_benchmark"),
        ("DeterministicMultiModalBenchmark", "x", "general_multi_modal_benchmark"),
        ("DeterministicEvaluation", "x", "bring_your_own_dataset"),
        (None, "Nova Micro Bring Your Own Dataset Evaluation on P5", "bring_your_own_dataset"),
        (None, "Nova Pro General Multi-Modal Benchmark Evaluation on P5", "general_multi_modal_benchmark"),
    ],
)
def test_evaluation_kind_from_the_published_type_or_the_display_name(
    evaluation_type: str | None, display: str, kind: str
) -> None:
    raw = {"Name": "e", "Type": "Evaluation", "DisplayName": display, "EvaluationType": evaluation_type}
    assert RecipeEntry.from_document(raw).evaluation_kind == kind


@pytest.fixture
def hub(sandbox: Any) -> RecipeHub:
    return RecipeHub(AwsClients(region_name="us-east-1", endpoint_url=sandbox.endpoint_url), RecipeCache())


def test_replicas_come_from_the_hyperpod_sibling(hub: RecipeHub) -> None:
    micro = hub.select_training(Model.NOVA_MICRO, TrainingMethod.SFT_LORA, Platform.SMTJ, "ml.p5.48xlarge")
    assert hub.allowed_replicas(Model.NOVA_MICRO, micro, "ml.p5.48xlarge") == (2, 4, 8)
    small = hub.select_training(Model.NOVA_MICRO, TrainingMethod.SFT_LORA, Platform.SMTJ, "ml.g5.12xlarge")
    assert hub.allowed_replicas(Model.NOVA_MICRO, small, "ml.g5.12xlarge") == (1,)
    # the SMTJ RFT recipe and its HyperPod sibling have different names
    rft = hub.select_training(Model.NOVA_LITE_2, TrainingMethod.RFT_LORA, Platform.SMTJ, "ml.p5.48xlarge")
    assert rft.name == "nova_lite_v2_smtj_p5_p5en_gpu_lora_rft"
    assert hub.allowed_replicas(Model.NOVA_LITE_2, rft, "ml.p5.48xlarge") == (2, 4, 8, 16)
    with pytest.raises(ConfigurationError) as info:
        hub.check_replicas(Model.NOVA_LITE_2, rft, "ml.p5.48xlarge", 1)
    assert "instance_count 1 is not allowed for NOVA_LITE_2 on ml.p5.48xlarge" in str(info.value)
    assert str(info.value).endswith("allowed counts: 2, 4, 8, 16")  # 1 is allowed nowhere for this recipe
    hub.check_replicas(Model.NOVA_LITE_2, rft, "ml.p5.48xlarge", 8)


def test_evaluation_runs_on_one_instance(hub: RecipeHub) -> None:
    entry = hub.select_evaluation(Model.NOVA_PRO, "general_text_benchmark", Platform.SMTJ, "ml.p5.48xlarge")
    assert hub.allowed_replicas(Model.NOVA_PRO, entry, "ml.p5.48xlarge") == (1,)
