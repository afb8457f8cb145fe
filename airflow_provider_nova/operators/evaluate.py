"""``NovaEvaluateOperator``: evaluate a Nova model or a trained checkpoint on a benchmark or your data."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_nova.operators.base import aws_template_fields
from airflow_provider_nova.operators.job import NovaJobOperator
from airflow_provider_nova.operators.values import member, optional_text

if TYPE_CHECKING:
    from airflow_provider_nova.core import NovaModelCustomizer
    from airflow_provider_nova.core.customizer import JobPlan
    from airflow_provider_nova.core.lifecycle import JobRef, JobState


class NovaEvaluateOperator(NovaJobOperator):
    """The spec's ``NovaModelCustomizer.evaluate`` as a task.

    :param eval_task: ``EvaluationTask`` member or name (``"MMLU"``, ``"GEN_QA"``, ...).
    :param model_path: the checkpoint to evaluate; the base model when omitted.
    :param subtask: one subtask of the benchmark.
    :param data_s3_path: your data, for the tasks that evaluate it (GEN_QA, LLM_JUDGE, ...).
    :param processor: bring your own metrics: ``{"lambda_arn": ..., "lambda_type": ...}``.
    :param rl_env: RFT evaluation environment: ``{"reward_lambda_arn": ...}``.

    Returns ``{"job_name", "status", "eval_output_path", "metrics", "region"}``, ``metrics`` as the
    evaluation result's ``get()`` reads them.
    """

    template_fields: tuple[str, ...] = aws_template_fields(
        *NovaJobOperator.template_fields, "eval_task", "model_path", "subtask", "data_s3_path", "processor", "rl_env"
    )
    job_kind = "evaluation job"

    def __init__(
        self,
        *,
        eval_task: Any,
        model_path: str | None = None,
        subtask: str | None = None,
        data_s3_path: str | None = None,
        processor: dict[str, Any] | None = None,
        rl_env: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.eval_task = eval_task
        self.model_path = model_path
        self.subtask = subtask
        self.data_s3_path = data_s3_path
        self.processor = processor
        self.rl_env = rl_env

    def plan_job(self, customizer: NovaModelCustomizer, job_name: str) -> JobPlan:
        from airflow_provider_nova.core import EvaluationTask
        from airflow_provider_nova.operators.values import overrides_of

        return customizer.plan_evaluation(
            job_name,
            member(EvaluationTask, self.eval_task, "eval_task"),
            optional_text(self.model_path),
            optional_text(self.subtask),
            optional_text(self.data_s3_path),
            optional_text(self.recipe_path),
            overrides_of(self.overrides),
            self.processor or None,
            self.rl_env or None,
        )

    def lineage_paths(self, result: dict[str, Any]) -> tuple[list[str], list[str]]:
        return [optional_text(self.model_path) or "", optional_text(self.data_s3_path) or ""], [
            result["eval_output_path"]
        ]

    def result(self, ref: JobRef, output_s3_path: str, state: JobState) -> dict[str, Any]:
        from datetime import datetime, timezone

        from airflow_provider_nova.core import EvaluationTask, Platform, SMHPEvaluationResult, SMTJEvaluationResult
        from airflow_provider_nova.core.runtimes import job_output_uri

        output = job_output_uri(ref.platform, output_s3_path, ref.job_name, evaluation=True)
        kind = SMHPEvaluationResult if ref.platform is Platform.SMHP else SMTJEvaluationResult
        evaluation = kind(
            job_id=ref.job_name,
            started_time=datetime.now(timezone.utc),
            region=ref.region,
            cluster_name=ref.cluster_name,
            namespace=ref.namespace,
            eval_task=member(EvaluationTask, self.eval_task, "eval_task"),
            eval_output_path=output,
        ).with_clients(self.hook.clients)
        return {
            "job_name": ref.job_name,
            "status": state.status.value,
            "eval_output_path": output,
            "metrics": evaluation.get(),  # type: ignore[attr-defined]
            "region": ref.region,
        }
