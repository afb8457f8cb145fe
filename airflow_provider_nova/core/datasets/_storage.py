"""Where datasets are read from and written to: local paths and ``s3://`` URIs.

Reads hand back an open binary file: the local file itself, or an anonymous temporary file the
S3 object was streamed into. Writes are all-or-nothing: a local file is written under a temporary
name in the target directory and renamed into place (saving to a symbolic link replaces the file
it points to, and the link stays); an S3 object is spooled to a temporary file and uploaded only
once complete (boto3's managed transfer: one PutObject, or a multipart upload that is aborted on
failure). A failed save leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from typing import IO, TYPE_CHECKING, Any

from airflow_provider_nova.core.errors import ConfigurationError, DataPrepError
from airflow_provider_nova.core.s3 import S3Uri, iter_object_chunks

if TYPE_CHECKING:
    from collections.abc import Callable

    from airflow_provider_nova.core.aws import AwsClients


def to_path(path: Any, what: str) -> str:
    """Return ``path`` as a string; a DataPrepError for anything that is not a path or URI."""
    if isinstance(path, os.PathLike):
        path = os.fspath(path)
    if not isinstance(path, str) or not path.strip():
        raise DataPrepError(f"{what} must be a local path or an s3:// URI, got {path!r}")
    if "://" in path and not path.startswith("s3://"):
        raise DataPrepError(f"{what} must be a local path or an s3:// URI, got {path!r}")
    return path


def _parse_s3(path: str, what: str) -> S3Uri:
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in path):
        raise DataPrepError(f"{what} has control characters: {path!r}")
    try:
        return S3Uri.parse(path, what)
    except ConfigurationError as exc:
        raise DataPrepError(str(exc)) from exc


def check_source(path: Any, what: str) -> str:
    """Return ``path`` after checking, without I/O, that it is a local path or a well-formed S3 URI."""
    checked = to_path(path, what)
    if checked.startswith("s3://"):
        _parse_s3(checked, what)
    return checked


def check_target(given: Any, what: str) -> str:
    """Return ``path`` after checking, before anything is written, that a file can be saved there.

    An S3 URI must be well formed and name an object; a local path must not be a directory, and
    its nearest existing parent must be a directory this process may write in. (S3 permissions are
    known only when the upload is tried.)
    """
    path = check_source(given, what)
    if path.endswith(("/", os.sep)) or (path.startswith("s3://") and not _parse_s3(path, what).key):
        raise DataPrepError(f"{what} must name a file, not a bucket or folder, got {path!r}")
    if path.startswith("s3://"):
        return path
    target = os.path.realpath(path)
    if os.path.islink(target):
        raise DataPrepError(f"cannot save {path}: its symbolic links form a loop")
    if os.path.isdir(target):
        raise DataPrepError(f"cannot save {path}: it is a directory")
    parent = os.path.dirname(target)
    while not os.path.lexists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
        raise DataPrepError(f"cannot save {path}: {parent} is not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise DataPrepError(f"cannot save {path}: no permission to write in {parent}")
    return path


def _s3_failure(operation: str, uri: str, exc: Exception) -> DataPrepError:
    from airflow_provider_nova.core.aws import error_code

    code = error_code(exc) or type(exc).__name__
    return DataPrepError(f"{operation} {uri} failed ({code}): {exc}")


def _s3_errors() -> tuple[type[Exception], ...]:
    from boto3.exceptions import Boto3Error
    from botocore.exceptions import BotoCoreError, ClientError

    return (ClientError, BotoCoreError, Boto3Error)


class Storage:
    """Read and write dataset files on local disk or S3.

    :param clients: an :class:`~airflow_provider_nova.core.aws.AwsClients`, or a boto3 S3 client; when
        omitted, ``AwsClients()`` is built the first time an ``s3://`` path is used.
    """

    def __init__(self, clients: AwsClients | Any | None = None) -> None:
        self._clients = clients
        self._s3: Any | None = None

    @property
    def s3(self) -> Any:
        """The S3 client, built on first use."""
        if self._s3 is None:
            from airflow_provider_nova.core.aws import AwsClients

            clients = self._clients if self._clients is not None else AwsClients()
            self._s3 = clients.s3 if isinstance(clients, AwsClients) else clients
        return self._s3

    def open_source(self, path: str) -> IO[bytes]:
        """Return an open binary file with the contents of ``path``; the caller closes it."""
        if path.startswith("s3://"):
            return self._download(path)
        try:
            return open(path, "rb")
        except FileNotFoundError as exc:
            raise DataPrepError(f"cannot load {path}: no such file") from exc
        except OSError as exc:
            raise DataPrepError(f"cannot load {path}: {exc.strerror or exc}") from exc

    def _download(self, path: str) -> IO[bytes]:
        uri = _parse_s3(path, "dataset path")
        handle: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the caller
        try:
            for chunk in iter_object_chunks(self.s3, uri):
                handle.write(chunk)
            handle.flush()
            handle.seek(0)
        except _s3_errors() as exc:
            handle.close()
            raise _s3_failure("GetObject", path, exc) from exc
        except BaseException:
            handle.close()
            raise
        return handle

    def save(self, path: str, write: Callable[[IO[bytes]], None]) -> None:
        """Call ``write`` with a binary file and publish its contents at ``path`` only if it returns."""
        if path.startswith("s3://"):
            self._save_s3(path, write)
        else:
            self._save_local(path, write)

    def _save_local(self, path: str, write: Callable[[IO[bytes]], None]) -> None:
        target = os.path.realpath(path)  # a symbolic link stays a link: its target is written
        if os.path.islink(target):
            raise DataPrepError(f"cannot save {path}: its symbolic links form a loop")
        directory, name = os.path.split(target)
        try:
            os.makedirs(directory, exist_ok=True)
            fd, temp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=directory)
        except OSError as exc:
            raise DataPrepError(f"cannot save {path}: {exc.strerror or exc}") from exc
        try:
            with os.fdopen(fd, "wb", buffering=1 << 20) as handle:
                write(handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(temp, os.stat(target).st_mode & 0o7777 if os.path.exists(target) else 0o644)
            os.replace(temp, target)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise DataPrepError(f"cannot save {path}: {exc.strerror or exc}") from exc
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            raise

    def _save_s3(self, path: str, write: Callable[[IO[bytes]], None]) -> None:
        uri = _parse_s3(path, "save_path")
        with tempfile.TemporaryFile() as handle:
            try:
                write(handle)
                handle.flush()
                handle.seek(0)
            except OSError as exc:
                raise DataPrepError(f"cannot save {path}: {exc.strerror or exc}") from exc
            try:
                self.s3.upload_fileobj(handle, uri.bucket, uri.key)
            except _s3_errors() as exc:
                raise _s3_failure("upload to", path, exc) from exc
