"""S3 URIs and the few object operations the core needs."""

from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_provider_nova.core.aws import aws_errors
from airflow_provider_nova.core.errors import AwsCallError, ConfigurationError

if TYPE_CHECKING:
    from collections.abc import Iterator

# General purpose bucket naming rules: 3-63 characters of lowercase letters, digits, dots and hyphens,
# starting and ending with a letter or digit, no two adjacent dots, not formatted as an IP address.
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]")
_IP_ADDRESS = re.compile(r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}")
_KEY_MAX_BYTES = 1024


MISSING_BUCKET_CODES = ("404", "NoSuchBucket", "NotFound")
DENIED_CODES = ("403", "AccessDenied")


def bucket_exists(s3_client: Any, bucket: str) -> bool | None:
    """True or False from ``HeadBucket``; None when this caller may not look (the job's role may still write)."""
    try:
        with aws_errors("HeadBucket"):
            s3_client.head_bucket(Bucket=bucket)
    except AwsCallError as exc:
        if exc.code in MISSING_BUCKET_CODES:
            return False
        if exc.code in DENIED_CODES:
            return None
        raise
    return True


def bucket_problem(bucket: str) -> str | None:
    """Why ``bucket`` is not a valid S3 bucket name, or None when it is."""
    if not _BUCKET.fullmatch(bucket):
        return "use 3-63 lowercase letters, digits, dots or hyphens, starting and ending with a letter or digit"
    if ".." in bucket:
        return "two adjacent dots are not allowed"
    if _IP_ADDRESS.fullmatch(bucket):
        return "a bucket name cannot be formatted as an IP address"
    return None


@dataclass(frozen=True)
class S3Uri:
    """A parsed ``s3://bucket/key`` URI."""

    bucket: str
    key: str

    @classmethod
    def parse(cls, uri: str, field: str = "s3 path", *, require_key: bool = False) -> S3Uri:
        """Parse ``uri``; raise ConfigurationError naming ``field`` when it is malformed.

        :param require_key: the URI names one object, so its key must be non-empty and not end in ``/``.
        """
        if not isinstance(uri, str) or not uri.startswith("s3://"):
            raise ConfigurationError(f"{field} must be an s3:// URI, got {uri!r}")
        bucket, _, key = uri[5:].partition("/")
        problem = bucket_problem(bucket)
        if problem:
            raise ConfigurationError(f"{field} has an invalid bucket name {bucket!r} in {uri!r}: {problem}")
        _check_key(key, uri, field, require_key)
        return cls(bucket, key)

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    def join(self, *parts: str) -> S3Uri:
        """Return this URI with ``parts`` appended as ``/``-separated key segments."""
        segments = [self.key.rstrip("/")] if self.key.strip("/") else []
        segments += [p.strip("/") for p in parts if p.strip("/")]
        return S3Uri(self.bucket, "/".join(segments))


def _check_key(key: str, uri: str, field: str, require_key: bool) -> None:
    if any(ord(ch) < 0x20 or ch == "\x7f" for ch in key):
        raise ConfigurationError(f"{field} has control characters in its key: {uri!r}")
    if len(key.encode("utf-8")) > _KEY_MAX_BYTES:
        raise ConfigurationError(f"{field} has a key longer than {_KEY_MAX_BYTES} bytes: {uri[:80]!r}...")
    if require_key and (not key or key.endswith("/")):
        raise ConfigurationError(f"{field} must name an object (s3://bucket/key), got {uri!r}")


def validate_s3_uri(uri: str, field: str) -> str:
    """Return ``uri`` unchanged after checking it is a well-formed S3 URI."""
    S3Uri.parse(uri, field)
    return uri


@contextmanager
def object_errors(operation: str, uri: S3Uri | str) -> Iterator[None]:
    """Like ``aws_errors``, with ``uri`` in the message: ``GetObject failed (NoSuchKey): s3://b/k: ...``."""
    try:
        with aws_errors(operation):
            yield
    except AwsCallError as exc:
        response = getattr(exc.__cause__, "response", None) or {}
        message = response.get("Error", {}).get("Message", "")
        detail = f"{uri}: {message}" if message else str(uri)
        raise AwsCallError(exc.operation, exc.code, detail) from exc.__cause__


def _object(uri: S3Uri | str, field: str) -> S3Uri:
    loc = uri if isinstance(uri, S3Uri) else S3Uri.parse(uri, field)
    if not loc.key or loc.key.endswith("/"):
        raise ConfigurationError(f"{field} must name an object (s3://bucket/key), got {str(loc)!r}")
    return loc


def read_object(s3_client: Any, uri: S3Uri | str, field: str = "s3 path") -> bytes:
    """Return the whole body of the object at ``uri``; AwsCallError (code ``NoSuchKey``...) when it fails."""
    loc = _object(uri, field)
    with object_errors("GetObject", loc):
        body: bytes = s3_client.get_object(Bucket=loc.bucket, Key=loc.key)["Body"].read()
    return body


def iter_object_chunks(s3_client: Any, uri: S3Uri | str, chunk_size: int = 1 << 20) -> Iterator[bytes]:
    """Stream the object at ``uri`` in chunks, without holding it in memory.

    botocore errors pass through unwrapped: the dataset storage translates them itself.
    """
    loc = uri if isinstance(uri, S3Uri) else S3Uri.parse(uri)
    body = s3_client.get_object(Bucket=loc.bucket, Key=loc.key)["Body"]
    try:
        yield from body.iter_chunks(chunk_size)
    finally:
        body.close()


def write_object(
    s3_client: Any, uri: S3Uri | str, data: bytes, content_type: str | None = None, field: str = "s3 path"
) -> None:
    """Write ``data`` to ``uri`` in one PutObject; AwsCallError when it fails."""
    loc = _object(uri, field)
    extra = {"ContentType": content_type} if content_type else {}
    with object_errors("PutObject", loc):
        s3_client.put_object(Bucket=loc.bucket, Key=loc.key, Body=data, **extra)
