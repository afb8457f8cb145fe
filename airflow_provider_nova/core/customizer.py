"""NovaModelCustomizer: fine-tune a Nova model from Python, checking everything before any paid call."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from airflow_provider_nova.core.aws import aws_errors, error_code
from airflow_provider_nova.core.deploy import DeploymentResult
from airflow_provider_nova.core.enums import DeployPlatform, EvaluationTask, Model, Platform, TrainingMethod
from airflow_provider_nova.core.errors import AwsCallError, ConfigurationError, RecipeError, UnsupportedError
from airflow_provider_nova.core.evaluation import (
    TASKS,
    check_lambda_arn,
    check_processor,
    check_rl_env,
    check_subtask,
    task_spec,
)
from airflow_provider_nova.core.formats import arns_in
from airflow_provider_nova.core.input_check import InputKind, check_input_sample, input_kind
from airflow_provider_nova.core.job_outputs import (
    BatchInferenceResult,
    EvaluationResult,
    SMHPBatchInferenceResult,
    SMHPEvaluationResult,
    SMTJBatchInferenceResult,
    SMTJEvaluationResult,
)
from airflow_provider_nova.core.recipes import (
    BuiltRecipe,
    RecipeCache,
    RecipeEntry,
    RecipeHub,
    RecipeTemplate,
    build_recipe,
    load_recipe_file,
)
from airflow_provider_nova.core.results import ModelArtifacts, TrainingResult
from airflow_provider_nova.core.runtimes.base import JobSpec, RuntimeManager, RuntimePlan
from airflow_provider_nova.core.s3 import S3Uri, bucket_exists

# Regions where the Nova customization images are published (the hub is authoritative per recipe).
SUPPORTED_REGIONS = ("us-east-1", "us-west-2", "ap-northeast-1")
VALIDATION_CHECKS = {"infra": True, "data": True}
# The row format each evaluation task's own data is checked against before the job starts (others: objects exist).
EVALUATION_INPUTS: dict[EvaluationTask, InputKind] = {EvaluationTask.GEN_QA: "gen_qa"}


@dataclass(frozen=True)
class JobPlan:
    """Everything a job needs, checked: the recipe, its image and the runtime's exact request (nothing started)."""

    recipe: BuiltRecipe
    runtime: RuntimePlan

    @property
    def job_name(self) -> str:
        return self.runtime.job_name

    @property
    def request(self) -> dict[str, Any]:
        """The request ``start`` sends, as it will be sent."""
        return self.runtime.request

    @property
    def output_s3_path(self) -> str:
        return self.runtime.spec.output_s3_path


class NovaModelCustomizer:
    """Customize a Nova model: train it on your data, then evaluate and deploy it.

    :param model: the Nova model to customize.
    :param method: the training method (``TrainingMethod.SFT_LORA``, ``TrainingMethod.RFT``, ...).
    :param infra: where jobs run (``SMTJRuntimeManager`` or ``SMHPRuntimeManager``).
    :param data_s3_path: S3 URI of the training data.
    :param output_s3_path: S3 URI for job outputs; generated in the SageMaker default bucket when omitted.
    :param model_path: S3 URI of a trained checkpoint to continue from, instead of the base model.
    :param validation_config: turn checks off by name: ``infra`` (instance type and count against the
        published recipe) and ``data`` (a sample of each input's first megabyte is in the format the
        method or task reads, e.g. SFT conversations; ``{"data": False}`` skips it); both on by default.
    """

    def __init__(
        self,
        model: Model,
        method: TrainingMethod,
        infra: RuntimeManager,
        data_s3_path: str,
        output_s3_path: str | None = None,
        model_path: str | None = None,
        validation_config: Mapping[str, bool] | None = None,
        *,
        recipe_cache: RecipeCache | None = None,
    ) -> None:
        if not isinstance(model, Model):
            raise ConfigurationError(f"model must be a Model, got {model!r}; valid: {', '.join(m.name for m in Model)}")
        if not isinstance(method, TrainingMethod):
            raise ConfigurationError(f"method must be a TrainingMethod, got {method!r}")
        if not isinstance(infra, RuntimeManager):
            raise ConfigurationError(
                f"infra must be SMTJRuntimeManager or SMHPRuntimeManager, got {type(infra).__name__}"
            )
        self.model, self.method, self.infra = model, method, infra
        self.data_s3_path = str(S3Uri.parse(data_s3_path, "data_s3_path"))
        self.output_s3_path = str(S3Uri.parse(output_s3_path, "output_s3_path")) if output_s3_path else None
        self.model_path = str(S3Uri.parse(model_path, "model_path")) if model_path else None
        self.validation_config = _checks(validation_config)
        region = infra.clients.region_name
        if region not in SUPPORTED_REGIONS:
            raise ConfigurationError(
                f"region {region!r} is not supported for Nova customization; supported regions: {', '.join(SUPPORTED_REGIONS)}"
            )
        self.hub = RecipeHub(infra.clients, recipe_cache)
        self.job_id: str | None = None

    def __repr__(self) -> str:
        return f"NovaModelCustomizer(model={self.model.name}, method={self.method.name}, infra={self.infra!r})"

    # -- training ----------------------------------------------------------------------------
    def validate(
        self,
        job_name: str,
        recipe_path: str | None = None,
        overrides: dict[str, Any] | None = None,
        rft_lambda_arn: str | None = None,
    ) -> None:
        """Run every check ``train()`` runs, and raise on the first problem; launches nothing."""
        self.plan_training(job_name, recipe_path, overrides, rft_lambda_arn)

    def train(
        self,
        job_name: str,
        recipe_path: str | None = None,
        overrides: dict[str, Any] | None = None,
        rft_lambda_arn: str | None = None,
    ) -> TrainingResult:
        """Render the recipe, check it, and start the training job."""
        plan = self.plan_training(job_name, recipe_path, overrides, rft_lambda_arn)
        job_id, common = self._launch(plan)
        output = self._output_uri(plan, job_id)
        result = TrainingResult(**common, method=self.method, model_artifacts=ModelArtifacts(output_s3_path=output))
        result.with_clients(self.infra.clients)
        return result

    def _launch(self, plan: JobPlan) -> tuple[str, dict[str, Any]]:
        """Start the planned job; returns its id and the fields every result carries."""
        started = datetime.now(timezone.utc)
        ref = self.infra.start(plan.runtime)
        self.job_id = ref.job_name
        if plan.runtime.create_bucket:
            self.output_s3_path = plan.output_s3_path
        common = {
            "job_id": ref.job_name,
            "started_time": started,
            "platform": ref.platform,
            "region": ref.region,
        }
        if ref.cluster_name is not None:
            common.update(cluster_name=ref.cluster_name, namespace=ref.namespace)
        return ref.job_name, common

    @property
    def _on_hyperpod(self) -> bool:
        return self.infra.platform is Platform.SMHP

    def _output_uri(self, plan: JobPlan, job_id: str, evaluation: bool = False) -> str:
        from airflow_provider_nova.core.runtimes import job_output_uri

        return job_output_uri(self.infra.platform, plan.output_s3_path, job_id, evaluation)

    def _check_name(self, job_name: str) -> None:
        self.infra.ref(job_name)  # each runtime checks names as its service does

    def plan_training(
        self,
        job_name: str,
        recipe_path: str | None = None,
        overrides: dict[str, Any] | None = None,
        rft_lambda_arn: str | None = None,
    ) -> JobPlan:
        """Check the inputs, resolve and render the recipe, and build the job request (no job starts)."""
        self._check_name(job_name)
        self._check_method(rft_lambda_arn)
        entry = self._select_recipe()
        template = self.hub.template(entry, self.infra.platform)
        self._check_instance_count(entry, template.params)
        managed = {
            "name": job_name,
            "replicas": self.infra.instance_count,
            "model_name_or_path": self.model_path or self.model.model_path,
            "data_s3_path": self.data_s3_path,
            "output_s3_path": self.output_s3_path or self._default_output(),
            "reward_lambda_arn": rft_lambda_arn or "",
        }
        recipe = self._build(template, managed, overrides, recipe_path)
        if self.validation_config["data"]:
            self._check_input(self.data_s3_path, "data_s3_path", input_kind(self.method), self.method)
        data_type = "S3Prefix" if self.method.is_rft else "Converse"
        return self._plan(job_name, template, recipe, self.data_s3_path, self.output_s3_path, data_type)

    def _build(
        self, template: Any, managed: dict[str, Any], overrides: dict[str, Any] | None, recipe_path: str | None
    ) -> BuiltRecipe:
        user_recipe = load_recipe_file(recipe_path, lambda: self.infra.clients.s3) if recipe_path is not None else None
        built = build_recipe(template, self.model, managed, overrides, user_recipe, source=recipe_path or "hub")
        self._check_recipe_accounts(built, managed, recipe_path)
        return built

    def _check_recipe_accounts(self, built: BuiltRecipe, managed: dict[str, Any], recipe_path: str | None) -> None:
        """ARNs a recipe file or the overrides put in the recipe must be in the caller's account (unless allowed).

        ARNs passed as arguments (``rft_lambda_arn``, ``processor``, ``rl_env``) are the caller's own choice.
        """
        explicit = {value for value in managed.values() if isinstance(value, str)}
        source = f"recipe_path {recipe_path}" if recipe_path else "overrides"
        found = {f"{source}: {path}": arn for path, arn in arns_in(built.recipe).items() if arn not in explicit}
        self.infra.check_accounts(found)

    def _plan(
        self,
        job_name: str,
        template: RecipeTemplate,
        recipe: BuiltRecipe,
        data_s3_path: str | None,
        output_s3_path: str | None,
        data_type: str,
        instance_count: int | None = None,
    ) -> JobPlan:
        """The runtime's request for this job, after the read-only checks ``start`` would otherwise fail on."""
        self.infra.check_name_free(job_name)
        create_bucket = None
        if output_s3_path is None:
            create_bucket = self.infra.default_bucket()
            output_s3_path = self._default_output()
        else:
            self._check_bucket_exists(output_s3_path, "output_s3_path")
        image = template.image_uri or str(template.entry.smtj_image_uri)
        spec = JobSpec(
            job_name,
            data_s3_path,
            output_s3_path,
            image,
            recipe.yaml,
            data_type,
            instance_count,
            template.init_image_uri,
        )
        return JobPlan(recipe, self.infra.plan(spec, create_bucket=create_bucket))

    def _default_output(self) -> str:
        """``s3://<runtime's default bucket>/nova-customization/``; ``start`` creates the bucket when missing."""
        return f"s3://{self.infra.default_bucket()}/nova-customization/"

    def _check_method(self, rft_lambda_arn: str | None) -> None:
        if self.method is TrainingMethod.EVALUATION:
            raise ConfigurationError("method EVALUATION does not train; use evaluate() or a training method")
        if self.method.is_rft and self._on_hyperpod:
            raise UnsupportedError(
                f"{self.method.name} on SageMaker HyperPod is not available in this release (its chart runs reward, "
                "generation and messaging services besides the PyTorchJob); use SMTJRuntimeManager for RFT"
            )
        if self.method.is_rft:
            if not rft_lambda_arn:
                raise ConfigurationError(f"{self.method.name} needs rft_lambda_arn, the reward function's Lambda ARN")
            check_lambda_arn(rft_lambda_arn, "rft_lambda_arn")
        elif rft_lambda_arn:
            raise ConfigurationError(f"rft_lambda_arn is only used by RFT methods, not {self.method.name}")

    def _select_recipe(self) -> RecipeEntry:
        try:
            return self.hub.select_training(self.model, self.method, self.infra.platform, self.infra.instance_type)
        except RecipeError:
            if self.validation_config["infra"]:
                raise
        candidates = [
            e for e in self.hub.recipes(self.model) if e.is_training_for(self.method) and e.runs_on(self.infra.platform)
        ]
        if not candidates:
            raise RecipeError(
                f"no published {self.infra.platform.value} recipe for {self.model.name} with {self.method.name}"
            )
        return candidates[0]

    def _check_instance_count(self, entry: RecipeEntry, params: Any) -> None:
        if self.validation_config["infra"]:
            label = f"{self.model.name} {self.method.name}"
            self.hub.check_replicas(self.model, entry, self.infra.instance_type, self.infra.instance_count, label)

    def _check_input(self, uri: str, field: str, kind: InputKind | None, method: TrainingMethod | None = None) -> None:
        """Check a sample of the input's rows for ``kind``; only that it has objects when its format is not known."""
        if kind is None:
            self._check_data_exists(uri, field)
            return
        check_input_sample(self.infra.clients.s3, uri, kind=kind, model=self.model, method=method, field=field)

    def _check_data_exists(self, uri: str, field: str) -> None:
        loc = S3Uri.parse(uri, field)
        try:
            with aws_errors("ListObjectsV2"):
                page = self.infra.clients.s3.list_objects_v2(Bucket=loc.bucket, Prefix=loc.key, MaxKeys=1)
        except AwsCallError as exc:
            if error_code(exc) == "NoSuchBucket":
                raise ConfigurationError(f"{field} {uri}: bucket {loc.bucket} does not exist") from exc
            raise
        if not page.get("KeyCount"):
            raise ConfigurationError(f"{field} {uri} has no objects: upload the data first")

    def _check_bucket_exists(self, uri: str, field: str) -> None:
        """A missing bucket is an error now; a bucket this caller may not look at is left to the job."""
        loc = S3Uri.parse(uri, field)
        if bucket_exists(self.infra.clients.s3, loc.bucket) is False:
            raise ConfigurationError(f"{field} {uri}: bucket {loc.bucket} does not exist")

    # -- evaluation and batch inference --------------------------------------------------------
    def evaluate(
        self,
        job_name: str,
        eval_task: EvaluationTask,
        model_path: str | None = None,
        subtask: str | None = None,
        data_s3_path: str | None = None,
        recipe_path: str | None = None,
        overrides: dict[str, Any] | None = None,
        processor: dict[str, Any] | None = None,
        rl_env: dict[str, Any] | None = None,
    ) -> EvaluationResult:
        """Render the evaluation recipe for ``eval_task``, check it, and start the evaluation job.

        :param model_path: checkpoint to evaluate (``checkpoint_s3_path`` of a training result);
            the customizer's ``model_path`` or the base model when omitted.
        :param subtask: one subtask of the task (MMLU, BBH, MATH, STRONG_REJECT, MMMU).
        :param data_s3_path: your dataset, for GEN_QA, LLM_JUDGE, RUBRIC_LLM_JUDGE and RFT_EVAL.
        :param overrides: inference settings: ``max_new_tokens``, ``top_k``, ``top_p``, ``temperature``.
        :param processor: bring your own metrics (GEN_QA): ``{"lambda_arn": ..., "lambda_type": ...}``.
        :param rl_env: RFT evaluation environment, required for RFT_EVAL: ``{"reward_lambda_arn": ...}``.
        """
        plan = self.plan_evaluation(
            job_name, eval_task, model_path, subtask, data_s3_path, recipe_path, overrides, processor, rl_env
        )
        job_id, common = self._launch(plan)
        output = self._output_uri(plan, job_id, evaluation=True)
        kind = SMHPEvaluationResult if self._on_hyperpod else SMTJEvaluationResult
        result = kind(**common, eval_task=eval_task, eval_output_path=output)
        result.with_clients(self.infra.clients)
        return result

    def plan_evaluation(
        self,
        job_name: str,
        eval_task: EvaluationTask,
        model_path: str | None = None,
        subtask: str | None = None,
        data_s3_path: str | None = None,
        recipe_path: str | None = None,
        overrides: dict[str, Any] | None = None,
        processor: dict[str, Any] | None = None,
        rl_env: dict[str, Any] | None = None,
    ) -> JobPlan:
        """Check an evaluation and build its recipe and request without starting it."""
        self._check_name(job_name)
        spec = task_spec(eval_task)
        chosen_subtask = check_subtask(eval_task, subtask)
        checked_processor = check_processor(eval_task, processor)
        checked_rl_env = check_rl_env(eval_task, rl_env)
        if eval_task is EvaluationTask.RFT_EVAL and checked_rl_env is None:
            raise ConfigurationError(
                "RFT_EVAL scores responses with your reward function: pass rl_env={'reward_lambda_arn': <Lambda ARN>}"
            )
        data = self._eval_data(eval_task, spec.own_data, data_s3_path)
        model = str(S3Uri.parse(model_path, "model_path")) if model_path else self.model_path or self.model.model_path
        entry = self._select_eval_recipe(spec.kind)
        managed = {
            "name": job_name,
            "replicas": 1,
            "model_type": self.model.model_type,
            "model_name_or_path": model,
            "task": eval_task.value,
            "strategy": spec.strategy,
            "metric": spec.metric,
            "subtask": chosen_subtask,
            **({"lambda_arn": checked_processor["lambda_arn"]} if checked_processor else {}),
            **(
                {"lambda_type": checked_processor["lambda_type"]}
                if checked_processor and "lambda_type" in checked_processor
                else {}
            ),
            **({"reward_lambda_arn": checked_rl_env["reward_lambda_arn"]} if checked_rl_env else {}),
        }
        template = self.hub.template(entry, self.infra.platform)
        recipe = self._build(template, managed, overrides, recipe_path)
        recipe = recipe.updated(_eval_sections(recipe.recipe, checked_processor, checked_rl_env))
        return self._plan(job_name, template, recipe, data, self.output_s3_path, "S3Prefix", instance_count=1)

    def batch_inference(
        self,
        job_name: str,
        input_path: str,
        output_s3_path: str,
        model_path: str | None = None,
        endpoint: Any | None = None,
        recipe_path: str | None = None,
        overrides: dict[str, Any] | None = None,
    ) -> BatchInferenceResult:
        """Generate a response for every row of ``input_path`` (gen_qa JSON Lines) with a trained model.

        :param overrides: ``max_new_tokens``, ``top_k``, ``top_p``, ``temperature``, ``top_logprobs``.
        """
        plan = self.plan_batch_inference(
            job_name, input_path, output_s3_path, model_path, endpoint, recipe_path, overrides
        )
        job_id, common = self._launch(plan)
        output = self._output_uri(plan, job_id, evaluation=True)  # the gen_qa evaluation recipe runs it
        batch = SMHPBatchInferenceResult if self._on_hyperpod else SMTJBatchInferenceResult
        result = batch(**common, inference_output_path=output)
        result.with_clients(self.infra.clients)
        return result

    def plan_batch_inference(
        self,
        job_name: str,
        input_path: str,
        output_s3_path: str,
        model_path: str | None = None,
        endpoint: Any | None = None,
        recipe_path: str | None = None,
        overrides: dict[str, Any] | None = None,
    ) -> JobPlan:
        """Check a batch inference job and build its recipe and request without starting it."""
        self._check_name(job_name)
        if endpoint is not None:
            raise ConfigurationError(
                "batch inference through a deployed endpoint is not available on SageMaker Training Jobs; "
                "pass model_path (a checkpoint) instead"
            )
        data = str(S3Uri.parse(input_path, "input_path"))
        output = str(S3Uri.parse(output_s3_path, "output_s3_path"))
        if self.validation_config["data"]:
            self._check_input(data, "input_path", "gen_qa")
        model = str(S3Uri.parse(model_path, "model_path")) if model_path else self.model_path or self.model.model_path
        entry = self._select_eval_recipe(TASKS[EvaluationTask.GEN_QA].kind)
        managed = {
            "name": job_name,
            "replicas": 1,
            "model_name_or_path": model,
            "task": "gen_qa",
            "strategy": "gen_qa",
            "metric": "all",
        }
        template = self.hub.template(entry, self.infra.platform)
        recipe = self._build(template, managed, overrides, recipe_path)
        recipe = recipe.updated(_eval_sections(recipe.recipe, None, None))
        return self._plan(job_name, template, recipe, data, output, "S3Prefix", instance_count=1)

    def _select_eval_recipe(self, kind: str) -> RecipeEntry:
        return self.hub.select_evaluation(self.model, kind, self.infra.platform, self.infra.instance_type)

    def _eval_data(self, task: EvaluationTask, own_data: bool, data_s3_path: str | None) -> str | None:
        if not own_data:
            if data_s3_path:
                raise ConfigurationError(
                    f"{task.name} is a benchmark with its own data; data_s3_path is only for tasks that "
                    f"evaluate your data: {', '.join(t.name for t, s in TASKS.items() if s.own_data)}"
                )
            return None
        if not data_s3_path:
            raise ConfigurationError(
                f"{task.name} evaluates your own data: pass data_s3_path (JSON Lines of query/response)"
            )
        data = str(S3Uri.parse(data_s3_path, "data_s3_path"))
        if self.validation_config["data"]:
            self._check_input(data, "data_s3_path", EVALUATION_INPUTS.get(task))
        return data

    # -- deployment ----------------------------------------------------------------------------
    def deploy(
        self,
        model_artifact_path: str,
        deploy_platform: DeployPlatform = DeployPlatform.BEDROCK_OD,
        pt_units: int | None = None,
        endpoint_name: str | None = None,
        *,
        role_arn: str | None = None,
        poll_seconds: float = 30.0,
    ) -> DeploymentResult:
        """Create a Bedrock custom model from a checkpoint and deploy it on demand or with provisioned throughput.

        :param model_artifact_path: the checkpoint (``checkpoint_s3_path`` of a training result).
        :param pt_units: model units, required for ``BEDROCK_PT`` and refused for ``BEDROCK_OD``.
        :param endpoint_name: the deployment's name; generated from the model and checkpoint when omitted.
        :param role_arn: the role Bedrock assumes to read the checkpoint (it must trust
            ``bedrock.amazonaws.com``); the runtime's execution role when omitted.
        :param poll_seconds: how often to check on the custom model and the deployment while they are created.
        """
        from airflow_provider_nova.core.deploy import BedrockDeployer

        role = role_arn or self._runtime_role()  # read-only look-ups; deploy() checks everything before creating
        return BedrockDeployer(self.infra.clients, poll_seconds=poll_seconds).deploy(
            self.model, model_artifact_path, deploy_platform, pt_units, endpoint_name, role_arn=role
        )

    def _runtime_role(self) -> str:
        return self.infra.role_arn()

    # -- logs ----------------------------------------------------------------------------------
    def get_logs(self, limit: int | None = None, start_from_head: bool = False) -> None:
        """Print the log lines of the job this customizer started last (CloudWatch; HyperPod: its master pod)."""
        if self.job_id is None:
            raise ConfigurationError("no job has been started by this customizer yet: call train() first")
        lines = self.infra.log_lines(self.job_id, limit, start_from_head)
        if not lines:
            print(f"no log lines yet for job {self.job_id}")
        for line in lines:
            print(line)


def _eval_sections(
    recipe: dict[str, Any], processor: dict[str, Any] | None, rl_env: dict[str, Any] | None
) -> dict[str, Any]:
    """Keep the ``processor`` block only for bring-your-own-metrics; ``rl_env`` when given (once, if the template has it)."""
    out = dict(recipe)
    if processor is None:
        out.pop("processor", None)
    else:
        block = dict(out.get("processor") or {})
        block.update(processor)
        out["processor"] = block
    if rl_env is not None:
        out["rl_env"] = {**(out.get("rl_env") or {}), **rl_env}
    return out


def _checks(config: Mapping[str, bool] | None) -> dict[str, bool]:
    checks = dict(VALIDATION_CHECKS)
    for key, value in (config or {}).items():
        if key not in checks:
            raise ConfigurationError(f"unknown validation_config key {key!r}; known: {', '.join(checks)}")
        if not isinstance(value, bool):
            raise ConfigurationError(f"validation_config[{key!r}] must be True or False, got {value!r}")
        checks[key] = value
    return checks
