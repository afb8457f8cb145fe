"""``NovaJobSensor``: wait for a Nova job started elsewhere (a SageMaker training job or a HyperPod job)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator, PokeReturnValue
from airflow.sdk.configuration import conf

from airflow_provider_nova.operators.base import NovaAwsMixin, aws_template_fields
from airflow_provider_nova.operators.values import member

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_nova.core.lifecycle import JobRef


class NovaJobSensor(NovaAwsMixin, BaseSensorOperator):
    """Wait until a Nova job completes; fail with the service's reason when it fails or is stopped.

    Deferred, it waits in the triggerer on ``NovaJobTrigger`` (sharing one status poll with the other
    waits there) and gives up after the sensor's ``timeout``; it never stops the job it watches.

    :param job_name: the job's name. (templated)
    :param platform: where the job runs: a ``Platform`` member or its name (``SMTJ``, ``SMHP``).
    :param cluster_name: the HyperPod cluster (``SMHP`` only). (templated)
    :param namespace: the Kubernetes namespace of the HyperPod job (``SMHP`` only). (templated)
    :param aws_conn_id: the Airflow ``aws`` connection. (templated)
    :param region_name: the AWS region; the connection's when omitted. (templated)
    :param verify: whether to verify SSL certificates, or a CA bundle path. (templated)
    :param botocore_config: a botocore ``Config`` as a dict.
    :param deferrable: wait in the triggerer instead of a worker slot (default
        ``[operators] default_deferrable``).
    :param poke_interval: seconds between status checks.
    """

    template_fields: tuple[str, ...] = aws_template_fields("job_name", "cluster_name", "namespace")
    ui_color = "#f3e9ff"

    def __init__(
        self,
        *,
        job_name: str,
        platform: Any = "SMTJ",
        cluster_name: str | None = None,
        namespace: str | None = None,
        aws_conn_id: str | None = "aws_default",
        region_name: str | None = None,
        verify: bool | str | None = None,
        botocore_config: dict[str, Any] | None = None,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poke_interval: float = 60,
        **kwargs: Any,
    ) -> None:
        super().__init__(poke_interval=poke_interval, **kwargs)
        self._set_aws(aws_conn_id, region_name, verify, botocore_config)
        self.job_name = job_name
        self.platform = platform
        self.cluster_name = cluster_name
        self.namespace = namespace
        self.deferrable = deferrable

    def _job(self) -> tuple[JobRef, Any]:
        """The watched job's reference and its platform's job service (refuses an unsupported platform)."""
        from airflow_provider_nova.core.enums import Platform
        from airflow_provider_nova.core.lifecycle import JobRef
        from airflow_provider_nova.core.runtimes import jobs_for
        from airflow_provider_nova.operators.values import optional_text

        platform = member(Platform, self.platform, "platform")
        jobs = jobs_for(platform, self.hook.clients)
        region = self.hook.clients.region_name
        if platform is Platform.SMHP:
            place = {"cluster_name": optional_text(self.cluster_name), "namespace": optional_text(self.namespace)}
            ref = JobRef.from_json(
                {"platform": platform.value, "job_name": str(self.job_name), "region": region, **place}
            )
            return ref, jobs
        return JobRef(platform, str(self.job_name), region), jobs

    def poke(self, context: Context) -> PokeReturnValue | bool:
        from airflow_provider_nova.core.aws import is_transient
        from airflow_provider_nova.core.enums import JobStatus
        from airflow_provider_nova.core.errors import JobFailedError

        ref, jobs = self._job()
        try:
            state = jobs.describe(ref)
        except Exception as exc:
            if not is_transient(exc):
                raise
            self.log.warning(
                "checking %s job %s failed for now, trying again: %s", ref.platform.value, ref.job_name, exc
            )
            return False
        self.log.info("%s job %s is %s", ref.platform.value, ref.job_name, state.secondary or state.raw)
        if state.status is JobStatus.FAILED:
            raise JobFailedError(ref.job_name, state.raw, state.reason)
        return PokeReturnValue(is_done=True, xcom_value=state.to_json()) if state.status.is_terminal else False

    def execute(self, context: Context) -> Any:
        if not self.deferrable:
            return super().execute(context)
        from airflow_provider_nova.triggers.job import NovaJobTrigger

        ref, _ = self._job()
        trigger = NovaJobTrigger(
            ref.to_json(),
            **self.aws_kwargs,
            poll_interval=self.poke_interval,
            timeout=self.timeout or None,
            stop_on_kill=False,
        )
        self.defer(trigger=trigger, method_name="execute_complete")

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> dict[str, Any]:
        """Return the completed job's state as JSON; raise for a failed, timed-out or unfollowable one."""
        from airflow_provider_nova.triggers.job import check_event

        return check_event(event).to_json()
