"""kmock's in-memory Kubernetes emulator, fixed to answer as kube-apiserver does for HyperPod's kinds.

kmock parses requests into Kubernetes actions and keeps objects in memory. This subclass adds what
a client relies on: the EKS bearer-token check (401), creates answering 201 with uid,
creationTimestamp and resourceVersion filled, lists with their kind and selectors, errors as
``Status`` objects with the apiserver's reasons (NotFound, AlreadyExists, Invalid, BadRequest,
Forbidden, MethodNotAllowed), DELETE answering what the apiserver answers and collecting the
dependents by ownerReferences, pod logs, namespaces, and SelfSubjectAccessReview. It is an
emulator, not a cluster: no admission webhooks, no scheduler, no kubelet. PATCH is a JSON merge
patch; PUT and JSON patch are refused; watches ignore ``timeoutSeconds``.
"""

from __future__ import annotations

import contextvars
import datetime
import json
import logging
import re
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import aiohttp.web
import attrs
from kmock import KubernetesEmulator, KubernetesError, Request, ResourceInfo, action, resource

from airflow_provider_nova.sandbox import kube_select
from airflow_provider_nova.sandbox.kube_auth import TokenError, verify_token

log = logging.getLogger(__name__)

Obj = dict[str, Any]
_NAMESPACE_PATH = re.compile(r"/api/v1/namespaces(?:/(?P<name>[^/]+))?/?")
_VERBS = {action.LIST: "list", action.WATCH: "watch", action.FETCH: "get", action.CREATE: "create"}
_VERBS.update({action.UPDATE: "patch", action.DELETE: "delete"})
_caller: contextvars.ContextVar[str] = contextvars.ContextVar("caller", default="")


@dataclass
class Fault:
    """The next ``count`` ``method`` requests on resource ``plural`` are answered ``status``, or, when
    ``status`` is None, performed and their connection closed before the answer (a lost response)."""

    method: str
    plural: str
    status: int | None
    count: int = 1


@dataclass(frozen=True)
class Kind:
    """A served resource; ``returns_deleted`` is the apiserver's ReturnDeletedObject."""

    group: str
    version: str
    plural: str
    kind: str
    returns_deleted: bool = False
    subresources: tuple[str, ...] = ()
    namespaced: bool = True

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified(self) -> str:
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def resource(self) -> resource:
        return resource(self.group, self.version, self.plural)

    def details(self, name: str | None = None) -> Obj:
        details: Obj = {"name": name} if name is not None else {}
        return details | ({"group": self.group} if self.group else {}) | {"kind": self.plural}


NAMESPACES = Kind("", "v1", "namespaces", "Namespace", namespaced=False)
CONFIGMAPS = Kind("", "v1", "configmaps", "ConfigMap")
PODS = Kind("", "v1", "pods", "Pod", returns_deleted=True, subresources=("log", "status"))
PYTORCHJOBS = Kind("kubeflow.org", "v1", "pytorchjobs", "PyTorchJob", subresources=("status",))
KINDS = {kind.resource: kind for kind in (CONFIGMAPS, PODS, PYTORCHJOBS)}
REVIEWS = resource("authorization.k8s.io", "v1", "selfsubjectaccessreviews")


@attrs.frozen
class ApiError(KubernetesError):
    """An error kube-apiserver would answer, rendered as its ``Status`` object."""

    def body(self) -> Obj:
        body: Obj = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure"}
        body.update(message=self.message, reason=self.reason)
        return body | ({"details": self.details} if self.details is not None else {}) | {"code": self.status}


def not_found(kind: Kind, name: str) -> ApiError:
    return ApiError(404, "NotFound", f'{kind.qualified} "{name}" not found', kind.details(name))


def unknown_path() -> ApiError:
    return ApiError(404, "NotFound", "the server could not find the requested resource", {})


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def not_allowed() -> ApiError:
    return ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource", {})


def invalid(kind: Kind, name: str, causes: list[kube_select.Cause]) -> ApiError:
    label = f"{kind.kind}.{kind.group}" if kind.group else kind.kind
    problems = [f"{field}: {message}" for field, _, message in causes]
    text = problems[0] if len(problems) == 1 else "[" + ", ".join(problems) + "]"
    details = kind.details(name) | {"kind": kind.kind}
    details["causes"] = [{"reason": reason, "message": message, "field": field} for field, reason, message in causes]
    return ApiError(422, "Invalid", f'{label} "{name}" is invalid: {text}', details)


@attrs.define(kw_only=True)
class KubeApi(KubernetesEmulator):
    """The request handler; all its state is touched only on the server's event loop."""

    clock: Callable[[], float] = time.time
    logs: dict[tuple[str, str, str], str] = attrs.field(factory=dict)
    denied: set[tuple[str, str, str | None]] = attrs.field(factory=set)
    seen: list[tuple[str, str, int]] = attrs.field(factory=list)
    faults: list[Fault] = attrs.field(factory=list)
    revision: int = 0

    def __attrs_post_init__(self) -> None:
        super().__attrs_post_init__()
        verbs = {"create", "delete", "get", "list", "patch", "watch"}
        for kind in (NAMESPACES, *KINDS.values()):
            self.resources[kind.resource] = ResourceInfo(
                kind=kind.kind,
                namespaced=kind.namespaced,
                singular=kind.kind.lower(),
                verbs=verbs,
                subresources=kind.subresources,
            )
        review = ResourceInfo(kind="SelfSubjectAccessReview", namespaced=False, singular="selfsubjectaccessreview")
        review.verbs = {"create"}
        self.resources[REVIEWS] = review

    # ---- state, for the emulator's own driving and inspection -------------------------------
    def timestamp(self) -> str:
        return datetime.datetime.fromtimestamp(self.clock(), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

    def stamp_new(self, meta: Obj) -> None:
        """Fill what the apiserver fills on create: uid, creationTimestamp, resourceVersion."""
        self.revision += 1
        meta.update(uid=str(uuid.uuid4()), creationTimestamp=self.timestamp(), resourceVersion=str(self.revision))

    def live(self, kind: Kind, namespace: str | None, name: str) -> Obj | None:
        key = (kind.resource, namespace, name)
        return None if key not in self.objects or self.objects[key].deleted else self.objects[key].raw

    def live_items(self, kind: Kind, namespace: str | None) -> list[Obj]:
        items = [
            obj.raw
            for (res, ns, _), obj in self.objects.items()
            if res == kind.resource and not obj.deleted and (namespace is None or ns == namespace)
        ]
        return sorted(items, key=lambda item: (item["metadata"].get("namespace", ""), item["metadata"]["name"]))

    async def store(self, kind: Kind, body: Obj) -> None:
        """Store ``body`` as the object's newest version, with a new resourceVersion."""
        self.revision += 1
        body["metadata"]["resourceVersion"] = str(self.revision)
        key = (kind.resource, body["metadata"].get("namespace"), body["metadata"]["name"])
        event = "MODIFIED" if key in self.objects and not self.objects[key].deleted else "ADDED"
        if key in self.objects:
            self.objects[key].history.append(body)
        else:
            self.objects[key] = body
        await self._buses[kind.resource].put({"type": event, "object": body})

    def add_namespace(self, name: str) -> None:
        if self.live(NAMESPACES, None, name) is None:
            meta: Obj = {"name": name, "labels": {"kubernetes.io/metadata.name": name}}
            self.stamp_new(meta)
            body = {"apiVersion": "v1", "kind": "Namespace", "metadata": meta, "spec": {"finalizers": ["kubernetes"]}}
            self.objects[NAMESPACES.resource, None, name] = body | {"status": {"phase": "Active"}}

    # ---- HTTP entry: authentication, namespaces, then kmock ---------------------------------
    async def __call__(self, raw_request: aiohttp.web.BaseRequest) -> aiohttp.web.StreamResponse:
        fault = self._take_fault(raw_request.method, raw_request.path)
        if fault is not None and fault.status is not None:
            message = f"{raw_request.method} {raw_request.path} failed on purpose (fault injected by the emulator)"
            response = await self._render_error(
                ApiError(fault.status, HTTPStatus(fault.status).phrase.replace(" ", ""), message)
            )
        else:
            response = await self._answer(raw_request)
        self.seen.append((raw_request.method, raw_request.path, response.status))
        if fault is not None and fault.status is None and raw_request.transport is not None:
            raw_request.transport.close()  # performed; the connection closes before the answer is sent
        return response

    def _take_fault(self, method: str, path: str) -> Fault | None:
        """The first pending fault for ``method`` on a path naming its resource, one of its calls used up."""
        for fault in self.faults:
            if fault.method == method and fault.plural in path.split("/"):
                fault.count -= 1
                if fault.count == 0:
                    self.faults.remove(fault)
                return fault
        return None

    async def _answer(self, raw_request: aiohttp.web.BaseRequest) -> aiohttp.web.StreamResponse:
        try:
            _caller.set(verify_token(raw_request.headers.get("Authorization"), self.clock()))
            if found := _NAMESPACE_PATH.fullmatch(raw_request.path):
                return self._serve_namespaces(raw_request.method, found["name"])
            if raw_request.path in ("/api/", "/apis/", "/version/"):  # discovery is served with or without the slash
                raw_request = raw_request.clone(rel_url=raw_request.rel_url.with_path(raw_request.path[:-1]))
        except TokenError as refused:
            log.info("Kubernetes API emulator refused a request's token: %s", refused)
            return await self._render_error(ApiError(401, "Unauthorized", "Unauthorized"))
        except ApiError as error:
            return await self._render_error(error)
        return await super().__call__(raw_request)

    def _serve_namespaces(self, method: str, name: str | None) -> aiohttp.web.StreamResponse:
        if method != "GET":
            raise not_allowed()
        self._authorize("get" if name else "list", NAMESPACES, None, name)
        if name is None:
            return aiohttp.web.json_response(self._list_body(NAMESPACES, self.live_items(NAMESPACES, None)))
        namespace = self.live(NAMESPACES, None, name)
        if namespace is None:
            raise not_found(NAMESPACES, name)
        return aiohttp.web.json_response(namespace)

    async def _serve_version(self, request: Request) -> Obj:
        body: Any = await super()._serve_version(request)  # kmock writes the core group as "/v1"
        return dict(body) | {"groupVersion": str(body["groupVersion"]).lstrip("/")}

    async def _serve_api(self, request: Request) -> Obj:
        address = request.url.host or "127.0.0.1"
        address += f":{request.url.port}" if request.url.port else ""
        cidrs = [{"clientCIDR": "0.0.0.0/0", "serverAddress": address}]
        return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": cidrs}

    async def _serve_server_version(self, request: Request) -> Obj:
        version = {"major": "1", "minor": "31", "gitVersion": "v1.31.0-kube-emulator", "gitCommit": "0" * 40}
        version.update(gitTreeState="clean", buildDate="2024-08-13T00:00:00Z", goVersion="go1.22.5")
        return version | {"compiler": "gc", "platform": "linux/amd64"}

    async def _render_error(self, exc: Exception) -> aiohttp.web.StreamResponse:
        if isinstance(exc, ApiError):
            return aiohttp.web.json_response(exc.body(), status=exc.status)
        if isinstance(exc, KubernetesError) and exc.status == 404:
            return await self._render_error(unknown_path())
        return await super()._render_error(exc)

    async def _handle(self, request: Request) -> aiohttp.web.StreamResponse:
        try:
            return await self._route(request)
        except ApiError:
            raise
        except KubernetesError as error:  # kmock's own errors, for paths it does not know
            raise (ApiError(409, "Conflict", str(error.message)) if error.status == 409 else unknown_path()) from error

    async def _route(self, request: Request) -> aiohttp.web.StreamResponse:
        res = request.resource
        if res is None or res.plural is None:
            return await super()._handle(request)  # discovery: /api, /apis, /apis/<group>[/<version>]
        if res == REVIEWS:
            return self._review(request)
        kind = KINDS.get(res)
        listing = request.action in (action.LIST, action.WATCH)
        if kind is None or (request.namespace is None and not listing):
            raise unknown_path()
        if request.subresource is not None and (request.subresource not in kind.subresources or listing):
            raise unknown_path()
        verb = _VERBS.get(request.action) if request.action is not None else None
        if verb is None or (request.subresource is not None and verb not in ("get", "patch")):
            raise not_allowed()
        sub = f"/{request.subresource}" if request.subresource else ""
        self._authorize(verb, kind, request.namespace, request.name, sub)
        if request.subresource == "log":
            return self._serve_log(request)
        if request.action == action.CREATE:
            self._prepare_create(request, kind)
        elif not listing:
            self._prepare_change(request, kind)
        response = await super()._handle(request)
        if request.action == action.CREATE:
            response.set_status(201)
        return response

    # ---- authorization ------------------------------------------------------------------------
    def _authorize(self, verb: str, kind: Kind, namespace: str | None, name: str | None, sub: str = "") -> None:
        if not self._denies(verb, kind.plural + sub, namespace):
            return
        subject = f'{kind.qualified} "{name}"' if name else kind.qualified
        where = f' in the namespace "{namespace}"' if namespace else " at the cluster scope"
        message = f'{subject} is forbidden: User "{_caller.get()}" cannot {verb} resource "{kind.plural}{sub}"'
        raise ApiError(403, "Forbidden", f'{message} in API group "{kind.group}"{where}', kind.details(name))

    def _denies(self, verb: str, plural: str, namespace: str | None) -> bool:
        return any(v in (verb, "*") and r == plural and n in (None, namespace) for v, r, n in self.denied)

    def _review(self, request: Request) -> aiohttp.web.StreamResponse:
        if request.action != action.CREATE or not isinstance(request.data, dict):
            raise not_allowed() if request.action != action.CREATE else bad_request("the body must be a JSON object")
        spec = request.data.get("spec") or {}
        attributes = spec.get("resourceAttributes") or {}
        plural = attributes.get("resource", "") + (
            f"/{attributes['subresource']}" if attributes.get("subresource") else ""
        )
        allowed = not self._denies(attributes.get("verb", ""), plural, attributes.get("namespace") or None)
        review: Obj = {"kind": "SelfSubjectAccessReview", "apiVersion": "authorization.k8s.io/v1"}
        review.update(metadata={"creationTimestamp": None}, spec=spec, status={"allowed": allowed})
        return aiohttp.web.json_response(review, status=201)

    # ---- create, change, delete ---------------------------------------------------------------
    def _prepare_create(self, request: Request, kind: Kind) -> None:
        body, namespace = request.data, request.namespace
        if not isinstance(body, dict) or not isinstance(body.setdefault("metadata", {}), dict):
            raise bad_request("the body of the request was in an unknown format")
        if kind.group and not body.get("kind"):
            raise bad_request(f"Object 'Kind' is missing in '{json.dumps(body)}'")
        body.setdefault("apiVersion", kind.api_version)
        body.setdefault("kind", kind.kind)
        if body["apiVersion"] != kind.api_version or body["kind"] != kind.kind:
            expected = f"{kind.api_version}, Kind={kind.kind}"
            raise bad_request(
                f"the API version and kind in the data ({body['apiVersion']}, Kind={body['kind']}) do not match {expected}"
            )
        meta = body["metadata"]
        if meta.setdefault("namespace", namespace) != namespace:
            raise bad_request("the namespace of the provided object does not match the namespace sent on the request")
        if self.live(NAMESPACES, None, namespace or "") is None:
            raise not_found(NAMESPACES, namespace or "")
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + secrets.token_hex(3)[:5]
        causes = kube_select.metadata_causes(meta)
        if kind is CONFIGMAPS and sum(len(str(value)) for value in (body.get("data") or {}).values()) > 1048576:
            causes.append(("data", "FieldValueTooLong", "Too long: must have at most 1048576 bytes"))
        if causes:
            raise invalid(kind, meta.get("name") or "", causes)
        if self.live(kind, namespace, meta["name"]) is not None:
            raise ApiError(
                409, "AlreadyExists", f'{kind.qualified} "{meta["name"]}" already exists', kind.details(meta["name"])
            )
        self.stamp_new(meta)
        if kind.group:  # custom resources: generation, and the status subresource ignores .status on create
            meta["generation"] = 1
            body.pop("status", None)
        if kind is PODS:
            body["status"] = {"phase": "Pending"}

    def _prepare_change(self, request: Request, kind: Kind) -> None:
        if self.live(kind, request.namespace, request.name or "") is None:
            raise not_found(kind, request.name or "")
        if request.action == action.UPDATE:
            if not isinstance(request.data, dict):
                raise ApiError(415, "UnsupportedMediaType", "only JSON merge patches are served by this emulator")
            self.revision += 1
            request.data.setdefault("metadata", {})["resourceVersion"] = str(self.revision)
        if request.action == action.DELETE and self._propagation(request) not in ("Background", "Foreground", "Orphan"):
            raise bad_request(
                f"propagationPolicy must be Background, Foreground or Orphan, not {self._propagation(request)!r}"
            )

    @staticmethod
    def _propagation(request: Request) -> str:
        options = request.data if isinstance(request.data, dict) else {}
        return str(options.get("propagationPolicy") or request.params.get("propagationPolicy") or "Background")

    async def _serve_delete(self, request: Request) -> Obj:
        kind = KINDS[request.resource]  # type: ignore[index]
        last = self.objects[kind.resource, request.namespace, request.name or ""].last.raw
        self.revision += 1
        if self._propagation(request) != "Orphan":
            await self._collect_dependents(request.namespace, last["metadata"]["uid"])
        if self._propagation(request) == "Foreground":  # answered mid-deletion; the emulator finishes at once
            meta = last["metadata"] | {"deletionTimestamp": self.timestamp(), "deletionGracePeriodSeconds": 0}
            return last | {"metadata": meta | {"finalizers": ["foregroundDeletion"]}}
        if kind.returns_deleted:
            return last
        details = kind.details(last["metadata"]["name"]) | {"uid": last["metadata"]["uid"]}
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}

    async def _collect_dependents(self, namespace: str | None, owner_uid: str) -> None:
        """Delete what ``owner_uid`` owns, and what that owns, as the garbage collector would."""
        doomed = [owner_uid]
        while doomed:
            owner = doomed.pop()
            for (res, ns, _), obj in list(self.objects.items()):
                if ns != namespace or obj.deleted:
                    continue
                if any(ref.get("uid") == owner for ref in obj.raw["metadata"].get("ownerReferences", [])):
                    body = obj.raw
                    obj.delete()
                    doomed.append(body["metadata"].get("uid", ""))
                    await self._buses[res].put({"type": "DELETED", "object": body})

    # ---- reads --------------------------------------------------------------------------------
    async def _serve_list(self, request: Request) -> Obj:
        kind = KINDS[request.resource]  # type: ignore[index]
        try:
            labels = kube_select.label_selector(request.params.get("labelSelector", ""))
            fields = kube_select.field_selector(request.params.get("fieldSelector", ""), kind.plural)
        except ValueError as error:
            raise bad_request(str(error)) from error
        items = self.live_items(kind, request.namespace)
        chosen = [item for item in items if labels(item["metadata"].get("labels") or {}) and fields(item)]
        return self._list_body(kind, chosen)

    def _list_body(self, kind: Kind, items: list[Obj]) -> Obj:
        if not kind.group:  # built-in lists carry kind and apiVersion once, not on every item
            items = [{k: v for k, v in item.items() if k not in ("kind", "apiVersion")} for item in items]
        body: Obj = {"kind": f"{kind.kind}List", "apiVersion": kind.api_version}
        return body | {"metadata": {"resourceVersion": str(self.revision)}, "items": items}

    def _serve_log(self, request: Request) -> aiohttp.web.StreamResponse:
        name, namespace = request.name or "", request.namespace
        pod = self.live(PODS, namespace, name)
        if pod is None:
            raise not_found(PODS, name)
        names = [container["name"] for container in pod.get("spec", {}).get("containers", [])]
        container = request.params.get("container") or (names[0] if len(names) == 1 else None)
        if container is None:
            raise bad_request(f"a container name must be specified for pod {name}, choose one of: [{' '.join(names)}]")
        if container not in names:
            raise bad_request(f"container {container} is not valid for pod {name}")
        if pod.get("status", {}).get("phase", "Pending") == "Pending":
            raise bad_request(f'container "{container}" in pod "{name}" is waiting to start: ContainerCreating')
        text = self.logs.get((namespace or "", name, container), "")
        try:
            tail = int(request.params["tailLines"]) if "tailLines" in request.params else None
            limit = int(request.params["limitBytes"]) if "limitBytes" in request.params else None
        except ValueError as error:
            raise bad_request("tailLines and limitBytes must be integers") from error
        if tail is not None:
            text = "".join(text.splitlines(keepends=True)[-tail:]) if tail > 0 else ""
        if limit is not None:
            text = text.encode()[:limit].decode(errors="ignore")
        return aiohttp.web.Response(text=text, content_type="text/plain")
