from __future__ import annotations

import pytest

from airflow_provider_nova.core import (
    AwsClients,
    ConfigurationError,
    Model,
    NovaModelCustomizer,
    SMTJRuntimeManager,
    TrainingMethod,
)


@pytest.fixture
def customizer(account: dict[str, str]) -> NovaModelCustomizer:
    infra = SMTJRuntimeManager("ml.p5.48xlarge", 2, clients=AwsClients(region_name="us-east-1"))
    return NovaModelCustomizer(
        Model.NOVA_MICRO, TrainingMethod.SFT_LORA, infra, "s3://my-bucket/training-data/", "s3://my-bucket/output/"
    )


def test_get_logs_before_train_is_an_error(customizer: NovaModelCustomizer) -> None:
    with pytest.raises(ConfigurationError, match="call train\\(\\) first"):
        customizer.get_logs()


def test_get_logs_prints_the_job_lines(
    customizer: NovaModelCustomizer, control: object, capsys: pytest.CaptureFixture[str]
) -> None:
    customizer.train("logs-job")
    customizer.get_logs()
    started = capsys.readouterr().out.splitlines()
    assert started == [
        "Nova sandbox (local stand-in, not AWS): training job logs-job started",
        "Image: 708977205387.dkr.ecr.us-east-1.amazonaws.com/nova-fine-tune-repo:SM-TJ-SFT-latest",
        "Instances: 2 x ml.p5.48xlarge",
    ]
    control.complete_job("logs-job")  # type: ignore[attr-defined]
    customizer.get_logs(limit=2, start_from_head=True)
    assert capsys.readouterr().out.splitlines() == started[:2]
    customizer.get_logs(limit=1)
    assert capsys.readouterr().out.splitlines() == ["Training job logs-job Completed"]
    customizer.get_logs()
    every = capsys.readouterr().out.splitlines()
    assert every[:3] == started and "Base model: nova-micro/prod" in every and len(every) == 12


def test_limit_must_be_positive(customizer: NovaModelCustomizer) -> None:
    customizer.train("logs-job")
    with pytest.raises(ConfigurationError, match="limit must be a positive integer"):
        customizer.get_logs(limit=0)
