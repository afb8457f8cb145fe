"""Many jobs' states in few calls: from ListTrainingJobs pages, a describe only for a failed, stopped or unlisted job."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_nova.core import AwsCallError, JobStatus, Platform
from airflow_provider_nova.core.lifecycle import JobState
from airflow_provider_nova.core.runtimes import jobs_for

IN = JobStatus.IN_PROGRESS


def create(aws: Any, role_arn: str, name: str, **extra: Any) -> None:
    aws.sagemaker.create_training_job(
        **extra,
        TrainingJobName=name,
        RoleArn=role_arn,
        AlgorithmSpecification={"TrainingImage": "example.com/image:1", "TrainingInputMode": "File"},
        OutputDataConfig={"S3OutputPath": "s3://my-bucket/out/"},
        ResourceConfig={"InstanceType": "ml.p5.48xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30},
        StoppingCondition={"MaxRuntimeInSeconds": 3600},
    )


def test_pages_are_followed_until_every_running_job_was_seen_and_ended_jobs_are_described_once(
    account: dict[str, str], control: Any, aws: Any
) -> None:
    names = ["first", *(f"filler-{i}" for i in range(119)), "last"]
    for name in names:
        create(aws, account["role_arn"], name)
    sent: list[dict[str, Any]] = []
    aws.sagemaker.meta.events.register(
        "before-parameter-build.sagemaker.ListTrainingJobs", lambda params, **_: sent.append(dict(params))
    )
    jobs = jobs_for(Platform.SMTJ, aws)

    assert jobs.describe_many(["first", "last"]) == {
        "first": JobState(IN, "InProgress", None, "Starting"),
        "last": JobState(IN, "InProgress", None, "Starting"),
    }
    assert control.calls() == {"CreateTrainingJob": 121, "ListTrainingJobs": 2}  # "first" is on the second page
    assert [s.get("StatusEquals") for s in sent] == [None, None]  # every status: the window is the same
    assert "CreationTimeAfter" not in sent[0] and sent[1]["NextToken"]

    control.fail_job("last", "AlgorithmError: injected")
    control.fail_job("filler-3", "AlgorithmError: not waited on")
    states = jobs.describe_many(["first", "last"])

    assert states["last"] == JobState(JobStatus.FAILED, "Failed", "AlgorithmError: injected", "Failed")
    assert states["first"] == JobState(IN, "InProgress", None, "Starting")
    assert control.calls()["DescribeTrainingJob"] == 1
    # both creation times are known now: the list starts at the older job, not at the account's first
    first_created = aws.sagemaker.describe_training_job(TrainingJobName="first")["CreationTime"]
    assert sent[2]["CreationTimeAfter"] < first_created and "NextToken" not in sent[2]


def test_a_completed_job_is_taken_from_the_list_and_a_stopped_one_is_described(
    account: dict[str, str], control: Any, aws: Any
) -> None:
    for name in ("halted", "running"):
        create(aws, account["role_arn"], name)
    aws.s3.put_object(Bucket="my-bucket", Key="recipe/recipe.yaml", Body=b"run:\n  name: done\n")
    recipe = {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://my-bucket/recipe/"}}
    create(aws, account["role_arn"], "done", InputDataConfig=[{"ChannelName": "recipe", "DataSource": recipe}])
    control.complete_job("done")  # a completed job has its outputs written from its recipe
    aws.sagemaker.stop_training_job(TrainingJobName="halted")
    before = control.calls()

    states = jobs_for(Platform.SMTJ, aws).describe_many(["done", "halted", "running"])

    assert states["done"] == JobState(JobStatus.COMPLETED, "Completed", None, "Completed")
    assert states["running"] == JobState(IN, "InProgress", None, "Starting")
    assert states["halted"].status is JobStatus.FAILED and states["halted"].raw == "Stopped"
    calls = control.calls()
    assert calls["ListTrainingJobs"] - before.get("ListTrainingJobs", 0) == 1
    assert calls["DescribeTrainingJob"] - before.get("DescribeTrainingJob", 0) == 1  # "halted" alone


def test_no_names_take_no_call_and_a_missing_job_is_the_services_error(
    account: dict[str, str], control: Any, aws: Any
) -> None:
    jobs = jobs_for(Platform.SMTJ, aws)
    assert jobs.describe_many([]) == {}
    assert control.calls() == {}
    with pytest.raises(AwsCallError) as info:
        jobs.describe_many(["never-started"])
    assert info.value.code == "ValidationException"
    assert control.calls() == {"ListTrainingJobs": 1, "DescribeTrainingJob.failed": 1}
