"""``NovaBatchInferenceOperator``: generate a response for every row of a dataset with a trained model."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_nova.operators.base import aws_template_fields
from airflow_provider_nova.operators.job import NovaJobOperator
from airflow_provider_nova.operators.values import optional_text

if TYPE_CHECKING:
    from airflow_provider_nova.core import NovaModelCustomizer
    from airflow_provider_nova.core.customizer import JobPlan
    from airflow_provider_nova.core.lifecycle import JobRef, JobState


class NovaBatchInferenceOperator(NovaJobOperator):
    """The spec's ``NovaModelCustomizer.batch_inference`` as a task.

    :param input_path: gen_qa JSON Lines in S3, one row per prompt.
    :param output_s3_path: where the job writes its responses (required).
    :param model_path: the checkpoint to run; the base model when omitted.

    Returns ``{"job_name", "status", "inference_output_path", "region"}``.
    """

    template_fields: tuple[str, ...] = aws_template_fields(*NovaJobOperator.template_fields, "input_path", "model_path")
    job_kind = "batch inference job"

    def __init__(self, *, input_path: str, output_s3_path: str, model_path: str | None = None, **kwargs: Any) -> None:
        super().__init__(output_s3_path=output_s3_path, **kwargs)
        self.input_path = input_path
        self.model_path = model_path

    def plan_job(self, customizer: NovaModelCustomizer, job_name: str) -> JobPlan:
        from airflow_provider_nova.operators.values import overrides_of

        return customizer.plan_batch_inference(
            job_name,
            self.input_path,
            str(self.output_s3_path),
            optional_text(self.model_path),
            None,
            optional_text(self.recipe_path),
            overrides_of(self.overrides),
        )

    def lineage_paths(self, result: dict[str, Any]) -> tuple[list[str], list[str]]:
        return [str(self.input_path), optional_text(self.model_path) or ""], [result["inference_output_path"]]

    def result(self, ref: JobRef, output_s3_path: str, state: JobState) -> dict[str, Any]:
        from airflow_provider_nova.core.runtimes import job_output_uri

        return {
            "job_name": ref.job_name,
            "status": state.status.value,
            "inference_output_path": job_output_uri(ref.platform, output_s3_path, ref.job_name, evaluation=True),
            "region": ref.region,
        }
