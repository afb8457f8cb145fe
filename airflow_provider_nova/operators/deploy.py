"""``NovaDeployOperator``: create a Bedrock custom model from a Nova checkpoint and deploy it."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from airflow.sdk.configuration import conf

from airflow_provider_nova.links.bedrock import BedrockCustomModelLink, BedrockDeploymentLink
from airflow_provider_nova.operators.base import NovaBaseOperator, aws_template_fields
from airflow_provider_nova.operators.values import as_bool, as_float, as_int, member, optional_text

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_nova.core.deploy import BedrockDeployer, DeployPlan, Started
    from airflow_provider_nova.core.lifecycle import JobState


class NovaDeployOperator(NovaBaseOperator):
    """Create a Bedrock custom model from a trained checkpoint and deploy it on demand or with provisioned throughput.

    Every argument is checked (the core's ``BedrockDeployer.plan``) before anything is created. The
    custom model is created (or found, when an earlier try made it), then the deployment once the
    model is Active. Names derive from the checkpoint unless given, and every create carries a
    ``clientRequestToken``, so a retry after a crash reuses what the first try created.

    Returns ``{"endpoint_name", "uri", "status", "platform", "model_arn", "model_name", "region",
    "model_artifact_path", "created", "reused"}``; ``uri`` is the deployment's (or provisioned
    throughput's) ARN, the one to invoke. An ``Asset`` in ``outlets`` gets the same values as its event's extra.

    ``on_kill`` stops nothing: Bedrock cannot cancel the creation of a custom model or deployment;
    whatever exists is named in the task's error or XCom, and is deleted with the AWS CLI.

    :param model: the Nova model the checkpoint was trained from: a ``Model`` or its name (templated).
    :param model_artifact_path: S3 URI of the checkpoint, a training job's ``checkpoint_s3_path`` (templated).
    :param deploy_platform: ``BEDROCK_OD`` (on demand) or ``BEDROCK_PT`` (provisioned throughput) (templated).
    :param pt_units: model units of provisioned throughput; required for PT, refused for OD (templated).
    :param endpoint_name: the deployment's name; derived from the checkpoint when omitted (templated).
    :param role_arn: the role (ARN or name) Bedrock assumes to read the checkpoint; the execution
        role found as training finds it when omitted (templated).
    :param model_name: the custom model's name; derived from the checkpoint when omitted (templated).
    :param wait_for_completion: wait until the deployment is ready; when False, the task still waits
        for the custom model (Bedrock deploys an Active model only) and returns once the deployment is requested.
    :param poll_interval: seconds between status checks (templated).
    :param deferrable: wait in the triggerer instead of a worker; ``[operators] default_deferrable`` by default.
    :param max_wait: seconds each wait (the model's, then the deployment's) may take; None: no limit (templated).
    """

    operator_extra_links = (BedrockCustomModelLink(), BedrockDeploymentLink())
    template_fields = aws_template_fields(
        "model",
        "model_artifact_path",
        "deploy_platform",
        "pt_units",
        "endpoint_name",
        "role_arn",
        "model_name",
        "poll_interval",
        "max_wait",
    )
    ui_color = "#d3e4f4"

    def __init__(
        self,
        *,
        model: Any,
        model_artifact_path: str,
        deploy_platform: Any = "BEDROCK_OD",
        pt_units: int | str | None = None,
        endpoint_name: str | None = None,
        role_arn: str | None = None,
        model_name: str | None = None,
        wait_for_completion: bool = True,
        poll_interval: float | str = 30,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        max_wait: float | str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.model = model
        self.model_artifact_path = model_artifact_path
        self.deploy_platform = deploy_platform
        self.pt_units = pt_units
        self.endpoint_name = endpoint_name
        self.role_arn = role_arn
        self.model_name = model_name
        self.wait_for_completion = wait_for_completion
        self.poll_interval = poll_interval
        self.deferrable = deferrable
        self.max_wait = max_wait
        self.sleep: Callable[[float], None] = time.sleep  # replaced in tests
        self.clock: Callable[[], float] = time.monotonic

    # -- the steps -------------------------------------------------------------------------------
    def execute(self, context: Context) -> dict[str, Any]:
        deployer = self._deployer()
        plan = self._plan(deployer)
        model = self._step(plan, [], lambda: deployer.start_model(plan))
        self._link(context, BedrockCustomModelLink, deployer, model_arn=model.arn)
        self.log.info("Custom model %s (%s)", model.arn, "created" if model.created else "found from an earlier try")
        self._wait_or_defer(deployer, plan, [model], "model", "execute_model_ready")
        return self._deploy(deployer, plan, model, context)

    def execute_model_ready(
        self,
        context: Context,
        event: dict[str, Any],
        plan: dict[str, Any] | None = None,
        model: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Resume once the custom model is Active (or failed): deploy it."""
        from airflow_provider_nova.core.deploy import DeployPlan, Started

        plan, model = _carried(event, "plan", plan), _carried(event, "model", model)
        deploy_plan, started = DeployPlan.from_json(plan), Started.from_json(model)
        self._check_event(event, deploy_plan, [started])
        return self._deploy(self._deployer(), deploy_plan, started, context)

    def execute_complete(
        self,
        context: Context,
        event: dict[str, Any],
        plan: dict[str, Any] | None = None,
        model: dict[str, Any] | None = None,
        endpoint: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Resume once the deployment is ready (or failed): return its result."""
        from airflow_provider_nova.core.deploy import DeployPlan, Started

        plan, model = _carried(event, "plan", plan), _carried(event, "model", model)
        endpoint = _carried(event, "endpoint", endpoint)
        deploy_plan, steps = DeployPlan.from_json(plan), [Started.from_json(model), Started.from_json(endpoint)]
        self._check_event(event, deploy_plan, steps)
        return self._finish(self._deployer(), deploy_plan, steps, context)

    def _deploy(self, deployer: BedrockDeployer, plan: DeployPlan, model: Started, context: Context) -> dict[str, Any]:
        endpoint = self._step(plan, [model], lambda: deployer.start_endpoint(plan, model.arn))
        self._link(
            context, BedrockDeploymentLink, deployer, arn=endpoint.arn, model_arn=model.arn, platform=plan.platform.name
        )
        self.log.info("%s %s (%s)", plan.endpoint_kind, endpoint.arn, "created" if endpoint.created else "found")
        steps = [model, endpoint]
        if not as_bool(self.wait_for_completion, "wait_for_completion"):
            state = self._step(plan, steps, lambda: deployer.endpoint_state(plan.platform, endpoint.arn))
            return self._publish(self._xcom(plan, steps, state.raw, deployer.clients.region_name), context)
        self._wait_or_defer(deployer, plan, steps, "endpoint", "execute_complete")
        return self._finish(deployer, plan, steps, context)

    def _finish(
        self, deployer: BedrockDeployer, plan: DeployPlan, steps: list[Started], context: Context
    ) -> dict[str, Any]:
        result = self._step(plan, steps, lambda: deployer.result(plan, steps[0], steps[1]))
        xcom = self._xcom(plan, steps, result.status, deployer.clients.region_name)
        xcom["uri"], xcom["created_at"] = result.endpoint.uri, result.created_at.isoformat()
        return self._publish(xcom, context)

    # -- waiting ---------------------------------------------------------------------------------
    def _wait_or_defer(
        self, deployer: BedrockDeployer, plan: DeployPlan, steps: list[Started], resource: str, method_name: str
    ) -> None:
        """Return once the last step's resource is finished; a DeploymentError if it failed or took too long."""
        arn = steps[-1].arn
        describe = self._describe(deployer, plan, resource, arn)
        state = self._step(plan, steps, describe)
        if not state.status.is_terminal and as_bool(self.deferrable, "deferrable"):
            self._defer(plan, steps, resource, method_name)
        if not state.status.is_terminal:
            state = self._wait(plan, steps, describe, resource, arn)
        self._raise_if_failed(plan, steps, resource, arn, state)

    def _describe(self, deployer: BedrockDeployer, plan: DeployPlan, resource: str, arn: str) -> Callable[[], JobState]:
        if resource == "model":
            return lambda: deployer.model_state(arn)
        return lambda: deployer.endpoint_state(plan.platform, arn)

    def _defer(self, plan: DeployPlan, steps: list[Started], resource: str, method_name: str) -> None:
        from airflow_provider_nova.triggers.deployment import NovaDeploymentTrigger

        names = ("model", "endpoint")
        carry = {"plan": plan.to_json(), **{name: s.to_json() for name, s in zip(names, steps, strict=False)}}
        self.defer(
            trigger=NovaDeploymentTrigger(
                resource,
                steps[-1].arn,
                platform=plan.platform.name,
                poll_interval=self._poll_seconds(),
                timeout=self._max_wait(),
                carry=carry,
                **self.aws_kwargs,
            ),
            method_name=method_name,
            kwargs=carry,
        )

    def _wait(
        self, plan: DeployPlan, steps: list[Started], describe: Callable[[], JobState], resource: str, arn: str
    ) -> JobState:
        from airflow_provider_nova.core.deploy import DeploymentError
        from airflow_provider_nova.core.errors import WaitTimeoutError
        from airflow_provider_nova.core.lifecycle import wait_for
        from airflow_provider_nova.triggers.deployment import describe_what

        what = f"{describe_what(resource, plan.platform.name)} {arn}"
        wait = self._max_wait()
        poll = self._poll_seconds()
        try:
            state: JobState = self._step(
                plan,
                steps,
                lambda: wait_for(
                    describe, what, poll_seconds=poll, timeout_seconds=wait, sleep=self.sleep, clock=self.clock
                ),
            )
        except WaitTimeoutError as exc:
            raise DeploymentError(str(exc), failed_arn=arn).record(steps) from exc
        return state

    def _raise_if_failed(
        self, plan: DeployPlan, steps: list[Started], resource: str, arn: str, state: JobState
    ) -> None:
        from airflow_provider_nova.core.deploy import DeploymentError
        from airflow_provider_nova.core.enums import JobStatus
        from airflow_provider_nova.triggers.deployment import describe_what

        if state.status is JobStatus.FAILED:
            what = f"{describe_what(resource, plan.platform.name)} {arn}"
            message = f"{what} is {state.raw}: {state.reason or 'no reason given'}"
            raise DeploymentError(message, failed_arn=arn, reason=state.reason).record(steps)

    def _check_event(self, event: Any, plan: DeployPlan, steps: list[Started]) -> None:
        from airflow_provider_nova.core.deploy import DeploymentError
        from airflow_provider_nova.core.errors import WaitTimeoutError
        from airflow_provider_nova.triggers.deployment import check_deployment_event

        try:
            check_deployment_event(event)
        except DeploymentError as exc:
            raise exc.record(steps) from None
        except WaitTimeoutError as exc:
            message = f"{event['message']} (max_wait {self.max_wait} s)"
            raise DeploymentError(message, failed_arn=steps[-1].arn).record(steps) from exc

    # -- inputs and outputs ------------------------------------------------------------------------
    def _deployer(self) -> BedrockDeployer:
        from airflow_provider_nova.core.deploy import BedrockDeployer

        return BedrockDeployer(self.hook.clients, poll_seconds=self._poll_seconds(), timeout_seconds=self._max_wait())

    def _plan(self, deployer: BedrockDeployer) -> DeployPlan:
        """Check every argument before anything is created (the role is looked up when not given as an ARN)."""
        from airflow_provider_nova.core.enums import DeployPlatform, Model
        from airflow_provider_nova.core.runtimes.roles import resolve_execution_role

        model = member(Model, self.model, "model")
        platform = member(DeployPlatform, self.deploy_platform, "deploy_platform")
        units = optional_text(self.pt_units)
        pt_units = None if units is None else as_int(units, "pt_units", minimum=1)
        role = resolve_execution_role(deployer.clients, optional_text(self.role_arn))
        return deployer.plan(
            model,
            self.model_artifact_path,
            platform,
            pt_units,
            optional_text(self.endpoint_name),
            role_arn=role,
            model_name=optional_text(self.model_name),
        )

    def _poll_seconds(self) -> float:
        return as_float(self.poll_interval, "poll_interval", minimum=0.001)

    def _max_wait(self) -> float | None:
        text = optional_text(self.max_wait)
        return None if text is None else as_float(text, "max_wait", minimum=0.001)

    def _link(self, context: Context, link: Any, deployer: BedrockDeployer, **fields: Any) -> None:
        link.persist(context, self, deployer.clients.region_name, self.hook.partition, **fields)

    def _step(self, plan: DeployPlan, steps: list[Started], call: Callable[[], Any]) -> Any:
        """Run one Bedrock call; any failure becomes a DeploymentError listing the ARNs that exist."""
        from airflow_provider_nova.core.deploy import DeploymentError
        from airflow_provider_nova.core.errors import NovaError, WaitTimeoutError

        try:
            return call()
        except DeploymentError as exc:
            raise exc.record(steps) from None
        except WaitTimeoutError:
            raise
        except NovaError as exc:
            message = f"Bedrock {plan.endpoint_kind} {plan.endpoint_name!r} failed: {exc}"
            raise DeploymentError(message).record(steps) from exc

    def _xcom(self, plan: DeployPlan, steps: list[Started], status: str, region: str) -> dict[str, Any]:
        return {
            "endpoint_name": plan.endpoint_name,
            "uri": steps[-1].arn,
            "status": status,
            "platform": plan.platform.name,
            "model_arn": steps[0].arn,
            "model_name": plan.model_name,
            "region": region,
            "model_artifact_path": plan.model_artifact_path,
            "created": [s.arn for s in steps if s.created],
            "reused": [s.arn for s in steps if not s.created],
        }

    def _publish(self, xcom: dict[str, Any], context: Context) -> dict[str, Any]:
        """Put the result into the event of every ``Asset`` in ``outlets``; return it."""
        self.publish_outlets(context, xcom)
        return xcom


def _carried(event: Any, name: str, given: dict[str, Any] | None) -> dict[str, Any]:
    """A value the deferral passed on: from ``defer(kwargs=...)``, else from the event's ``carry``."""
    if given is not None:
        return given
    carried = (event.get("carry") or {}).get(name) if isinstance(event, dict) else None
    if not isinstance(carried, dict):
        from airflow_provider_nova.core.errors import NovaError

        raise NovaError(f"the deployment trigger's event does not carry {name!r}: {event!r}")
    return carried
