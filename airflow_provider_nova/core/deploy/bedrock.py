"""Deploy a trained Nova checkpoint to Amazon Bedrock in resumable steps: on-demand or provisioned throughput.

Each step is safe to repeat: ``start_model`` creates the custom model from the checkpoint (or finds
the one an earlier attempt made), ``model_state`` says where it is, ``start_endpoint`` creates (or
finds) the on-demand deployment or provisioned throughput, ``endpoint_state`` says where that is,
and ``result`` describes the finished deployment. ``deploy`` runs them in order and waits between
them; an Airflow operator can run a step, defer while Bedrock works, and go on. Names are
deterministic and every create carries a ``clientRequestToken``, so a retry pays for nothing twice.

A ``Failed`` resource under a name this deploy generated is an earlier attempt on the same
checkpoint: it is deleted and created again. One under a name you gave is reported, with the
command that deletes it. Every failure of ``deploy`` is a ``DeploymentError`` listing the ARNs that exist.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from typing import Any

from airflow_provider_nova.core.aws import AwsClients, aws_errors
from airflow_provider_nova.core.deploy.plan import DeployPlan, make_plan
from airflow_provider_nova.core.deploy.resources import (
    ENDPOINTS,
    MODEL,
    ResourceKind,
    check_serves,
    check_units,
    endpoint_request,
    model_request,
    snake,
)
from airflow_provider_nova.core.deploy.results import DeploymentError, DeploymentResult, EndpointInfo, Started
from airflow_provider_nova.core.enums import DeployPlatform, JobStatus, Model
from airflow_provider_nova.core.errors import AwsCallError, NovaError, WaitTimeoutError
from airflow_provider_nova.core.lifecycle import JobState, check_poll, wait_for

log = logging.getLogger(__name__)


class BedrockDeployer:
    """Create a Bedrock custom model from a Nova checkpoint and deploy it.

    :param clients: the AWS clients (``clients.bedrock`` is used).
    :param poll_seconds: seconds between status checks.
    :param timeout_seconds: how long one ``deploy`` may wait in total before it gives up (None: no limit).
    :param sleep: waits between status checks (inject a fake in tests).
    :param clock: a monotonic clock for the timeout.
    :raises ConfigurationError: a poll interval or timeout that is not a positive, finite number.
    """

    def __init__(
        self,
        clients: AwsClients,
        *,
        poll_seconds: float = 30.0,
        timeout_seconds: float | None = 4 * 3600.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        check_poll(poll_seconds, timeout_seconds)
        self.clients = clients
        self.poll_seconds = poll_seconds
        self.timeout_seconds = timeout_seconds
        self.sleep = sleep
        self.clock = clock

    def __repr__(self) -> str:
        return (
            f"BedrockDeployer(clients={self.clients!r}, poll_seconds={self.poll_seconds}, "
            f"timeout_seconds={self.timeout_seconds})"
        )

    def plan(
        self,
        model: Model,
        model_artifact_path: str,
        deploy_platform: DeployPlatform = DeployPlatform.BEDROCK_OD,
        pt_units: int | None = None,
        endpoint_name: str | None = None,
        *,
        role_arn: str,
        model_name: str | None = None,
    ) -> DeployPlan:
        """Check every argument and settle the names; makes no AWS call."""
        return make_plan(
            model,
            model_artifact_path,
            deploy_platform,
            pt_units,
            endpoint_name,
            role_arn=role_arn,
            model_name=model_name,
        )

    def deploy(
        self,
        model: Model,
        model_artifact_path: str,
        deploy_platform: DeployPlatform = DeployPlatform.BEDROCK_OD,
        pt_units: int | None = None,
        endpoint_name: str | None = None,
        *,
        role_arn: str,
        model_name: str | None = None,
    ) -> DeploymentResult:
        """Create (or reuse) the custom model and its deployment, wait for both, and return the result.

        :param model: the Nova model the checkpoint was trained from.
        :param model_artifact_path: S3 URI of the checkpoint (the training job's ``checkpoint_s3_path``).
        :param deploy_platform: ``DeployPlatform.BEDROCK_OD`` or ``DeployPlatform.BEDROCK_PT``.
        :param pt_units: model units of provisioned throughput; required for PT, rejected for OD.
        :param endpoint_name: the deployment's (or throughput's) name; generated from the checkpoint when absent.
        :param role_arn: a role Bedrock assumes to read the checkpoint.
        :param model_name: the custom model's name; generated from the checkpoint when absent.
        :raises ConfigurationError: bad input, before any call.
        :raises DeploymentError: a call, the model or the deployment failed, or the wait timed out.
        """
        plan = self.plan(
            model,
            model_artifact_path,
            deploy_platform,
            pt_units,
            endpoint_name,
            role_arn=role_arn,
            model_name=model_name,
        )
        check_poll(self.poll_seconds, self.timeout_seconds)
        from botocore.exceptions import BotoCoreError, ClientError

        deadline = None if self.timeout_seconds is None else self.clock() + self.timeout_seconds
        started: list[Started] = []
        try:
            model_step = self.start_model(plan)
            started.append(model_step)
            self._await(MODEL, model_step.arn, functools.partial(self.model_state, model_step.arn), deadline)
            endpoint_step = self.start_endpoint(plan, model_step.arn)
            started.append(endpoint_step)
            endpoint_state = functools.partial(self.endpoint_state, plan.platform, endpoint_step.arn)
            self._await(ENDPOINTS[plan.platform], endpoint_step.arn, endpoint_state, deadline)
            return self.result(plan, model_step, endpoint_step)
        except DeploymentError as exc:
            exc.record(started)
            raise
        except (NovaError, BotoCoreError, ClientError) as exc:  # botocore's: from a describe given in a subclass
            message = f"Bedrock {plan.endpoint_kind} {plan.endpoint_name!r} failed: {exc}"
            raise DeploymentError(message).record(started) from exc

    # -- the steps -------------------------------------------------------------------------------
    def start_model(self, plan: DeployPlan) -> Started:
        """Create the custom model from the checkpoint, or find the one an earlier attempt created.

        :raises DeploymentError: a ``Failed`` model under a name you gave is in the way.
        :raises AwsCallError: a Bedrock call failed (including a dropped connection).
        """
        existing = self._lookup(MODEL, plan.model_name)
        if existing is not None and not MODEL.failed(existing):
            return Started(existing[MODEL.arn_key], created=False)
        replaced = None if existing is None else self._replace(MODEL, existing, plan.generated_model_name, "model_name")
        return self._create(MODEL, model_request(plan, replaced), plan.model_name, replaced)

    def model_state(self, model_arn: str) -> JobState:
        """Describe the custom model (``Creating``, ``Active`` or ``Failed``, with Bedrock's reason)."""
        return self._state(MODEL, model_arn)

    def start_endpoint(self, plan: DeployPlan, model_arn: str) -> Started:
        """Create the on-demand deployment or provisioned throughput of an Active model, or find an earlier one.

        :raises DeploymentError: the name is taken by another model's endpoint, by a throughput of other
            model units, or by a ``Failed`` endpoint under a name you gave.
        :raises AwsCallError: a Bedrock call failed (including a dropped connection).
        """
        kind = ENDPOINTS[plan.platform]
        existing = self._lookup(kind, plan.endpoint_name)
        if existing is not None:
            check_serves(plan, kind, existing, model_arn)
            if not kind.failed(existing):
                check_units(plan, kind, existing)
                return Started(existing[kind.arn_key], created=False)
        replaced = (
            None if existing is None else self._replace(kind, existing, plan.generated_endpoint_name, "endpoint_name")
        )
        return self._create(kind, endpoint_request(plan, model_arn, replaced), plan.endpoint_name, replaced)

    def endpoint_state(self, platform: DeployPlatform, endpoint_arn: str) -> JobState:
        """Describe the deployment (``Creating``, ``Active``...) or throughput (``Creating``, ``InService``...)."""
        return self._state(ENDPOINTS[platform], endpoint_arn)

    def result(self, plan: DeployPlan, model: Started, endpoint: Started) -> DeploymentResult:
        """Describe the finished endpoint and return the deployment's result.

        :raises DeploymentError: the endpoint is not finished (still being created, or failed).
        """
        kind = ENDPOINTS[plan.platform]
        desc = self._describe(kind, endpoint.arn)
        raw = kind.raw_status(desc)
        if kind.mapper(raw) is not JobStatus.COMPLETED:
            raise DeploymentError(f"Bedrock {kind.what} {endpoint.arn} is {raw}, not {kind.goal}")
        created_at = desc[kind.created_key]
        info = EndpointInfo(
            platform=plan.platform,
            endpoint_name=plan.endpoint_name,
            uri=endpoint.arn,
            model_artifact_path=plan.model_artifact_path,
            created_at=created_at,
        )
        return DeploymentResult(
            endpoint=info,
            platform=plan.platform,
            endpoint_name=plan.endpoint_name,
            uri=model.arn,
            model_artifact_path=plan.model_artifact_path,
            created_at=created_at,
            status=raw,
            created=[s.arn for s in (model, endpoint) if s.created],
            reused=[s.arn for s in (model, endpoint) if not s.created],
        )

    # -- shared ----------------------------------------------------------------------------------
    def _describe(self, kind: ResourceKind, identifier: str) -> dict[str, Any]:
        with aws_errors("Get" + kind.noun):
            desc: dict[str, Any] = getattr(self.clients.bedrock, "get_" + snake(kind.noun))(
                **{kind.id_param: identifier}
            )
        return desc

    def _lookup(self, kind: ResourceKind, name: str) -> dict[str, Any] | None:
        """Describe the resource named ``name``; None when there is none."""
        try:
            return self._describe(kind, name)
        except AwsCallError as exc:
            if exc.code == "ResourceNotFoundException":
                return None
            raise

    def _state(self, kind: ResourceKind, arn: str) -> JobState:
        desc = self._describe(kind, arn)
        raw = kind.raw_status(desc)
        return JobState(kind.mapper(raw), raw, desc.get("failureMessage"))

    def _replace(self, kind: ResourceKind, failed: dict[str, Any], generated: bool, field_name: str) -> str:
        """Delete a ``Failed`` resource an earlier attempt left under a generated name; return its ARN."""
        arn: str = failed[kind.arn_key]
        reason = failed.get("failureMessage")
        if not generated:
            raise DeploymentError(
                f"the {kind.what} {arn} under the {field_name} you gave failed in an earlier attempt "
                f"({reason or 'no reason given'}); delete it ({kind.delete_command(arn)}) and retry, or choose "
                f"another {field_name}",
                reused=[arn],
                failed_arn=arn,
                reason=reason,
            )
        with aws_errors("Delete" + kind.noun):
            getattr(self.clients.bedrock, "delete_" + snake(kind.noun))(**{kind.id_param: arn})
        log.warning("Deleted the %s %s, failed in an earlier attempt (%s); creating it again", kind.what, arn, reason)
        return arn

    def _create(self, kind: ResourceKind, request: dict[str, Any], name: str, replaced: str | None) -> Started:
        try:
            with aws_errors("Create" + kind.noun):
                arn: str = getattr(self.clients.bedrock, "create_" + snake(kind.noun))(**request)[kind.arn_key]
        except AwsCallError as exc:
            # another attempt created the same name between our look-up and our create: use that one
            existing = self._lookup(kind, name) if exc.code == "ConflictException" else None
            if existing is None:
                raise
            return Started(existing[kind.arn_key], created=False)
        return Started(arn, created=True, replaced=replaced)

    def _await(self, kind: ResourceKind, arn: str, describe: Callable[[], JobState], deadline: float | None) -> None:
        """Wait for the resource to finish; a DeploymentError when it fails or the deadline passes."""
        what = f"Bedrock {kind.what} {arn}"
        try:
            state = self._wait(describe, what, deadline)
        except WaitTimeoutError as exc:
            raise DeploymentError(
                f"timed out after {self.timeout_seconds:g} s waiting for {what} to become {kind.goal} "
                f"(still {exc.last_status}; Bedrock goes on creating it)",
                failed_arn=arn,
            ) from exc
        if state.status is JobStatus.FAILED:
            reason = state.reason
            raise DeploymentError(
                f"{what} is {state.raw}: {reason or 'no reason given'}", failed_arn=arn, reason=reason
            )

    def _wait(self, describe: Callable[[], JobState], what: str, deadline: float | None) -> JobState:
        remaining = None if deadline is None else deadline - self.clock()
        if remaining is not None and remaining <= 0:  # the model used up the time: look once
            state = describe()
            if not state.status.is_terminal:
                raise WaitTimeoutError(what, state.raw, self.timeout_seconds or 0.0)
            return state
        return wait_for(
            describe,
            what,
            poll_seconds=self.poll_seconds,
            timeout_seconds=remaining,
            sleep=self.sleep,
            clock=self.clock,
        )
