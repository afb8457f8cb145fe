"""Bad input fails with a clear error before anything is created on AWS."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from airflow_provider_nova.core import (
    AwsClients,
    ConfigurationError,
    Model,
    NovaModelCustomizer,
    RecipeError,
    SMHPRuntimeManager,
    SMTJRuntimeManager,
    TrainingMethod,
)
from airflow_provider_nova.core.recipes import RecipeCache

DATA = "s3://my-bucket/training-data/"
OUT = "s3://my-bucket/output/"
MUTATING = ("CreateTrainingJob", "PutObject", "CreateBucket", "StopTrainingJob")


class Recorder:
    """Every operation a set of clients sends."""

    def __init__(self, clients: AwsClients) -> None:
        self.calls: list[str] = []
        for service in ("sagemaker", "s3", "sts", "iam", "logs"):
            clients.client(service).meta.events.register("before-call", self._record)

    def _record(self, model: Any, **_: Any) -> None:
        self.calls.append(model.name)

    def mutating(self) -> list[str]:
        return [c for c in self.calls if c in MUTATING]


@pytest.fixture
def clients(account: dict[str, str]) -> AwsClients:
    return AwsClients(region_name="us-east-1")


@pytest.fixture
def recorder(clients: AwsClients) -> Iterator[Recorder]:
    recorder = Recorder(clients)
    yield recorder
    assert recorder.mutating() == [], "a failed check must not create anything"


def customizer(clients: AwsClients, model: Model = Model.NOVA_MICRO, method: TrainingMethod = TrainingMethod.SFT_LORA,
               instance_type: str = "ml.p5.48xlarge", count: int = 2, **kwargs: Any) -> NovaModelCustomizer:  # fmt: skip
    infra = SMTJRuntimeManager(instance_type, count, clients=clients, **kwargs.pop("infra_kwargs", {}))
    return NovaModelCustomizer(model, method, infra, kwargs.pop("data", DATA), kwargs.pop("out", OUT), **kwargs)


def test_unknown_override_lists_allowed_keys(clients: AwsClients, recorder: Recorder) -> None:
    with pytest.raises(RecipeError, match=r"unknown override 'learning_rat'; allowed: .*\blr \(learning_rate\)"):
        customizer(clients).train("job-a", overrides={"learning_rat": 1e-5})


def test_lr_out_of_range(clients: AwsClients, recorder: Recorder) -> None:
    with pytest.raises(RecipeError, match=re.escape("override 'lr' = 5.0 is out of range; use a number >= 0 and <= 1")):
        customizer(clients).train("job-a", overrides={"lr": 5.0})


def test_global_batch_size_outside_the_published_enum(clients: AwsClients, recorder: Recorder) -> None:
    overrides = {"max_epochs": 10, "lr": 5e-6, "warmup_steps": 20, "global_batch_size": 100}
    with pytest.raises(
        ValueError, match="'global_batch_size' = 100 is not allowed; use one of 64, 128, 256, 512, 1024"
    ):
        customizer(clients).validate("my-training-job", overrides=overrides)


def test_wrong_instance_type_for_the_model(clients: AwsClients, recorder: Recorder) -> None:
    expected = (
        "instance_type 'ml.g5.2xlarge' is not supported for NOVA_MICRO SFT_LORA on SMTJ; supported instance types: "
        "ml.g5.12xlarge, ml.g5.48xlarge, ml.g6.12xlarge, ml.g6.48xlarge, ml.p4d.24xlarge, ml.p5.48xlarge, ml.p5en.48xlarge"
    )
    with pytest.raises(RecipeError, match=re.escape(expected)):
        customizer(clients, instance_type="ml.g5.2xlarge").train("job-a")


def test_spec_complete_example_count_fails_naming_allowed_counts_and_types(
    clients: AwsClients, recorder: Recorder
) -> None:
    expected = (
        "instance_count 1 is not allowed for NOVA_MICRO SFT_LORA on ml.p5.48xlarge "
        "(recipe nova_micro_1_0_p5_p4d_gpu_lora_sft); allowed counts: 2, 4, 8; 1 instance(s) are allowed on "
        "ml.g5.12xlarge, ml.g6.12xlarge, ml.g5.48xlarge, ml.g6.48xlarge"
    )
    with pytest.raises(ConfigurationError, match=re.escape(expected)):
        customizer(clients, count=1).train("my-training-job")


def test_rft_is_published_on_smtj_for_nova_lite_2_only(clients: AwsClients, recorder: Recorder) -> None:
    lam = "arn:aws:lambda:us-east-1:123456789012:function:reward"
    with pytest.raises(
        RecipeError,
        match="no published SMTJ recipe for NOVA_MICRO with RFT in us-east-1; the hub offers: SFT_LORA, SFT_FULLRANK",
    ):
        customizer(clients, method=TrainingMethod.RFT).train("job-a", rft_lambda_arn=lam)


@pytest.mark.parametrize(
    ("method", "lam", "message"),
    [
        (TrainingMethod.RFT, None, "RFT needs rft_lambda_arn"),
        (TrainingMethod.RFT, "arn:aws:lambda:us-east-1:12:function:x", "is not a Lambda function ARN"),
        (TrainingMethod.SFT_LORA, "arn:aws:lambda:us-east-1:123456789012:function:x", "only used by RFT methods"),
        (TrainingMethod.EVALUATION, None, "EVALUATION does not train"),
    ],
)
def test_reward_lambda_rules(
    clients: AwsClients, recorder: Recorder, method: TrainingMethod, lam: str | None, message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        customizer(clients, model=Model.NOVA_LITE_2, method=method, count=4).train("job-a", rft_lambda_arn=lam)


def test_missing_role_says_which_role_and_permissions(
    sandbox: object, recorder: Recorder, clients: AwsClients, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(key, "testing")  # a plain IAM user, not a role
    plain = AwsClients(region_name="us-east-1")
    watching_plain = Recorder(plain)
    with pytest.raises(ConfigurationError) as info:
        customizer(plain).train("job-a")
    assert "GetCallerIdentity" in watching_plain.calls  # the recorder watches the clients that were used
    assert watching_plain.mutating() == []
    message = str(info.value)
    assert "no execution_role given and the caller arn:aws:sts::123456789012:user/moto is not an IAM role" in message
    assert "trusts sagemaker.amazonaws.com" in message and "/aws/sagemaker/TrainingJobs" in message


def test_unknown_role_name(clients: AwsClients, recorder: Recorder) -> None:
    with pytest.raises(ConfigurationError, match="execution_role 'NoSuchRole' does not exist in this account"):
        customizer(clients, infra_kwargs={"execution_role": "NoSuchRole"}).train("job-a")


def test_role_name_expands_to_its_arn(clients: AwsClients, account: dict[str, str]) -> None:
    plan = customizer(clients, infra_kwargs={"execution_role": "NovaCustomizationRole"}).plan_training("job-a")
    assert (
        plan.request["RoleArn"]
        == account["role_arn"]
        == "arn:aws:iam::123456789012:role/service-role/NovaCustomizationRole"
    )


def test_missing_training_data(clients: AwsClients, recorder: Recorder) -> None:
    with pytest.raises(ConfigurationError, match="data_s3_path s3://my-bucket/nothing-here/ has no objects"):
        customizer(clients, data="s3://my-bucket/nothing-here/").train("job-a")


def test_duplicate_job_name_is_refused_before_anything_is_written(clients: AwsClients) -> None:
    customizer(clients).train("job-twice", overrides={"max_epochs": 3})
    recipe_key = "output/job-twice/input/recipe/recipe.yaml"
    first = clients.s3.get_object(Bucket="my-bucket", Key=recipe_key)["Body"].read()
    watching = Recorder(clients)
    taken = "a training job named 'job-twice' already exists in us-east-1"
    with pytest.raises(ConfigurationError, match=taken):
        customizer(clients).validate("job-twice", overrides={"max_epochs": 5})
    with pytest.raises(ConfigurationError, match=taken):
        customizer(clients).train("job-twice", overrides={"max_epochs": 5})
    assert watching.mutating() == []
    assert clients.s3.get_object(Bucket="my-bucket", Key=recipe_key)["Body"].read() == first
    assert b"max_epochs: 3" in first


def test_missing_output_bucket_fails_validation(clients: AwsClients, recorder: Recorder) -> None:
    with pytest.raises(
        ConfigurationError, match="output_s3_path s3://no-such-bucket/out/: bucket no-such-bucket does not exist"
    ):
        customizer(clients, out="s3://no-such-bucket/out/").validate("job-a")


def test_validate_without_output_path_creates_no_bucket(clients: AwsClients, recorder: Recorder) -> None:
    custom = customizer(clients, out=None)
    custom.validate("job-a")
    plan = custom.plan_training("job-a")
    assert plan.output_s3_path == "s3://sagemaker-us-east-1-123456789012/nova-customization/"
    assert "sagemaker-us-east-1-123456789012" not in [b["Name"] for b in clients.s3.list_buckets()["Buckets"]]
    assert custom.output_s3_path is None


def test_job_names_over_63_characters_and_with_newlines_are_refused(clients: AwsClients, recorder: Recorder) -> None:
    for bad in ("a" * 64, "a-" * 31 + "-b", "job\n", "-job", "job-"):
        with pytest.raises(ConfigurationError, match="is not a valid SageMaker job name"):
            customizer(clients).validate(bad)
    customizer(clients).validate("a" * 63)


def test_recipe_path_for_another_model_is_rejected(clients: AwsClients, recorder: Recorder, tmp_path: Any) -> None:
    path = tmp_path / "recipe.yaml"
    path.write_text("run:\n  name: x\n  model_type: amazon.nova-pro-v1:0:300k\n")
    with pytest.raises(
        RecipeError,
        match=re.escape("is for model_type 'amazon.nova-pro-v1:0:300k', but the customizer's model is NOVA_MICRO"),
    ):
        customizer(clients).train("job-a", recipe_path=str(path))


def test_recipe_path_that_is_not_yaml(clients: AwsClients, recorder: Recorder, tmp_path: Any) -> None:
    path = tmp_path / "recipe.yaml"
    path.write_text("run: [unclosed\n")
    with pytest.raises(RecipeError, match="is not valid YAML"):
        customizer(clients).train("job-a", recipe_path=str(path))


# -- errors found with no AWS call at all: these clients point at a closed port -------------------
DEAD = AwsClients(region_name="us-east-1", endpoint_url="http://127.0.0.1:9")


def test_unsupported_region_at_construction() -> None:
    dead_eu = AwsClients(region_name="eu-central-1", endpoint_url="http://127.0.0.1:9")
    with pytest.raises(
        ValueError,
        match="region 'eu-central-1' is not supported for Nova customization; supported regions: us-east-1, us-west-2, ap-northeast-1",
    ):
        customizer(dead_eu)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"data": "my-bucket/data"}, "data_s3_path must be an s3:// URI, got 'my-bucket/data'"),
        ({"data": "s3://My_Bucket/data"}, "data_s3_path has an invalid bucket name 'My_Bucket'"),
        ({"out": "s3://ab/out"}, "output_s3_path has an invalid bucket name 'ab'"),
        ({"model_path": "/local/checkpoint"}, "model_path must be an s3:// URI"),
        ({"validation_config": {"iam": False}}, "unknown validation_config key 'iam'; known: infra, data"),
    ],
)
def test_malformed_arguments_at_construction(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        customizer(DEAD, **kwargs)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("p5.48xlarge", 2), "instance_type must look like 'ml.p5.48xlarge', got 'p5.48xlarge'"),
        (("ml.p5.48xlarge", 0), "instance_count must be a positive integer, got 0"),
        (("ml.p5.48xlarge", "2"), "instance_count must be a positive integer, got '2'"),
    ],
)
def test_malformed_runtime_arguments(args: tuple[Any, ...], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        SMTJRuntimeManager(*args)


def test_max_job_runtime_bounds() -> None:
    with pytest.raises(ValueError, match=re.escape("max_job_runtime must be 1..2419200 seconds")):
        SMTJRuntimeManager("ml.p5.48xlarge", 2, max_job_runtime=0)


def test_bad_job_name_before_any_call() -> None:
    with pytest.raises(ValueError, match="job_name 'my_job' is not a valid SageMaker job name"):
        customizer(DEAD).validate("my_job")


def test_hyperpod_runtime_validates_its_names() -> None:
    with pytest.raises(ValueError, match="namespace 'Default' is not a valid Kubernetes namespace name"):
        SMHPRuntimeManager("ml.p5.48xlarge", 4, "my-hyperpod-cluster", "Default")


def test_recipe_cache_is_per_process_and_injectable(clients: AwsClients) -> None:
    cache = RecipeCache()
    recorder = Recorder(clients)
    c = NovaModelCustomizer(
        Model.NOVA_MICRO,
        TrainingMethod.SFT_LORA,
        SMTJRuntimeManager("ml.p5.48xlarge", 2, clients=clients),
        DATA,
        OUT,
        recipe_cache=cache,
    )
    c.validate("job-a")
    c.validate("job-b")
    assert recorder.calls.count("DescribeHubContent") == 1
    # template and override params, and the HyperPod sibling's params for the replicas enum, once each;
    # the data sample once per validate
    assert recorder.calls.count("GetObject") == 3 + 2
