"""``NovaDeploymentSensor``: wait for a Bedrock on-demand deployment or provisioned throughput to be ready."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator
from airflow.sdk.configuration import conf

from airflow_provider_nova.operators.base import NovaAwsMixin, aws_template_fields
from airflow_provider_nova.operators.values import as_bool, member

if TYPE_CHECKING:
    from airflow.sdk import Context


class NovaDeploymentSensor(NovaAwsMixin, BaseSensorOperator):
    """Wait until a custom model deployment (``Active``) or provisioned throughput (``InService``) is ready.

    A ``Failed`` one fails the task with Bedrock's reason. A throttled or unanswered status call is
    tried again at the next poke. Returns ``{"endpoint_arn", "status"}``.

    :param endpoint_arn: the deployment's or throughput's ARN, e.g. ``NovaDeployOperator``'s ``uri`` (templated).
    :param deploy_platform: ``BEDROCK_OD`` (a deployment) or ``BEDROCK_PT`` (a throughput) (templated).
    :param deferrable: wait in the triggerer; ``[operators] default_deferrable`` by default. The
        sensor's ``timeout`` bounds the deferred wait as it bounds the pokes.
    """

    template_fields = aws_template_fields("endpoint_arn", "deploy_platform")
    ui_color = "#d3e4f4"

    def __init__(
        self,
        *,
        endpoint_arn: str,
        deploy_platform: Any = "BEDROCK_OD",
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        aws_conn_id: str | None = "aws_default",
        region_name: str | None = None,
        verify: bool | str | None = None,
        botocore_config: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._set_aws(aws_conn_id, region_name, verify, botocore_config)
        self.endpoint_arn = endpoint_arn
        self.deploy_platform = deploy_platform
        self.deferrable = deferrable

    def execute(self, context: Context) -> Any:
        if not as_bool(self.deferrable, "deferrable"):
            return super().execute(context)
        from airflow_provider_nova.triggers.deployment import NovaDeploymentTrigger

        self.defer(
            trigger=NovaDeploymentTrigger(
                "endpoint",
                self.endpoint_arn,
                platform=self._platform().name,
                poll_interval=self.poke_interval,
                **self.aws_kwargs,
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=self.timeout),
        )

    def poke(self, context: Context) -> Any:
        from airflow.sdk import PokeReturnValue

        from airflow_provider_nova.core.aws import is_transient
        from airflow_provider_nova.core.deploy import BedrockDeployer, DeploymentError
        from airflow_provider_nova.core.enums import JobStatus

        try:
            state = BedrockDeployer(self.hook.clients).endpoint_state(self._platform(), self.endpoint_arn)
        except Exception as exc:
            if not is_transient(exc):
                raise
            self.log.warning("Checking %s failed, trying again at the next poke: %s", self.endpoint_arn, exc)
            return False
        self.log.info("%s is %s", self.endpoint_arn, state.raw)
        if state.status is JobStatus.FAILED:
            reason = state.reason or "no reason given"
            raise DeploymentError(
                f"{self.endpoint_arn} is {state.raw}: {reason}", failed_arn=self.endpoint_arn, reason=state.reason
            )
        done = state.status is JobStatus.COMPLETED
        return PokeReturnValue(done, {"endpoint_arn": self.endpoint_arn, "status": state.raw} if done else None)

    def execute_complete(self, context: Context, event: Any = None) -> dict[str, Any]:
        """Resume from the trigger: the deployment's ARN and status, or the core's error."""
        from airflow_provider_nova.triggers.deployment import check_deployment_event

        checked = check_deployment_event(event)
        return {"endpoint_arn": checked["arn"], "status": checked["state"]["raw"]}

    def _platform(self) -> Any:
        from airflow_provider_nova.core.enums import DeployPlatform

        platform = member(DeployPlatform, self.deploy_platform, "deploy_platform")
        if platform is DeployPlatform.SAGEMAKER:
            from airflow_provider_nova.core.errors import ConfigurationError

            raise ConfigurationError("deploy_platform must be BEDROCK_OD or BEDROCK_PT, got SAGEMAKER")
        return platform
