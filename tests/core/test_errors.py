"""Every error the core raises survives pickling (Airflow moves exceptions between processes)."""

from __future__ import annotations

import importlib
import pickle
import pkgutil

import pytest

import airflow_provider_nova.core as core
from airflow_provider_nova.core.deploy import DeploymentError
from airflow_provider_nova.core.errors import (
    AwsCallError,
    ConfigurationError,
    DataPrepError,
    JobFailedError,
    KubernetesCallError,
    NovaError,
    RecipeError,
    UnknownStatusError,
    UnsupportedError,
    WaitTimeoutError,
)

# One instance of every error class, with the attributes its constructor sets and the builtins it also is.
EXAMPLES: list[tuple[NovaError, dict[str, object], tuple[type[BaseException], ...]]] = [
    (NovaError("something went wrong"), {}, (Exception,)),
    (ConfigurationError("data_s3_path must be an s3:// URI"), {}, (ValueError,)),
    (RecipeError("recipe_path 'x.yaml' is not valid YAML"), {}, (ConfigurationError, ValueError)),
    (DataPrepError("row 3 has no messages"), {}, (ConfigurationError, ValueError)),
    (UnsupportedError("SMHP status is not available"), {}, (NotImplementedError,)),
    (
        AwsCallError("CreateTrainingJob", "ValidationException", "bad instance"),
        {"operation": "CreateTrainingJob", "code": "ValidationException"},
        (),
    ),
    (
        KubernetesCallError("create PyTorchJob", 403, "Forbidden", "pytorchjobs is forbidden"),
        {"operation": "create PyTorchJob", "status": 403, "reason": "Forbidden"},
        (),
    ),
    (
        JobFailedError("job-a", "Failed", "AlgorithmError: CUDA out of memory"),
        {"job_id": "job-a", "status": "Failed", "reason": "AlgorithmError: CUDA out of memory"},
        (),
    ),
    (JobFailedError("job-b", "Stopped"), {"job_id": "job-b", "status": "Stopped", "reason": None}, ()),
    (
        UnknownStatusError("SageMaker training job", "Paused", ("InProgress", "Completed")),
        {"resource": "SageMaker training job", "raw": "Paused"},
        (),
    ),
    (
        WaitTimeoutError("job job-a", "InProgress", 90.5),
        {"what": "job job-a", "last_status": "InProgress", "waited_seconds": 90.5},
        (TimeoutError, OSError),
    ),
    (
        DeploymentError(
            "CreateCustomModel failed",
            ["arn:aws:bedrock:us-east-1:123456789012:custom-model/a"],
            ["arn:aws:bedrock:us-east-1:123456789012:custom-model/b"],
            failed_arn="arn:aws:bedrock:us-east-1:123456789012:custom-model/c",
            reason="ValidationException",
        ),
        {
            "created": ["arn:aws:bedrock:us-east-1:123456789012:custom-model/a"],
            "reused": ["arn:aws:bedrock:us-east-1:123456789012:custom-model/b"],
            "failed_arn": "arn:aws:bedrock:us-east-1:123456789012:custom-model/c",
            "reason": "ValidationException",
        },
        (),
    ),
    (DeploymentError("timed out", [], []), {"created": [], "reused": [], "failed_arn": None, "reason": None}, ()),
]


def _error_classes() -> set[type[NovaError]]:
    """Every NovaError subclass defined anywhere in the core (all its modules imported first)."""
    for info in pkgutil.walk_packages(core.__path__, prefix="airflow_provider_nova.core."):
        importlib.import_module(info.name)
    found: set[type[NovaError]] = set()
    pending: list[type[NovaError]] = [NovaError]
    while pending:
        cls = pending.pop()
        found.add(cls)
        pending.extend(cls.__subclasses__())
    return {c for c in found if c.__module__.startswith("airflow_provider_nova.core")}


def test_every_error_class_has_an_example() -> None:
    assert _error_classes() == {type(exc) for exc, _, _ in EXAMPLES}


@pytest.mark.parametrize(
    ("exc", "attrs", "also"), EXAMPLES, ids=[f"{type(e).__name__}-{i}" for i, (e, _, _) in enumerate(EXAMPLES)]
)
def test_error_pickles_with_its_attributes(
    exc: NovaError, attrs: dict[str, object], also: tuple[type[BaseException], ...]
) -> None:
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        back = pickle.loads(pickle.dumps(exc, protocol=protocol))
        assert type(back) is type(exc)
        assert str(back) == str(exc)
        assert back.args == exc.args
        assert {name: getattr(back, name) for name in attrs} == attrs
        assert isinstance(back, NovaError)
        for base in also:
            assert isinstance(back, base)


def test_pickled_error_can_be_raised_and_caught_as_its_builtin() -> None:
    back = pickle.loads(pickle.dumps(WaitTimeoutError("job x", "InProgress", 3)))
    with pytest.raises(TimeoutError, match="job x still InProgress after 3s"):
        raise back
    back = pickle.loads(pickle.dumps(RecipeError("bad recipe")))
    with pytest.raises(ValueError, match="bad recipe"):
        raise back
