"""Bedrock custom models, on-demand deployments and provisioned throughput, which moto lacks.

``BedrockStandIn`` is WSGI middleware in front of the rest of the stand-in. It answers the Bedrock
REST-JSON routes of the custom-model family (Create/Get/List/DeleteCustomModel; moto only knows
models made by its own customization jobs, so the whole family is answered here to keep one state),
custom-model deployments and provisioned model throughputs, and passes every other request on.

Lifecycles follow the service: a custom model is ``Creating`` and becomes ``Active`` after
``ready_seconds`` (``Failed`` when its S3 source holds no objects); a deployment goes ``Creating`` ->
``Active``, a provisioned throughput ``Creating`` -> ``InService``. Time is read from an injectable
clock. Control routes: ``POST /_sandbox/bedrock/ready {"arn"}`` makes a resource final now,
``/_sandbox/bedrock/fail {"arn", "reason"}`` fails it, ``/_sandbox/bedrock/config {"ready_seconds"}``.
"""

from __future__ import annotations

import functools
import json
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qs, unquote

from airflow_provider_nova.sandbox import moto_state
from airflow_provider_nova.sandbox.app import CONTROL_PREFIX, request_region
from airflow_provider_nova.sandbox.errors import ServiceError, json_body

_SERVICE = re.compile(r"Credential=[^/]+/\d{8}/[a-z0-9-]+/([a-z0-9-]+)/aws4_request")
# Patterns of botocore's Bedrock model (2023-04-20), matched whole.
NAME_PATTERN = r"([0-9a-zA-Z][_-]?){1,63}"
ROLE_PATTERN = r"arn:aws(-[^:]+)?:iam::([0-9]{12})?:role/.+"
S3_URI_PATTERN = r"s3://[a-z0-9][-.a-z0-9]{1,61}[a-z0-9](?:/[-!_*'().a-z0-9A-Z]+(?:/[-!_*'().a-z0-9A-Z]+)*)?/?"
TOKEN_PATTERN = r"[a-zA-Z0-9]([-a-zA-Z0-9]{0,254}[a-zA-Z0-9])?"  # noqa: S105 - a pattern, not a secret
BASE_MODEL_TAG = "nova:base-model"
DEFAULT_BASE_MODEL = "amazon.nova-micro-v1:0:128k"

MODEL, DEPLOYMENT, THROUGHPUT = "custom model", "custom model deployment", "provisioned model throughput"
FINAL = {MODEL: "Active", DEPLOYMENT: "Active", THROUGHPUT: "InService"}
_REASONS = {
    200: "OK",
    201: "Created",
    202: "Accepted",
    400: "Bad Request",
    404: "Not Found",
    500: "Internal Server Error",
}


@dataclass
class Resource:
    """One custom model, deployment or provisioned throughput."""

    kind: str
    arn: str
    name: str
    region: str
    request: dict[str, Any]
    created: float
    status: str = "Creating"
    updated: float = 0.0
    failure_message: str | None = None
    forced: str | None = None  # "ready" or "fail", asked through the control API
    forced_reason: str | None = None
    model: Resource | None = None  # the custom model a deployment or throughput serves
    extra: dict[str, Any] = field(default_factory=dict)


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _check(value: Any, pattern: str, member: str, max_len: int = 63) -> str:
    if not isinstance(value, str) or not value:
        raise ServiceError(
            "ValidationException",
            f"1 validation error detected: Value at '{member}' failed to satisfy constraint: Member must not be null",
        )
    if len(value) > max_len or not re.fullmatch(pattern, value):
        raise ServiceError(
            "ValidationException",
            f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: "
            f"Member must satisfy regular expression pattern: {pattern} and have length less than or equal to {max_len}",
        )
    return value


class BedrockResources:
    """The Bedrock resources of the stand-in, across regions."""

    def __init__(self, ready_seconds: float = 5.0, clock: Callable[[], float] = time.time) -> None:
        self.default_ready_seconds = ready_seconds
        self.ready_seconds = ready_seconds
        self.clock = clock
        self._items: dict[str, Resource] = {}  # by ARN
        self._tokens: dict[tuple[str, str, str], str] = {}  # (region, kind, clientRequestToken) -> ARN
        self._lock = threading.RLock()

    def reset(self) -> None:
        with self._lock:
            self._items.clear()
            self._tokens.clear()
            self.ready_seconds = self.default_ready_seconds

    # -- lifecycle -----------------------------------------------------------------------------
    def advance(self, res: Resource) -> Resource:
        """Move ``res`` along its lifecycle to where the clock says it is."""
        with self._lock:
            if res.status != "Creating":
                return res
            now = self.clock()
            if res.forced == "fail":
                res.status, res.failure_message, res.updated = "Failed", res.forced_reason, now
            elif res.forced == "ready" or now - res.created >= self.ready_seconds:
                problem = self._missing_source(res) if res.kind == MODEL else None
                res.status = "Failed" if problem else FINAL[res.kind]
                res.failure_message, res.updated = problem, now
        return res

    def _missing_source(self, res: Resource) -> str | None:
        uri = res.request["modelSourceConfig"]["s3DataSource"]["s3Uri"]
        bucket, _, prefix = uri[5:].partition("/")
        if moto_state.prefix_has_objects(bucket, prefix):
            return None
        return (
            f"Model artifacts were not found at {uri}: no objects exist under that prefix, or the role "
            f"{res.request.get('roleArn')} cannot read them. Check the checkpoint path of the training job."
        )

    def force(self, arn: str, outcome: str, reason: str | None = None) -> dict[str, Any]:
        res = self._items.get(arn)
        if res is None:
            raise ServiceError("ResourceNotFoundException", f"no Bedrock resource with ARN {arn!r}", 404)
        with self._lock:
            if res.status != "Creating":
                raise ServiceError("ValidationException", f"{res.kind} {res.name} is already {res.status}")
            res.forced, res.forced_reason = outcome, reason or "failure injected by the sandbox"
        self.advance(res)
        return {"arn": arn, "status": res.status}

    # -- lookups -------------------------------------------------------------------------------
    def find(self, region: str, kind: str, identifier: str) -> Resource:
        identifier = unquote(identifier)
        for res in self._items.values():
            if res.kind == kind and res.region == region and identifier in (res.arn, res.name):
                return self.advance(res)
        raise ServiceError("ResourceNotFoundException", f"The {kind} {identifier} could not be found.", 404)

    def listing(
        self, region: str, kind: str, query: dict[str, str], status_key: str
    ) -> tuple[list[Resource], str | None]:
        rows = [self.advance(r) for r in self._items.values() if r.kind == kind and r.region == region]
        contains, status = query.get("nameContains"), query.get(status_key)
        model_arn = query.get("modelArnEquals")
        rows = [
            r
            for r in rows
            if (not contains or contains in r.name)
            and (not status or status == r.status)
            and (not model_arn or (r.model is not None and r.model.arn == model_arn))
        ]
        rows.sort(key=lambda r: r.created, reverse=query.get("sortOrder", "Descending") == "Descending")
        start = int(query.get("nextToken") or 0)
        size = int(query.get("maxResults") or 100)
        if not 1 <= size <= 1000:
            raise ServiceError("ValidationException", "maxResults must be between 1 and 1000")
        end = start + size
        return rows[start:end], (str(end) if end < len(rows) else None)

    def _create(self, region: str, kind: str, name: str, request: dict[str, Any], arn: str, **kw: Any) -> Resource:
        token = request.get("clientRequestToken")
        if token is not None:
            _check(token, TOKEN_PATTERN, "clientRequestToken", 256)
        with self._lock:
            earlier = self._tokens.get((region, kind, token)) if token else None
            if earlier is not None and earlier in self._items:
                return self._items[earlier]
            if any(r.kind == kind and r.region == region and r.name == name for r in self._items.values()):
                raise ServiceError("ConflictException", f"A {kind} with the name {name} already exists.")
            res = Resource(kind=kind, arn=arn, name=name, region=region, request=request, created=self.clock(), **kw)
            res.updated = res.created
            self._items[arn] = res
            if token:
                self._tokens[(region, kind, token)] = arn
        return res

    def delete(self, region: str, kind: str, identifier: str) -> dict[str, Any]:
        res = self.find(region, kind, identifier)
        with self._lock:
            self._items.pop(res.arn, None)
        return {}

    def _arn(self, region: str, resource: str) -> str:
        return f"arn:aws:bedrock:{region}:{moto_state.ACCOUNT_ID}:{resource}/{secrets.token_hex(6)}"

    def _active_model(self, region: str, identifier: str) -> Resource:
        model = self.find(region, MODEL, identifier)
        if model.status != "Active":
            raise ServiceError("ValidationException", f"The custom model {model.name} is {model.status}, not Active.")
        return model

    # -- custom models -------------------------------------------------------------------------
    def create_model(self, region: str, body: dict[str, Any], query: dict[str, str], _: str) -> tuple[int, Any]:
        name = _check(body.get("modelName"), NAME_PATTERN, "modelName")
        if "customModelDataSource" in body:
            raise ServiceError("ValidationException", "the stand-in supports modelSourceConfig.s3DataSource only")
        source = (body.get("modelSourceConfig") or {}).get("s3DataSource") or {}
        _check(source.get("s3Uri"), S3_URI_PATTERN, "modelSourceConfig.s3DataSource.s3Uri", 1024)
        _check(body.get("roleArn"), ROLE_PATTERN, "roleArn", 2048)
        res = self._create(region, MODEL, name, body, self._arn(region, "custom-model/imported"))
        return 202, {"modelArn": res.arn}

    def _base_model(self, res: Resource) -> str:
        tags = {t.get("key"): t.get("value") for t in res.request.get("modelTags", [])}
        return str(tags.get(BASE_MODEL_TAG) or DEFAULT_BASE_MODEL)

    def _foundation_arn(self, res: Resource) -> str:
        return f"arn:aws:bedrock:{res.region}::foundation-model/{self._base_model(res)}"

    def get_model(self, region: str, body: dict[str, Any], query: dict[str, str], ident: str) -> tuple[int, Any]:
        res = self.find(region, MODEL, ident)
        out = {
            "modelArn": res.arn,
            "modelName": res.name,
            "baseModelArn": self._foundation_arn(res),
            "customizationType": "IMPORTED",
            "creationTime": _iso(res.created),
            "modelStatus": res.status,
        }
        if res.failure_message:
            out["failureMessage"] = res.failure_message
        return 200, out

    def list_models(self, region: str, body: dict[str, Any], query: dict[str, str], _: str) -> tuple[int, Any]:
        rows, token = self.listing(region, MODEL, query, "modelStatus")
        summaries = [
            {
                "modelArn": r.arn,
                "modelName": r.name,
                "creationTime": _iso(r.created),
                "baseModelArn": self._foundation_arn(r),
                "baseModelName": self._base_model(r),
                "customizationType": "IMPORTED",
                "ownerAccountId": moto_state.ACCOUNT_ID,
                "modelStatus": r.status,
            }
            for r in rows
        ]
        return 200, {"modelSummaries": summaries, **({"nextToken": token} if token else {})}

    def delete_model(self, region: str, body: dict[str, Any], query: dict[str, str], ident: str) -> tuple[int, Any]:
        return 200, self.delete(region, MODEL, ident)

    # -- on-demand deployments -------------------------------------------------------------------
    def create_deployment(self, region: str, body: dict[str, Any], query: dict[str, str], _: str) -> tuple[int, Any]:
        name = _check(body.get("modelDeploymentName"), NAME_PATTERN, "modelDeploymentName")
        model = self._active_model(region, _check(body.get("modelArn"), r"arn:aws.*:custom-model/.+", "modelArn", 1011))
        arn = self._arn(region, "custom-model-deployment")
        res = self._create(region, DEPLOYMENT, name, body, arn, model=model)
        return 202, {"customModelDeploymentArn": res.arn}

    def _deployment(self, r: Resource, name_key: str) -> dict[str, Any]:
        out = {
            "customModelDeploymentArn": r.arn,
            name_key: r.name,
            "modelArn": _model_of(r).arn,
            "createdAt": _iso(r.created),
            "status": r.status,
            "lastUpdatedAt": _iso(r.updated),
        }
        if r.request.get("description"):
            out["description"] = r.request["description"]
        if r.failure_message:
            out["failureMessage"] = r.failure_message
        return out

    def get_deployment(self, region: str, body: dict[str, Any], query: dict[str, str], ident: str) -> tuple[int, Any]:
        return 200, self._deployment(self.find(region, DEPLOYMENT, ident), "modelDeploymentName")

    def list_deployments(self, region: str, body: dict[str, Any], query: dict[str, str], _: str) -> tuple[int, Any]:
        rows, token = self.listing(region, DEPLOYMENT, query, "statusEquals")
        summaries = [self._deployment(r, "customModelDeploymentName") for r in rows]
        return 200, {"modelDeploymentSummaries": summaries, **({"nextToken": token} if token else {})}

    def delete_deployment(
        self, region: str, body: dict[str, Any], query: dict[str, str], ident: str
    ) -> tuple[int, Any]:
        return 200, self.delete(region, DEPLOYMENT, ident)

    # -- provisioned throughput ------------------------------------------------------------------
    def create_throughput(self, region: str, body: dict[str, Any], query: dict[str, str], _: str) -> tuple[int, Any]:
        name = _check(body.get("provisionedModelName"), NAME_PATTERN, "provisionedModelName")
        units = body.get("modelUnits")
        if not isinstance(units, int) or isinstance(units, bool) or units < 1:
            raise ServiceError(
                "ValidationException",
                f"1 validation error detected: Value '{units}' at 'modelUnits' failed to satisfy constraint: Member must have value greater than or equal to 1",
            )
        model = self._active_model(region, _check(body.get("modelId"), r".+", "modelId", 2048))
        res = self._create(region, THROUGHPUT, name, body, self._arn(region, "provisioned-model"), model=model)
        return 201, {"provisionedModelArn": res.arn}

    def _throughput(self, r: Resource) -> dict[str, Any]:
        units, model = r.request["modelUnits"], _model_of(r)
        out = {
            "provisionedModelName": r.name,
            "provisionedModelArn": r.arn,
            "modelArn": model.arn,
            "desiredModelArn": model.arn,
            "foundationModelArn": self._foundation_arn(model),
            "modelUnits": units,
            "desiredModelUnits": units,
            "status": r.status,
            "creationTime": _iso(r.created),
            "lastModifiedTime": _iso(r.updated),
        }
        if r.request.get("commitmentDuration"):
            out["commitmentDuration"] = r.request["commitmentDuration"]
        if r.failure_message:
            out["failureMessage"] = r.failure_message
        return out

    def get_throughput(self, region: str, body: dict[str, Any], query: dict[str, str], ident: str) -> tuple[int, Any]:
        return 200, self._throughput(self.find(region, THROUGHPUT, ident))

    def list_throughputs(self, region: str, body: dict[str, Any], query: dict[str, str], _: str) -> tuple[int, Any]:
        rows, token = self.listing(region, THROUGHPUT, query, "statusEquals")
        summaries = []
        for r in rows:
            row = self._throughput(r)
            row.pop("failureMessage", None)
            summaries.append(row)
        return 200, {"provisionedModelSummaries": summaries, **({"nextToken": token} if token else {})}

    def delete_throughput(
        self, region: str, body: dict[str, Any], query: dict[str, str], ident: str
    ) -> tuple[int, Any]:
        return 200, self.delete(region, THROUGHPUT, ident)


Handler = Callable[[str, dict[str, Any], dict[str, str], str], tuple[int, Any]]


class BedrockStandIn:
    """WSGI middleware answering the Bedrock routes moto lacks; everything else goes to ``next_app``.

    :param next_app: the rest of the stand-in.
    :param resources: the state; a new ``BedrockResources(ready_seconds, clock)`` when omitted.
    """

    def __init__(
        self,
        next_app: Callable[..., Any],
        resources: BedrockResources | None = None,
        *,
        clock: Callable[[], float] = time.time,
        ready_seconds: float = 5.0,
    ) -> None:
        self.next_app = next_app
        self.resources = resources or BedrockResources(ready_seconds=ready_seconds, clock=clock)
        r = self.resources
        cm, dep, pt = "/custom-models", "/model-customization/custom-model-deployments", "/provisioned-model-throughput"
        routes: list[tuple[str, str, str, Handler]] = [
            ("POST", f"{cm}/create-custom-model", "CreateCustomModel", r.create_model),
            ("GET", f"{cm}/?", "ListCustomModels", r.list_models),
            ("GET", f"{cm}/(?P<id>.+)", "GetCustomModel", r.get_model),
            ("DELETE", f"{cm}/(?P<id>.+)", "DeleteCustomModel", r.delete_model),
            ("POST", f"{dep}/?", "CreateCustomModelDeployment", r.create_deployment),
            ("GET", f"{dep}/?", "ListCustomModelDeployments", r.list_deployments),
            ("GET", f"{dep}/(?P<id>.+)", "GetCustomModelDeployment", r.get_deployment),
            ("DELETE", f"{dep}/(?P<id>.+)", "DeleteCustomModelDeployment", r.delete_deployment),
            ("POST", f"{pt}/?", "CreateProvisionedModelThroughput", r.create_throughput),
            ("GET", f"{pt}s/?", "ListProvisionedModelThroughputs", r.list_throughputs),
            ("GET", f"{pt}/(?P<id>.+)", "GetProvisionedModelThroughput", r.get_throughput),
            ("DELETE", f"{pt}/(?P<id>.+)", "DeleteProvisionedModelThroughput", r.delete_throughput),
        ]
        self.routes = [(method, re.compile(path), op, handler) for method, path, op, handler in routes]

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith(CONTROL_PREFIX):
            route = path[len(CONTROL_PREFIX) :].strip("/")
            if route == "reset":
                self.resources.reset()
            elif route.startswith("bedrock/"):
                return self._respond(start_response, lambda: (200, self._control(route, json_body(environ))))
            passed: Iterable[bytes] = self.next_app(environ, start_response)
            return passed
        call = self._route(environ)
        if call is not None:
            return self._respond(start_response, call)
        app_iter: Iterable[bytes] = self.next_app(environ, start_response)
        return app_iter

    def _match(self, environ: dict[str, Any]) -> tuple[str, Handler, str] | None:
        """The operation, handler and identifier of a Bedrock request this stand-in answers."""
        match = _SERVICE.search(environ.get("HTTP_AUTHORIZATION", ""))
        if not match or match.group(1) != "bedrock":
            return None
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "GET")
        for route_method, pattern, operation, handler in self.routes:
            found = pattern.fullmatch(path)
            if found and route_method == method:
                return operation, handler, found.groupdict().get("id") or ""
        return None

    def operation_of(self, environ: dict[str, Any]) -> str | None:
        """The Bedrock operation a request is (``GetCustomModel``, ...), None when not one answered here."""
        matched = self._match(environ)
        return None if matched is None else matched[0]

    def _route(self, environ: dict[str, Any]) -> Callable[[], tuple[int, Any]] | None:
        """The call answering a Bedrock request of this stand-in, or None to pass the request on."""
        matched = self._match(environ)
        if matched is None:
            return None
        _, handler, ident = matched
        region = request_region(environ)
        query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        return functools.partial(_call, handler, region, environ, query, ident)

    def _control(self, route: str, body: dict[str, Any]) -> dict[str, Any]:
        action = route.split("/", 1)[1]
        if action in ("ready", "fail"):
            return self.resources.force(str(body.get("arn", "")), action, body.get("reason"))
        if action == "config":
            if "ready_seconds" in body:
                self.resources.ready_seconds = float(body["ready_seconds"])
            return {"ready_seconds": self.resources.ready_seconds}
        raise ServiceError("NotFound", f"unknown control route {route!r}", 404)

    def _respond(self, start_response: Callable[..., Any], call: Callable[[], tuple[int, Any]]) -> list[bytes]:
        headers = [("Content-Type", "application/json"), ("x-amzn-RequestId", secrets.token_hex(16))]
        try:
            status, payload = call()
        except ServiceError as err:
            status, payload = err.status, {"message": err.message}
            headers.append(("x-amzn-ErrorType", err.code))
        data = json.dumps(payload).encode()
        start_response(f"{status} {_REASONS.get(status, 'Error')}", [*headers, ("Content-Length", str(len(data)))])
        return [data]


def _call(handler: Handler, region: str, environ: dict[str, Any], query: dict[str, str], ident: str) -> tuple[int, Any]:
    return handler(region, json_body(environ), query, ident)


def _model_of(res: Resource) -> Resource:
    if res.model is None:
        raise ServiceError("InternalServerException", f"{res.kind} {res.name} has no custom model", 500)
    return res.model
