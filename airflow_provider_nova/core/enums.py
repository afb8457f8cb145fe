"""Enumerations of the Nova customization SDK: models, methods, platforms, statuses."""

from __future__ import annotations

from enum import Enum

from airflow_provider_nova.core.errors import ConfigurationError


class Version(Enum):
    """Generation of a Nova model."""

    ONE = 1
    TWO = 2


class Model(Enum):
    """A Nova model that can be customized.

    Each member carries the service's ``model_type``, the base model name the recipes
    use (``model_path``), the model generation and its SageMaker Public Hub content name.
    """

    NOVA_MICRO = ("amazon.nova-micro-v1:0:128k", "nova-micro/prod", Version.ONE, "nova-textgeneration-micro")
    NOVA_LITE = ("amazon.nova-lite-v1:0:300k", "nova-lite/prod", Version.ONE, "nova-textgeneration-lite")
    NOVA_LITE_2 = ("amazon.nova-2-lite-v1:0:256k", "nova-lite-2/prod", Version.TWO, "nova-textgeneration-lite-v2")
    NOVA_PRO = ("amazon.nova-pro-v1:0:300k", "nova-pro/prod", Version.ONE, "nova-textgeneration-pro")

    def __init__(self, model_type: str, model_path: str, version: Version, hub_content_name: str) -> None:
        self.model_type = model_type
        self.model_path = model_path
        self.version = version
        self.hub_content_name = hub_content_name

    @classmethod
    def from_model_type(cls, model_type: str) -> Model:
        """Return the model whose ``model_type`` is ``model_type``; ConfigurationError for any other value."""
        for model in cls:
            if isinstance(model_type, str) and model.model_type == model_type:
                return model
        valid = ", ".join(m.model_type for m in cls)
        raise ConfigurationError(f"unknown model_type {model_type!r}; valid model types: {valid}")


class TrainingMethod(Enum):
    """How a model is customized."""

    SFT_LORA = "sft_lora"
    SFT_FULLRANK = "sft_fullrank"
    RFT_LORA = "rft_lora"
    RFT = "rft"
    EVALUATION = "evaluation"

    @property
    def is_lora(self) -> bool:
        """True for the parameter-efficient (LoRA) variants."""
        return self in (TrainingMethod.SFT_LORA, TrainingMethod.RFT_LORA)

    @property
    def is_rft(self) -> bool:
        """True for reinforcement fine-tuning."""
        return self in (TrainingMethod.RFT_LORA, TrainingMethod.RFT)


class DeployPlatform(Enum):
    """Where a customized model is deployed."""

    BEDROCK_OD = "bedrock_od"
    BEDROCK_PT = "bedrock_pt"
    SAGEMAKER = "sagemaker"


class Platform(Enum):
    """Infrastructure a job runs on."""

    SMTJ = "SMTJ"
    SMHP = "SMHP"


class JobStatus(Enum):
    """Status of a job, mapped from the service's own states."""

    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"

    @property
    def is_terminal(self) -> bool:
        """True once the job will not change state again."""
        return self is not JobStatus.IN_PROGRESS


class EvaluationTask(Enum):
    """An evaluation task of the Nova evaluation recipes."""

    MMLU = "mmlu"
    MMLU_PRO = "mmlu_pro"
    BBH = "bbh"
    GPQA = "gpqa"
    MATH = "math"
    STRONG_REJECT = "strong_reject"
    IFEVAL = "ifeval"
    GEN_QA = "gen_qa"
    MMMU = "mmmu"
    LLM_JUDGE = "llm_judge"
    RUBRIC_LLM_JUDGE = "rubric_llm_judge"
    HUMANEVAL = "humaneval"
    HELLASWAG = "hellaswag"
    TRUTHFULQA = "truthfulqa"
    GSM8K = "gsm8k"
    RFT_EVAL = "rft_eval"
