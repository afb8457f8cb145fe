"""S3 URIs and the few object operations the core needs."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_provider_nova.core.errors import ConfigurationError

if TYPE_CHECKING:
    from collections.abc import Iterator

# Bucket naming rules: 3-63 characters of lowercase letters, digits, dots and hyphens,
# starting and ending with a letter or digit.
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")


@dataclass(frozen=True)
class S3Uri:
    """A parsed ``s3://bucket/key`` URI."""

    bucket: str
    key: str

    @classmethod
    def parse(cls, uri: str, field: str = "s3 path") -> S3Uri:
        """Parse ``uri``; raise ConfigurationError naming ``field`` when it is malformed."""
        if not isinstance(uri, str) or not uri.startswith("s3://"):
            raise ConfigurationError(f"{field} must be an s3:// URI, got {uri!r}")
        bucket, _, key = uri[5:].partition("/")
        if not _BUCKET.match(bucket) or ".." in bucket:
            raise ConfigurationError(
                f"{field} has an invalid bucket name {bucket!r} in {uri!r}: use 3-63 lowercase "
                "letters, digits, dots or hyphens"
            )
        if any(ch in key for ch in "\n\r\x00"):
            raise ConfigurationError(f"{field} has control characters in its key: {uri!r}")
        return cls(bucket, key)

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    def join(self, *parts: str) -> S3Uri:
        """Return this URI with ``parts`` appended as ``/``-separated key segments."""
        segments = [self.key.rstrip("/")] if self.key.strip("/") else []
        segments += [p.strip("/") for p in parts if p.strip("/")]
        return S3Uri(self.bucket, "/".join(segments))


def validate_s3_uri(uri: str, field: str) -> str:
    """Return ``uri`` unchanged after checking it is a well-formed S3 URI."""
    S3Uri.parse(uri, field)
    return uri


def read_object(s3_client: Any, uri: S3Uri | str) -> bytes:
    """Return the whole body of the object at ``uri``."""
    loc = uri if isinstance(uri, S3Uri) else S3Uri.parse(uri)
    body: bytes = s3_client.get_object(Bucket=loc.bucket, Key=loc.key)["Body"].read()
    return body


def iter_object_chunks(s3_client: Any, uri: S3Uri | str, chunk_size: int = 1 << 20) -> Iterator[bytes]:
    """Stream the object at ``uri`` in chunks, without holding it in memory."""
    loc = uri if isinstance(uri, S3Uri) else S3Uri.parse(uri)
    body = s3_client.get_object(Bucket=loc.bucket, Key=loc.key)["Body"]
    try:
        yield from body.iter_chunks(chunk_size)
    finally:
        body.close()


def write_object(s3_client: Any, uri: S3Uri | str, data: bytes, content_type: str | None = None) -> None:
    """Write ``data`` to ``uri`` in one PutObject."""
    loc = uri if isinstance(uri, S3Uri) else S3Uri.parse(uri)
    extra = {"ContentType": content_type} if content_type else {}
    s3_client.put_object(Bucket=loc.bucket, Key=loc.key, Body=data, **extra)
