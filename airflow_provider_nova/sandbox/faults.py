"""Faults the stand-in injects on demand, for testing how callers ride out a bad day at AWS.

``FaultInjector`` is the outermost WSGI layer. A fault names one AWS operation (``CreateTrainingJob``,
``GetCustomModel``, S3 ``GetObject``, ...) and lasts ``count`` calls or ``seconds`` of its clock:

- ``throttle``: refused with the service's throttling error, in its protocol's shape: SageMaker and the
  other JSON services ``400 {"__type": "ThrottlingException"}``, Bedrock (REST-JSON)
  ``429 x-amzn-ErrorType: ThrottlingException``, S3 (REST-XML) ``503 <Code>SlowDown</Code>``, STS and
  IAM (query) ``400 <ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>...``. Every one
  is a code botocore's standard and adaptive retry modes treat as throttling.
- ``server_error``: refused with a 500 (``InternalFailure``, Bedrock ``InternalServerException``, S3
  ``InternalError``; query ``<Type>Receiver</Type><Code>InternalFailure</Code>``).
- ``error``: refused with the ``code`` and ``status`` given (``fail_next``).
- ``slow``: answered after ``delay`` seconds.
- ``drop``: the connection is closed without an answer; the call is not performed.
- ``lost_response``: the call IS performed, then the connection is closed before the answer is sent.

A refused call is counted under ``"<operation>.failed"`` (``count``); a dropped one is not counted;
a lost-response one is counted by the layer that answered it, as any accepted call.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs

from airflow_provider_nova.sandbox.errors import ServiceError, json_body, validation

_SERVICE = re.compile(r"Credential=[^/]+/\d{8}/[a-z0-9-]+/([a-z0-9-]+)/aws4_request")
KINDS = ("throttle", "server_error", "error", "slow", "drop", "lost_response")
# What each protocol answers for a throttled call and for a server fault: (code, HTTP status).
THROTTLE = {
    "json": ("ThrottlingException", 400),
    "rest-json": ("ThrottlingException", 429),
    "s3": ("SlowDown", 503),
    "query": ("Throttling", 400),
}
SERVER_ERROR = {
    "json": ("InternalFailure", 500),
    "rest-json": ("InternalServerException", 500),
    "s3": ("InternalError", 500),
    "query": ("InternalFailure", 500),
}
QUERY_SERVICES = frozenset({"sts", "iam"})  # the query protocol: the operation is the form body's Action
FAULTS_ROUTE = "/_sandbox/faults"


@dataclass
class Fault:
    """One injected fault: which operation, what happens, and for how long."""

    operation: str
    kind: str
    count: int | None = None  # calls left; None: until ``until``
    until: float | None = None  # on the injector's clock; None: until ``count`` is used up
    code: str | None = None
    status: int | None = None
    delay: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if v is not None}


def s3_operation(method: str, path: str, query: dict[str, list[str]], environ: dict[str, Any]) -> str | None:
    """The S3 operation of a path-style request (the common object and bucket calls only)."""
    bucket, _, key = path.lstrip("/").partition("/")
    if not bucket:
        return "ListBuckets" if method == "GET" else None
    if key:
        if method == "PUT":
            return "CopyObject" if environ.get("HTTP_X_AMZ_COPY_SOURCE") else "PutObject"
        return {"GET": "GetObject", "HEAD": "HeadObject", "DELETE": "DeleteObject"}.get(method)
    if method == "GET":
        return "ListObjectsV2" if query.get("list-type") == ["2"] else "ListObjects"
    if method == "POST" and "delete" in query:
        return "DeleteObjects"
    return {"HEAD": "HeadBucket", "PUT": "CreateBucket", "DELETE": "DeleteBucket"}.get(method)


def query_action(environ: dict[str, Any]) -> str | None:
    """The ``Action`` of a query-protocol request, from its query string or its form body.

    The body is read and put back (``wsgi.input``), so the stand-in behind still reads all of it.
    """
    query = parse_qs(environ.get("QUERY_STRING", ""))
    if "Action" in query:
        return str(query["Action"][0])
    length = int(environ.get("CONTENT_LENGTH") or 0)
    stream = environ.get("wsgi.input")
    if not length or stream is None:
        return None
    body = stream.read(length)
    environ["wsgi.input"] = io.BytesIO(body)
    actions = parse_qs(body.decode("utf-8", errors="replace")).get("Action")
    return actions[0] if actions else None


class FaultInjector:
    """WSGI middleware: injects the faults asked through ``POST /_sandbox/faults``, passes everything else on.

    :param app: the rest of the stand-in.
    :param bedrock_operation: names a Bedrock request's operation (None when it is not one).
    :param count: counts a refused call under ``"<operation>.failed"``.
    :param clock: the clock ``seconds`` are measured on (injectable).
    :param sleep: how a slow answer waits (injectable).
    """

    def __init__(
        self,
        app: Callable[..., Any],
        bedrock_operation: Callable[[dict[str, Any]], str | None],
        count: Callable[[str], None],
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.app = app
        self.bedrock_operation = bedrock_operation
        self.count = count
        self.clock = clock
        self.sleep = sleep
        self.faults: list[Fault] = []
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.rstrip("/") in (FAULTS_ROUTE, FAULTS_ROUTE + "/clear"):
            return self._control(environ, start_response, path.rstrip("/").endswith("/clear"))
        if path.rstrip("/") == "/_sandbox/reset":
            self.clear()
        operation, protocol = self.operation_of(environ)
        fault = self._take(operation) if operation else None
        if fault is None:
            answer: Iterable[bytes] = self.app(environ, start_response)
            return answer
        return self._inject(fault, protocol, environ, start_response)

    # -- the faults ----------------------------------------------------------------------------
    def add(self, fault: Fault) -> int:
        """Add a fault; returns how many faults are pending for its operation."""
        with self._lock:
            self.faults.append(fault)
            return sum(1 for f in self.faults if f.operation == fault.operation)

    def clear(self) -> None:
        with self._lock:
            self.faults.clear()

    def pending(self) -> list[dict[str, Any]]:
        with self._lock:
            self._expire()
            return [f.to_json() for f in self.faults]

    def _expire(self) -> None:
        now = self.clock()
        self.faults = [
            f for f in self.faults if (f.count is None or f.count > 0) and (f.until is None or now < f.until)
        ]

    def _take(self, operation: str) -> Fault | None:
        """The first live fault of ``operation``, one of its calls used up."""
        with self._lock:
            self._expire()
            for fault in self.faults:
                if fault.operation == operation:
                    if fault.count is not None:
                        fault.count -= 1
                    return fault
        return None

    def operation_of(self, environ: dict[str, Any]) -> tuple[str | None, str]:
        """The AWS operation of a request and its protocol (``json``, ``rest-json``, ``s3`` or ``query``)."""
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target:
            return target.rpartition(".")[2], "json"
        match = _SERVICE.search(environ.get("HTTP_AUTHORIZATION", ""))
        service = match.group(1) if match else ""
        if service == "s3":
            query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
            method = environ.get("REQUEST_METHOD", "GET")
            return s3_operation(method, environ.get("PATH_INFO", ""), query, environ), "s3"
        if service == "bedrock":
            return self.bedrock_operation(environ), "rest-json"
        if service in QUERY_SERVICES:
            return query_action(environ), "query"
        return None, "json"

    def _inject(
        self, fault: Fault, protocol: str, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        if fault.kind == "slow":
            self.sleep(fault.delay)
            answer: Iterable[bytes] = self.app(environ, start_response)
            return answer
        if fault.kind == "drop":
            _drain(environ)
            _drop(environ)
        if fault.kind == "lost_response":
            for _ in self.app(environ, lambda *args, **kwargs: None):  # performed, its answer thrown away
                pass
            _drop(environ)
        code, status = {"throttle": THROTTLE, "server_error": SERVER_ERROR}.get(fault.kind, {}).get(
            protocol, (fault.code or "InternalFailure", fault.status or 500)
        )
        _drain(environ)
        self.count(f"{fault.operation}.failed")
        message = f"{fault.operation} failed on purpose (fault injected by the stand-in)"
        return error_response(start_response, protocol, code, status, message)

    # -- the control route ---------------------------------------------------------------------
    def _control(self, environ: dict[str, Any], start_response: Callable[..., Any], clear: bool) -> list[bytes]:
        try:
            if clear:
                self.clear()
                payload: dict[str, Any] = {"faults": []}
            elif environ.get("REQUEST_METHOD") == "GET":
                payload = {"faults": self.pending()}
            else:
                fault = self.parse(json_body(environ))
                payload = {"operation": fault.operation, "pending": self.add(fault)}
            status = 200
        except ServiceError as err:
            payload, status = {"__type": err.code, "message": err.message}, err.status
        body = json.dumps(payload).encode()
        start_response(
            f"{status} {HTTPStatus(status).phrase}",
            [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
        )
        return [body]

    def parse(self, body: dict[str, Any]) -> Fault:
        """A fault from its JSON: ``operation``, ``kind`` (``error`` when a ``code`` is given), ``count`` or ``seconds``."""
        operation, code = body.get("operation"), body.get("code")
        kind = body.get("kind") or ("error" if code else None)
        if not isinstance(operation, str) or not operation or kind not in KINDS:
            raise validation(f"a fault needs an operation and a kind of {', '.join(KINDS)}")
        count, seconds, delay = body.get("count"), body.get("seconds"), body.get("delay", 0.0)
        status = body.get("status", 400 if kind == "error" else None)
        if kind == "error" and (not isinstance(code, str) or not code or status not in _ERROR_STATUSES):
            raise validation("an error fault needs a code and an HTTP error status (400-599)")
        if seconds is None and count is None:
            count = 1
        if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
            raise validation(f"count must be a whole number of at least 1, got {count!r}")
        if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or seconds <= 0):
            raise validation(f"seconds must be a positive number, got {seconds!r}")
        if (
            isinstance(delay, bool)
            or not isinstance(delay, (int, float))
            or delay < 0
            or (kind == "slow" and not delay)
        ):
            raise validation(f"delay must be a positive number of seconds for a slow answer, got {delay!r}")
        until = None if seconds is None else self.clock() + float(seconds)
        return Fault(operation, kind, count, until, code if kind == "error" else None, status, float(delay))


_ERROR_STATUSES = frozenset(s.value for s in HTTPStatus if s.value >= 400)


def error_response(
    start_response: Callable[..., Any], protocol: str, code: str, status: int, message: str
) -> list[bytes]:
    """An AWS error answer in the shape of ``protocol``."""
    headers = [("x-amzn-RequestId", "00000000-0000-0000-0000-000000000000")]
    if protocol == "s3":
        body = f"<?xml version='1.0' encoding='UTF-8'?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>"
        headers.append(("Content-Type", "application/xml"))
        raw = body.encode()
    elif protocol == "query":  # the caller's fault is a Sender error, the service's a Receiver one
        kind = "Receiver" if status >= 500 else "Sender"
        error = f"<Error><Type>{kind}</Type><Code>{code}</Code><Message>{message}</Message></Error>"
        body = f"<ErrorResponse>{error}<RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>"
        headers.append(("Content-Type", "text/xml"))
        raw = body.encode()
    elif protocol == "rest-json":
        headers += [("Content-Type", "application/json"), ("x-amzn-ErrorType", code)]
        raw = json.dumps({"message": message}).encode()
    else:
        headers.append(("Content-Type", "application/x-amz-json-1.1"))
        raw = json.dumps({"__type": code, "message": message}).encode()
    headers.append(("Content-Length", str(len(raw))))
    start_response(f"{status} {HTTPStatus(status).phrase}", headers)
    return [raw]


def _drain(environ: dict[str, Any]) -> None:
    """Read the request body, so closing the connection is a clean close rather than a reset."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    stream = environ.get("wsgi.input")
    if length and stream is not None:
        stream.read(length)


def _drop(environ: dict[str, Any]) -> None:
    """Close the client's connection with no answer (the server treats it as dropped by the client)."""
    connection = environ.get("werkzeug.socket")
    if connection is not None:
        with contextlib.suppress(OSError):
            connection.shutdown(socket.SHUT_RDWR)
    raise ConnectionAbortedError("connection dropped on purpose (fault injected by the stand-in)")
