"""Evaluation tasks: which recipe each runs with, its strategy, metric and subtasks.

Facts from AWS's Nova evaluation documentation and the public Nova SDK: BBH runs few-shot chain of
thought (``fs_cot``); MMMU runs on the multi-modal benchmark recipe; ``gen_qa`` is the
bring-your-own-dataset recipe. HellaSwag, TruthfulQA and GSM8K are named by the SDK's spec but are
not offered by any Nova evaluation recipe.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from airflow_provider_nova.core.enums import EvaluationTask
from airflow_provider_nova.core.errors import ConfigurationError
from airflow_provider_nova.core.formats import check_shape

# Matched with fullmatch: ``$`` would accept a trailing newline.
LAMBDA_ARN = re.compile(
    r"arn:aws[a-z\-]*:lambda:[a-z0-9\-]+:\d{12}:function:[a-zA-Z0-9\-_]{1,64}(:(\$LATEST|[a-zA-Z0-9\-_]{1,128}))?",
    re.ASCII,
)

MMLU = (
    "abstract_algebra anatomy astronomy business_ethics clinical_knowledge college_biology college_chemistry "
    "college_computer_science college_mathematics college_medicine college_physics computer_security "
    "conceptual_physics econometrics electrical_engineering elementary_mathematics formal_logic global_facts "
    "high_school_biology high_school_chemistry high_school_computer_science high_school_european_history "
    "high_school_geography high_school_government_and_politics high_school_macroeconomics high_school_mathematics "
    "high_school_microeconomics high_school_physics high_school_psychology high_school_statistics "
    "high_school_us_history high_school_world_history human_aging human_sexuality international_law jurisprudence "
    "logical_fallacies machine_learning management marketing medical_genetics miscellaneous moral_disputes "
    "moral_scenarios nutrition philosophy prehistory professional_accounting professional_law professional_medicine "
    "professional_psychology public_relations security_studies sociology us_foreign_policy virology world_religions"
).split()
BBH = (
    "boolean_expressions causal_judgement date_understanding disambiguation_qa dyck_languages formal_fallacies "
    "geometric_shapes hyperbaton logical_deduction_five_objects logical_deduction_seven_objects "
    "logical_deduction_three_objects movie_recommendation multistep_arithmetic_two navigate object_counting "
    "penguins_in_a_table reasoning_about_colored_objects ruin_names salient_translation_error_detection snarks "
    "sports_understanding temporal_sequences tracking_shuffled_objects_five_objects "
    "tracking_shuffled_objects_seven_objects tracking_shuffled_objects_three_objects web_of_lies word_sorting"
).split()
MATH = "algebra counting_and_probability geometry intermediate_algebra number_theory prealgebra precalculus".split()
STRONG_REJECT = ["dangerous_or_sensitive_topics", "offensive_language"]
MMMU = (
    "accounting agriculture architecture_and_engineering art art_theory basic_medical_science biology chemistry "
    "clinical_medicine computer_science design economics electronics energy_and_power finance geography history "
    "literature manage marketing materials math mechanical_engineering music pharmacy physics psychology "
    "public_health sociology"
).split()


@dataclass(frozen=True)
class TaskSpec:
    """How one evaluation task runs: recipe kind, strategy, metric, subtasks, own data or not."""

    kind: str
    strategy: str
    metric: str
    subtasks: tuple[str, ...] = ()
    own_data: bool = False


TEXT, MULTI_MODAL, OWN_DATA = "general_text_benchmark", "general_multi_modal_benchmark", "bring_your_own_dataset"
TASKS: dict[EvaluationTask, TaskSpec] = {
    EvaluationTask.MMLU: TaskSpec(TEXT, "zs_cot", "accuracy", tuple(MMLU)),
    EvaluationTask.MMLU_PRO: TaskSpec(TEXT, "zs_cot", "accuracy"),
    EvaluationTask.BBH: TaskSpec(TEXT, "fs_cot", "accuracy", tuple(BBH)),
    EvaluationTask.GPQA: TaskSpec(TEXT, "zs_cot", "accuracy"),
    EvaluationTask.MATH: TaskSpec(TEXT, "zs_cot", "exact_match", tuple(MATH)),
    EvaluationTask.STRONG_REJECT: TaskSpec(TEXT, "zs", "deflection", tuple(STRONG_REJECT)),
    EvaluationTask.IFEVAL: TaskSpec(TEXT, "zs", "accuracy"),
    EvaluationTask.HUMANEVAL: TaskSpec(TEXT, "zs", "pass@1"),
    EvaluationTask.MMMU: TaskSpec(MULTI_MODAL, "zs_cot", "accuracy", tuple(MMMU)),
    EvaluationTask.GEN_QA: TaskSpec(OWN_DATA, "gen_qa", "all", own_data=True),
    EvaluationTask.LLM_JUDGE: TaskSpec("llm_judge", "judge", "all", own_data=True),
    EvaluationTask.RUBRIC_LLM_JUDGE: TaskSpec("rubric_llm_judge", "judge", "all", own_data=True),
    EvaluationTask.RFT_EVAL: TaskSpec("rft", "rft_eval", "all", own_data=True),
}
PROCESSOR_KEYS = {"lambda_arn", "lambda_type", "preprocessing", "postprocessing", "aggregation"}
LAMBDA_TYPES = ("rft", "custom_metrics")
AGGREGATIONS = ("average", "min", "max", "sum")


def task_spec(task: Any) -> TaskSpec:
    """The spec of ``task``; ConfigurationError for a task no Nova evaluation recipe offers."""
    if not isinstance(task, EvaluationTask):
        raise ConfigurationError(f"eval_task must be an EvaluationTask, got {task!r}")
    if task not in TASKS:
        offered = ", ".join(t.name for t in TASKS)
        raise ConfigurationError(f"{task.name} is not offered by the Nova evaluation recipes; offered tasks: {offered}")
    return TASKS[task]


def check_subtask(task: EvaluationTask, subtask: str | None) -> str:
    """Return the subtask for the recipe (``""`` for none); a clear error when it does not exist."""
    if subtask is None or subtask == "":
        return ""
    spec = task_spec(task)
    if not isinstance(subtask, str):
        raise ConfigurationError(f"subtask must be a string or None, got {subtask!r}")
    if not spec.subtasks:
        raise ConfigurationError(f"{task.name} has no subtasks; leave subtask unset")
    if subtask not in spec.subtasks:
        raise ConfigurationError(
            f"subtask {subtask!r} is not a {task.name} subtask; valid subtasks: {', '.join(spec.subtasks)}"
        )
    return subtask


def check_lambda_arn(arn: Any, field: str) -> str:
    """Return ``arn`` when it is a Lambda function ARN; else a ConfigurationError naming ``field``."""
    if arn is None:
        raise ConfigurationError(f"{field} is required: a Lambda function ARN")
    if not isinstance(arn, str) or not LAMBDA_ARN.fullmatch(arn):
        raise ConfigurationError(
            f"{field} {arn!r} is not a Lambda function ARN (arn:aws:lambda:<region>:<account>:function:<name>)"
        )
    return check_shape(arn, field, "lambda", "FunctionArn")


def check_processor(task: EvaluationTask, processor: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Check a bring-your-own-metrics ``processor`` block (gen_qa only)."""
    if processor is None:
        return None
    if not isinstance(processor, Mapping):
        raise ConfigurationError(f"processor must be a dict, got {type(processor).__name__}")
    if task is not EvaluationTask.GEN_QA:
        raise ConfigurationError(f"processor (bring your own metrics) is only used with GEN_QA, not {task.name}")
    unknown = set(processor) - PROCESSOR_KEYS
    if unknown:
        raise ConfigurationError(
            f"unknown processor keys {sorted(unknown, key=str)}; known: {', '.join(sorted(PROCESSOR_KEYS))}"
        )
    out: dict[str, Any] = {"lambda_arn": check_lambda_arn(processor.get("lambda_arn"), "processor['lambda_arn']")}
    for key, allowed in (("lambda_type", LAMBDA_TYPES), ("aggregation", AGGREGATIONS)):
        if key in processor:
            out[key] = _one_of(processor[key], allowed, f"processor[{key!r}]")
    for step in ("preprocessing", "postprocessing"):
        if step in processor:
            value = processor[step]
            enabled = value.get("enabled") if isinstance(value, Mapping) else None
            if not isinstance(enabled, bool) or set(value) != {"enabled"}:
                raise ConfigurationError(f"processor[{step!r}] must be {{'enabled': True or False}}, got {value!r}")
            out[step] = {"enabled": enabled}
    return out


def _one_of(value: Any, allowed: tuple[str, ...], field: str) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise ConfigurationError(f"{field} must be one of {', '.join(allowed)}, got {value!r}")
    return value


def check_rl_env(task: EvaluationTask, rl_env: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Check an RL environment config (RFT evaluation only)."""
    if rl_env is None:
        return None
    if task is not EvaluationTask.RFT_EVAL:
        raise ConfigurationError(f"rl_env is only used with RFT_EVAL, not {task.name}")
    if not isinstance(rl_env, Mapping) or set(rl_env) != {"reward_lambda_arn"}:
        raise ConfigurationError(f"rl_env must be {{'reward_lambda_arn': <Lambda ARN>}}, got {rl_env!r}")
    return {"reward_lambda_arn": check_lambda_arn(rl_env["reward_lambda_arn"], "rl_env['reward_lambda_arn']")}
