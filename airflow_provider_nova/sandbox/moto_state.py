"""Direct access to moto's in-process S3, CloudWatch Logs, IAM, STS and EKS state.

The stand-in writes what a finished job leaves behind (output tars, checkpoints, log lines)
straight into moto's backends, so a client sees it through the ordinary S3 and Logs APIs.
Everything that touches moto's internals is in this module.
"""

from __future__ import annotations

import time
from typing import Any

ACCOUNT_ID = "123456789012"


def _s3() -> Any:
    from moto.s3.models import s3_backends

    return s3_backends[ACCOUNT_ID]["aws"]


def _logs(region: str) -> Any:
    from moto.logs.models import logs_backends

    return logs_backends[ACCOUNT_ID][region]


def reset() -> None:
    """Forget everything moto holds (buckets, roles, log groups) in this process."""
    from moto.moto_api._internal.models import moto_api_backend

    moto_api_backend.reset()


def ensure_bucket(bucket: str, region: str) -> None:
    """Create ``bucket`` unless it exists."""
    backend = _s3()
    if bucket not in backend.buckets:
        backend.create_bucket(bucket, region)


def put_object(bucket: str, key: str, data: bytes) -> None:
    """Store ``data`` at ``s3://bucket/key``."""
    _s3().put_object(bucket, key, data)


def object_exists(bucket: str, key: str) -> bool:
    """True when ``s3://bucket/key`` exists."""
    bucket_obj = _s3().buckets.get(bucket)
    return bucket_obj is not None and key in bucket_obj.keys


def prefix_has_objects(bucket: str, prefix: str) -> bool:
    """True when at least one object's key starts with ``prefix``."""
    bucket_obj = _s3().buckets.get(bucket)
    if bucket_obj is None:
        return False
    return any(key.startswith(prefix) for key in bucket_obj.keys.keys())  # noqa: SIM118 - moto key store


def read_object(bucket: str, key: str) -> bytes | None:
    """The body of ``s3://bucket/key``, or None when it does not exist."""
    found = _s3().get_object(bucket, key) if bucket_exists(bucket) else None
    return None if found is None else bytes(found.value)


def list_keys(bucket: str, prefix: str) -> list[str]:
    """The keys under ``prefix``, sorted."""
    bucket_obj = _s3().buckets.get(bucket)
    if bucket_obj is None:
        return []
    return sorted(key for key in bucket_obj.keys.keys() if key.startswith(prefix))  # noqa: SIM118 - moto key store


def bucket_exists(bucket: str) -> bool:
    return bucket in _s3().buckets


def append_log_lines(region: str, group: str, stream: str, lines: list[str]) -> None:
    """Append ``lines`` to a log stream, creating the group and stream when missing."""
    backend = _logs(region)
    if group not in backend.groups:
        backend.create_log_group(group, tags={})
    if stream not in backend.groups[group].streams:
        backend.create_log_stream(group, stream)
    now = int(time.time() * 1000)
    events = [{"timestamp": now, "message": line} for line in lines]
    if events:
        backend.put_log_events(group, stream, events)


def create_role(role_name: str, path: str, trust_policy: str) -> str:
    """Create an IAM role as ``iam:CreateRole`` does (or find it by name); return its ARN."""
    from moto.iam.models import iam_backends

    backend = iam_backends[ACCOUNT_ID]["aws"]
    for role in backend.get_roles():
        if role.name == role_name:
            return str(role.arn)
    created = backend.create_role(role_name, trust_policy, path, None, "", [], "3600")
    return str(created.arn)


def assume_role(role_arn: str, session_name: str, region: str) -> dict[str, str]:
    """Temporary credentials of ``role_arn``, as ``sts:AssumeRole`` returns them, as environment variables."""
    from moto.sts.models import sts_backends

    assumed = sts_backends[ACCOUNT_ID]["aws"].assume_role(
        region_name=region,
        role_session_name=session_name,
        role_arn=role_arn,
        policy=None,  # type: ignore[arg-type]  # what moto's own handler passes when the call has none
        duration=3600,
        external_id=None,  # type: ignore[arg-type]
    )
    return {
        "AWS_ACCESS_KEY_ID": assumed.access_key_id,
        "AWS_SECRET_ACCESS_KEY": assumed.secret_access_key,
        "AWS_SESSION_TOKEN": assumed.session_token,
    }


def _eks(region: str) -> Any:
    from moto.eks.models import eks_backends

    return eks_backends[ACCOUNT_ID][region]


def eks_cluster_exists(region: str, name: str) -> bool:
    """True when moto's EKS holds a cluster ``name`` in ``region``."""
    return name in _eks(region).clusters


def set_eks_endpoint(region: str, name: str, endpoint: str, ca_data: str) -> None:
    """Make EKS ``DescribeCluster`` of ``name`` answer ``endpoint`` and ``certificateAuthority.data``; KeyError if absent."""
    cluster = _eks(region).clusters[name]
    cluster.endpoint = endpoint
    cluster.certificate_authority = {"data": ca_data}
