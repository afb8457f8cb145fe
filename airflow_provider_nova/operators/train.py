"""``NovaTrainOperator``: fine-tune a Nova model (SFT or RFT, LoRA or full rank) as a SageMaker training job."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_nova.operators.base import aws_template_fields
from airflow_provider_nova.operators.job import NovaJobOperator
from airflow_provider_nova.operators.values import member, optional_text

if TYPE_CHECKING:
    from airflow_provider_nova.core import NovaModelCustomizer
    from airflow_provider_nova.core.customizer import JobPlan
    from airflow_provider_nova.core.lifecycle import JobRef, JobState


class NovaTrainOperator(NovaJobOperator):
    """Train a Nova model on your data; the spec's ``NovaModelCustomizer.train`` as a task.

    :param method: ``TrainingMethod`` member or name (``"SFT_LORA"``, ``"SFT_FULLRANK"``, ``"RFT_LORA"``, ``"RFT"``).
    :param data_s3_path: the training data in S3.
    :param model_path: a checkpoint to continue from instead of the base model.
    :param rft_lambda_arn: the reward function's Lambda ARN, for RFT.

    Returns ``{"job_name", "status", "checkpoint_s3_path", "output_s3_path", "region"}``; the other
    parameters are ``NovaJobOperator``'s.
    """

    template_fields: tuple[str, ...] = aws_template_fields(
        *NovaJobOperator.template_fields, "method", "data_s3_path", "model_path", "rft_lambda_arn"
    )
    job_kind = "training job"

    def __init__(
        self,
        *,
        method: Any,
        data_s3_path: str,
        model_path: str | None = None,
        rft_lambda_arn: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.method = method
        self.data_s3_path = data_s3_path
        self.model_path = model_path
        self.rft_lambda_arn = rft_lambda_arn

    def customizer_inputs(self) -> tuple[Any, str]:
        from airflow_provider_nova.core import TrainingMethod

        return member(TrainingMethod, self.method, "method"), self.data_s3_path

    def model_path_of_customizer(self) -> str | None:
        return optional_text(self.model_path)

    def plan_job(self, customizer: NovaModelCustomizer, job_name: str) -> JobPlan:
        from airflow_provider_nova.operators.values import overrides_of

        return customizer.plan_training(
            job_name, optional_text(self.recipe_path), overrides_of(self.overrides), optional_text(self.rft_lambda_arn)
        )

    def lineage_paths(self, result: dict[str, Any]) -> tuple[list[str], list[str]]:
        return [str(self.data_s3_path)], [result["checkpoint_s3_path"], result["output_s3_path"]]

    def result(self, ref: JobRef, output_s3_path: str, state: JobState) -> dict[str, Any]:
        from airflow_provider_nova.core.results import read_job_checkpoint
        from airflow_provider_nova.core.runtimes import job_output_uri

        output = job_output_uri(ref.platform, output_s3_path, ref.job_name)
        checkpoint = read_job_checkpoint(self.hook.clients, ref.platform, output)
        return {
            "job_name": ref.job_name,
            "status": state.status.value,
            "checkpoint_s3_path": checkpoint,
            "output_s3_path": output,
            "region": ref.region,
        }
