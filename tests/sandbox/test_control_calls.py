"""The stand-in counts the training-job calls it answered, fails calls on request, and pages ListTrainingJobs."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError


@pytest.fixture
def sm(account: dict[str, str]) -> Any:
    import boto3

    # no retries: a refused call reaches the test (and the stand-in counts exactly what was sent)
    config = Config(retries={"mode": "standard", "total_max_attempts": 1})
    return boto3.client("sagemaker", endpoint_url=account["endpoint_url"], region_name="us-east-1", config=config)


def create(sm: Any, account: dict[str, str], name: str) -> None:
    sm.create_training_job(
        TrainingJobName=name,
        RoleArn=account["role_arn"],
        AlgorithmSpecification={"TrainingImage": "example.com/image:1", "TrainingInputMode": "File"},
        OutputDataConfig={"S3OutputPath": "s3://my-bucket/out/"},
        ResourceConfig={"InstanceType": "ml.p5.48xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30},
        StoppingCondition={"MaxRuntimeInSeconds": 3600},
    )


def test_each_answered_training_job_call_is_counted_until_reset(sm: Any, account: dict[str, str], control: Any) -> None:
    assert control.calls() == {}
    create(sm, account, "counted-1")
    with pytest.raises(ClientError, match="ResourceInUse"):
        create(sm, account, "counted-1")
    sm.describe_training_job(TrainingJobName="counted-1")
    with pytest.raises(ClientError, match="ValidationException"):
        sm.describe_training_job(TrainingJobName="never-started")
    sm.list_training_jobs()
    sm.stop_training_job(TrainingJobName="counted-1")
    sm.list_training_jobs()

    assert control.calls() == {
        "CreateTrainingJob": 1,
        "CreateTrainingJob.failed": 1,
        "DescribeTrainingJob": 1,
        "DescribeTrainingJob.failed": 1,
        "ListTrainingJobs": 2,
        "StopTrainingJob": 1,
    }
    control.reset()
    assert control.calls() == {}


def test_the_next_calls_of_an_operation_fail_as_asked_then_answer_again(
    sm: Any, account: dict[str, str], control: Any
) -> None:
    create(sm, account, "faulty")
    control.fail_next("ListTrainingJobs", "ThrottlingException", count=2)
    control.fail_next("DescribeTrainingJob", "InternalFailure", status=500)
    for _ in range(2):
        with pytest.raises(ClientError) as info:
            sm.list_training_jobs()
        assert info.value.response["Error"]["Code"] == "ThrottlingException"
    with pytest.raises(ClientError) as info:
        sm.describe_training_job(TrainingJobName="faulty")
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert [j["TrainingJobName"] for j in sm.list_training_jobs()["TrainingJobSummaries"]] == ["faulty"]
    assert sm.describe_training_job(TrainingJobName="faulty")["TrainingJobStatus"] == "InProgress"
    assert control.calls()["ListTrainingJobs.failed"] == 2
    with pytest.raises(Exception, match="400"):
        control.fail_next("ListTrainingJobs", "Throttling", status=200)


def test_list_pages_a_window_of_jobs_then_filters_it_by_status(sm: Any, account: dict[str, str], control: Any) -> None:
    for i in range(5):
        create(sm, account, f"paged-{i}")
    control.fail_job("paged-3", "AlgorithmError: injected")
    control.fail_job("paged-4", "AlgorithmError: injected")

    first = sm.list_training_jobs(MaxResults=2, StatusEquals="InProgress", SortOrder="Descending")
    assert first["TrainingJobSummaries"] == []  # the two newest jobs failed: an empty page, yet more follow
    second = sm.list_training_jobs(
        MaxResults=2, StatusEquals="InProgress", SortOrder="Descending", NextToken=first["NextToken"]
    )
    assert [j["TrainingJobName"] for j in second["TrainingJobSummaries"]] == ["paged-2", "paged-1"]
    last = sm.list_training_jobs(
        MaxResults=2, StatusEquals="InProgress", SortOrder="Descending", NextToken=second["NextToken"]
    )
    assert [j["TrainingJobName"] for j in last["TrainingJobSummaries"]] == ["paged-0"]
    assert "NextToken" not in last
    default = sm.list_training_jobs()  # CreationTime, Ascending, all statuses
    assert [j["TrainingJobName"] for j in default["TrainingJobSummaries"]] == [f"paged-{i}" for i in range(5)]
    with pytest.raises(ClientError, match="pagination token"):
        sm.list_training_jobs(NextToken="not-a-token")
