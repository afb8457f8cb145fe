"""``NovaEvaluateOperator``: evaluate a Nova model or a trained checkpoint on a benchmark or your data."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_nova.links.report import EvaluationReportLink
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
    :param baseline: what the model is compared with in the report: another evaluation's XCom (a dict
        with ``metrics``, e.g. ``evaluate_deployed.output``, which also makes that task upstream) or a
        plain metrics dict (``{"accuracy": 0.61}``).

    Returns ``{"job_name", "status", "eval_output_path", "metrics", "region", "eval_task", "model_path",
    "baseline", "report_s3_path"}``: ``metrics`` as the evaluation result's ``get()`` reads them,
    ``baseline`` as ``{"job_name", "metrics"}`` (None without one), and ``report_s3_path`` the HTML
    report written beside the evaluation output (None when it could not be written). The task's
    "Evaluation report" link opens the same report in the Airflow UI.
    """

    template_fields: tuple[str, ...] = aws_template_fields(
        *NovaJobOperator.template_fields,
        "eval_task",
        "model_path",
        "subtask",
        "data_s3_path",
        "processor",
        "rl_env",
        "baseline",
    )
    template_fields_renderers = {**NovaJobOperator.template_fields_renderers, "baseline": "json"}
    operator_extra_links = (*NovaJobOperator.operator_extra_links, EvaluationReportLink())
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
        baseline: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.eval_task = eval_task
        self.model_path = model_path
        self.subtask = subtask
        self.data_s3_path = data_s3_path
        self.processor = processor
        self.rl_env = rl_env
        self.baseline = baseline

    def _check_parameters(self) -> None:
        from airflow_provider_nova.core.report import baseline_of

        super()._check_parameters()
        baseline_of(self.baseline)  # before any job starts

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
        from airflow_provider_nova.core.report import baseline_of

        result = {
            "job_name": ref.job_name,
            "status": state.status.value,
            "eval_output_path": output,
            "metrics": evaluation.get(),  # type: ignore[attr-defined]
            "region": ref.region,
            "eval_task": member(EvaluationTask, self.eval_task, "eval_task").name,
            "model_path": optional_text(self.model_path),
            "baseline": baseline_of(self.baseline),
        }
        return {**result, "report_s3_path": self.write_report(result)}

    def write_report(self, result: dict[str, Any]) -> str | None:
        """Write the HTML report beside the evaluation output; its S3 URI.

        A failure is logged, never raised: the paid evaluation finished and its metrics are in the
        XCom (the "Evaluation report" link renders them without the file).
        """
        from airflow_provider_nova.core.errors import NovaError
        from airflow_provider_nova.core.report import evaluation_report_from_result, report_s3_path
        from airflow_provider_nova.core.s3 import write_object

        uri = report_s3_path(result["eval_output_path"])
        try:
            html = evaluation_report_from_result(result).encode()
            write_object(self.hook.clients.s3, uri, html, content_type="text/html", field="report_s3_path")
        except NovaError:
            self.log.warning("Could not write the evaluation report to %s", uri, exc_info=True)
            return None
        self.log.info("Evaluation report: %s", uri)
        return uri
