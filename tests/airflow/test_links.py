"""Console links: the URL each formats per partition, the XCom round trip, and escaping."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import pytest
from airflow.sdk import BaseOperator
from airflow.sdk.execution_time.xcom import XCom

from airflow_provider_nova.links import (
    BedrockCustomModelLink,
    BedrockDeploymentLink,
    NovaConsoleLink,
    SageMakerTrainingJobLink,
    TrainingJobLogsLink,
    console_domain,
    persist_training_job_links,
)

MODEL_ARN = "arn:aws:bedrock:us-east-1:123456789012:custom-model/amazon.nova-micro-v1:0:128k/abcdef123456"
MODEL_ARN_Q = (
    "arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Acustom-model%2Famazon.nova-micro-v1%3A0%3A128k%2Fabcdef123456"
)
PT_ARN = "arn:aws:bedrock:us-east-1:123456789012:provisioned-model/0123456789ab"
PT_ARN_Q = "arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Aprovisioned-model%2F0123456789ab"
LOGS = "#logsV2:log-groups/log-group/$252Faws$252Fsagemaker$252FTrainingJobs$3FlogStreamNameFilter$3D"

CASES = [
    (SageMakerTrainingJobLink, {"job_name": "nova-sft-1"}, "/sagemaker/home?region={r}#/jobs/nova-sft-1"),
    (TrainingJobLogsLink, {"job_name": "nova-sft-1"}, "/cloudwatch/home?region={r}" + LOGS + "nova-sft-1$252F"),
    (BedrockCustomModelLink, {"model_arn": MODEL_ARN}, "/bedrock/home?region={r}#/custom-models/item?arn=" + MODEL_ARN_Q),
    (
        BedrockDeploymentLink,
        {"platform": "bedrock_pt", "arn": PT_ARN, "model_arn": MODEL_ARN},
        "/bedrock/home?region={r}#/provisioned-throughput/details?arn=" + PT_ARN_Q,
    ),
    (
        BedrockDeploymentLink,
        {"platform": "bedrock_od", "arn": "arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/x", "model_arn": MODEL_ARN},
        "/bedrock/home?region={r}#/custom-models/item?arn=" + MODEL_ARN_Q,
    ),
]  # fmt: skip
PARTITIONS = [
    ("aws", "us-east-1", "https://console.aws.amazon.com"),
    ("aws-cn", "cn-north-1", "https://console.amazonaws.cn"),
]


@pytest.mark.parametrize(("partition", "region", "origin"), PARTITIONS)
@pytest.mark.parametrize(("link", "fields", "path"), CASES)
def test_each_link_formats_the_console_page(link, fields, path, partition, region, origin) -> None:
    url = link().format_link(region_name=region, aws_domain=console_domain(partition), **fields)
    assert url == origin + path.format(r=region)


def test_partitions_map_to_their_console_domains() -> None:
    assert console_domain("aws-us-gov") == "amazonaws-us-gov.com"
    assert console_domain("aws-iso") is None
    assert console_domain(None) is None


def test_no_link_without_a_console_a_field_or_a_known_platform() -> None:
    assert SageMakerTrainingJobLink().format_link(region_name="us-east-1", aws_domain=None, job_name="j") == ""
    assert SageMakerTrainingJobLink().format_link(region_name="us-east-1", aws_domain="aws.amazon.com") == ""
    assert TrainingJobLogsLink().format_link(region_name=None, aws_domain="aws.amazon.com", job_name="j") == ""
    kwargs = {"region_name": "us-east-1", "aws_domain": "aws.amazon.com", "arn": PT_ARN, "model_arn": MODEL_ARN}
    assert BedrockDeploymentLink().format_link(platform="sagemaker", **kwargs) == ""
    assert BedrockDeploymentLink().format_link(platform="BEDROCK_PT", **kwargs).endswith(PT_ARN_Q)


def test_fields_are_url_escaped() -> None:
    url = SageMakerTrainingJobLink().format_link(
        region_name="us-east-1", aws_domain="aws.amazon.com", job_name="a b/#?&c"
    )
    assert url.endswith("#/jobs/a%20b%2F%23%3F%26c")


def test_log_stream_filter_is_escaped_twice_with_dollars() -> None:
    url = TrainingJobLogsLink().format_link(region_name="us-east-1", aws_domain="aws.amazon.com", job_name="a+b c")
    assert url.endswith(LOGS + "a$252Bb$2520c$252F")
    assert "%" not in url


def test_every_link_has_its_own_xcom_keys_and_a_short_name() -> None:
    links = [SageMakerTrainingJobLink, TrainingJobLogsLink, BedrockCustomModelLink, BedrockDeploymentLink]
    assert len({link.key for link in links}) == len({link().xcom_key for link in links}) == len(links)
    assert all(len(link.name) <= 25 for link in links)


@dataclass
class FakeTaskInstance:
    """What ``persist`` and ``get_link`` use of a task instance: its key fields and ``xcom_push``."""

    dag_id: str = "dag"
    task_id: str = "train"
    run_id: str = "run-1"
    map_index: int = -1
    pushed: dict[tuple[Any, ...], Any] = field(default_factory=dict)

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[(self.dag_id, self.task_id, self.run_id, self.map_index, key)] = value


@pytest.fixture
def ti(monkeypatch: pytest.MonkeyPatch) -> FakeTaskInstance:
    fake = FakeTaskInstance()

    def get_value(*, ti_key: Any, key: str) -> Any:
        return fake.pushed.get((ti_key.dag_id, ti_key.task_id, ti_key.run_id, ti_key.map_index, key))

    monkeypatch.setattr(XCom, "get_value", get_value)
    return fake


def test_persisted_links_come_back_formatted(ti: FakeTaskInstance) -> None:
    op = BaseOperator(task_id="train")
    persist_training_job_links({"ti": ti}, op, region_name="eu-west-1", aws_partition="aws", job_name="nova-sft-1")
    BedrockDeploymentLink.persist({"ti": ti}, op, "eu-west-1", "aws", platform="bedrock_pt", arn=PT_ARN, model_arn=None)

    assert SageMakerTrainingJobLink().get_link(op, ti_key=ti) == (
        "https://console.aws.amazon.com/sagemaker/home?region=eu-west-1#/jobs/nova-sft-1"
    )
    assert TrainingJobLogsLink().get_link(op, ti_key=ti).endswith(LOGS + "nova-sft-1$252F")
    assert BedrockDeploymentLink().get_link(op, ti_key=ti).endswith("details?arn=" + PT_ARN_Q)
    assert BedrockCustomModelLink().get_link(op, ti_key=ti) == ""  # never persisted
    other = FakeTaskInstance(task_id="deploy")
    assert SageMakerTrainingJobLink().get_link(op, ti_key=other) == ""


def test_nothing_is_persisted_when_the_operator_pushes_no_xcoms(ti: FakeTaskInstance) -> None:
    op = BaseOperator(task_id="train", do_xcom_push=False)
    SageMakerTrainingJobLink.persist({"ti": ti}, op, "us-east-1", "aws", job_name="j")
    assert ti.pushed == {}


def test_a_failed_persist_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    class Broken:
        def xcom_push(self, key: str, value: Any) -> None:
            raise RuntimeError("no supervisor")

    with caplog.at_level(logging.WARNING):
        BedrockCustomModelLink.persist({"ti": Broken()}, BaseOperator(task_id="t"), "us-east-1", "aws", model_arn="m")
    assert "Bedrock custom model" in caplog.text


def test_the_base_is_abstract_and_links_attach_to_operators() -> None:
    with pytest.raises(TypeError):
        NovaConsoleLink()  # type: ignore[abstract]
    op = BaseOperator(task_id="t")
    op.operator_extra_links = (SageMakerTrainingJobLink(), TrainingJobLogsLink())
    assert [link.name for link in op.operator_extra_links] == ["SageMaker training job", "Training job logs"]


def test_the_evaluation_report_link_opens_the_plugin_page_once_the_evaluation_finished(
    ti: FakeTaskInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow_provider_nova.links import EvaluationReportLink, report_url

    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "http://127.0.0.1:8080/airflow/")
    op = BaseOperator(task_id="evaluate_new")
    ti.task_id, ti.run_id = "evaluate_new", "manual__2026-01-05T08:00:00+00:00"
    assert EvaluationReportLink().get_link(op, ti_key=ti) == ""  # running or failed: no report yet
    ti.xcom_push("return_value", {"job_name": "e-1", "metrics": {"accuracy": 0.5}})
    assert EvaluationReportLink().get_link(op, ti_key=ti) == (
        "http://127.0.0.1:8080/airflow/nova/report/dag/manual__2026-01-05T08%3A00%3A00%2B00%3A00/evaluate_new"
    )
    assert EvaluationReportLink.name == "Evaluation report"
    assert report_url("d/1", "r 1", "t", 3, base_url="") == "/nova/report/d%2F1/r%201/t?map_index=3"
