"""The Kubernetes API emulator answers the official client as kube-apiserver would (an emulator, not a cluster)."""

from __future__ import annotations

import json

import kubernetes
import pytest
from kubernetes.client import V1ConfigMap, V1DeleteOptions, V1ObjectMeta

GROUP, VERSION, PLURAL = "kubeflow.org", "v1", "pytorchjobs"
NAMESPACE = "nova"  # created by the ``client`` fixture


def config_map(name: str, labels: dict[str, str] | None = None) -> V1ConfigMap:
    return V1ConfigMap(metadata=V1ObjectMeta(name=name, labels=labels), data={"config.yaml": "run: {}\n"})


def failure(call, *args, **kwargs) -> tuple[int, dict]:
    with pytest.raises(kubernetes.client.ApiException) as raised:
        call(*args, **kwargs)
    return raised.value.status, json.loads(raised.value.body)


def raw_json(call, *args, **kwargs) -> dict:
    return json.loads(call(*args, _preload_content=False, **kwargs).data)


def test_a_config_map_is_created_201_with_what_the_apiserver_fills_in(core, kube):
    created, code, _ = core.create_namespaced_config_map_with_http_info(NAMESPACE, config_map("training-config-a"))

    assert code == 201
    meta = created.metadata
    assert (meta.name, meta.namespace) == ("training-config-a", NAMESPACE)
    assert meta.uid and meta.creation_timestamp and meta.resource_version
    stored = kube.get("v1", "configmaps", NAMESPACE, "training-config-a")
    assert stored["data"] == {"config.yaml": "run: {}\n"}
    assert (stored["kind"], stored["apiVersion"]) == ("ConfigMap", "v1")
    assert core.read_namespaced_config_map("training-config-a", NAMESPACE).metadata.uid == meta.uid


def test_a_second_create_is_409_already_exists(core):
    core.create_namespaced_config_map(NAMESPACE, config_map("dup"))

    status, body = failure(core.create_namespaced_config_map, NAMESPACE, config_map("dup"))

    assert status == 409
    assert body == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'configmaps "dup" already exists',
        "reason": "AlreadyExists",
        "details": {"name": "dup", "kind": "configmaps"},
        "code": 409,
    }


def test_missing_objects_are_404_not_found_with_details(core, custom):
    status, body = failure(core.read_namespaced_config_map, "nope", NAMESPACE)
    assert (status, body["reason"], body["message"]) == (404, "NotFound", 'configmaps "nope" not found')

    status, body = failure(custom.get_namespaced_custom_object, GROUP, VERSION, NAMESPACE, PLURAL, "nope")
    assert (status, body["message"]) == (404, 'pytorchjobs.kubeflow.org "nope" not found')
    assert body["details"] == {"name": "nope", "group": "kubeflow.org", "kind": "pytorchjobs"}


def test_creating_in_a_namespace_that_does_not_exist_is_404(core):
    status, body = failure(core.create_namespaced_config_map, "elsewhere", config_map("x"))

    assert (status, body["message"]) == (404, 'namespaces "elsewhere" not found')


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        ({}, 'ConfigMap "" is invalid: metadata.name: Required value: name or generateName is required'),
        (
            {"name": "Bad_Name"},
            'ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123',
        ),
        (
            {"name": "ok", "labels": {"job": "x" * 64}},
            'ConfigMap "ok" is invalid: metadata.labels: Invalid value: "xxx',
        ),
    ],
    ids=["no-name", "bad-name", "long-label"],
)
def test_invalid_metadata_is_422_invalid_with_causes(core, metadata, message):
    status, body = failure(core.create_namespaced_config_map, NAMESPACE, {"metadata": metadata})

    assert (status, body["reason"]) == (422, "Invalid")
    assert body["message"].startswith(message)
    assert body["details"]["kind"] == "ConfigMap" and body["details"]["causes"][0]["field"].startswith("metadata.")


def test_generate_name_makes_a_name(core):
    created = core.create_namespaced_config_map(NAMESPACE, {"metadata": {"generateName": "cfg-"}})

    assert created.metadata.name.startswith("cfg-") and len(created.metadata.name) == 9


@pytest.mark.parametrize(
    ("selector", "names"),
    [
        ("team=nova", ["a", "b"]),
        ("team==nova,stage=eval", ["b"]),
        ("team!=nova", ["c"]),
        ("stage in (eval, train)", ["b", "c"]),
        ("stage notin (eval)", ["a", "c"]),
        ("stage", ["b", "c"]),
        ("!stage", ["a"]),
        ("", ["a", "b", "c"]),
    ],
)
def test_lists_carry_their_kind_and_honour_label_selectors(core, selector, names):
    core.create_namespaced_config_map(NAMESPACE, config_map("a", {"team": "nova"}))
    core.create_namespaced_config_map(NAMESPACE, config_map("b", {"team": "nova", "stage": "eval"}))
    core.create_namespaced_config_map(NAMESPACE, config_map("c", {"team": "other", "stage": "train"}))

    listed = raw_json(core.list_namespaced_config_map, NAMESPACE, label_selector=selector)

    assert (listed["kind"], listed["apiVersion"]) == ("ConfigMapList", "v1")
    assert listed["metadata"]["resourceVersion"]
    assert [item["metadata"]["name"] for item in listed["items"]] == names
    assert core.list_namespaced_config_map(NAMESPACE, label_selector=selector).items[0].data if names else True


def test_a_selector_that_does_not_parse_is_400(core):
    status, body = failure(core.list_namespaced_config_map, NAMESPACE, label_selector="a in (b")
    assert (status, body["reason"]) == (400, "BadRequest")

    status, body = failure(core.list_namespaced_config_map, NAMESPACE, field_selector="data.x=y")
    assert body["message"] == "field label not supported: data.x"


def test_deleting_a_config_map_answers_a_success_status(core, kube):
    uid = core.create_namespaced_config_map(NAMESPACE, config_map("gone")).metadata.uid

    answer = core.delete_namespaced_config_map("gone", NAMESPACE, body=V1DeleteOptions(propagation_policy="Background"))

    assert answer == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": {"name": "gone", "kind": "configmaps", "uid": uid},
    }
    assert kube.get("v1", "configmaps", NAMESPACE, "gone") is None
    assert ("DELETE", f"/api/v1/namespaces/{NAMESPACE}/configmaps/gone", 200) in kube.requests
    assert failure(core.delete_namespaced_config_map, "gone", NAMESPACE)[0] == 404


def test_a_pytorchjob_is_created_read_listed_and_deleted(custom, kube, job_manifest):
    created, code, _ = custom.create_namespaced_custom_object_with_http_info(
        GROUP, VERSION, NAMESPACE, PLURAL, job_manifest("j1") | {"status": {"conditions": []}}
    )
    custom.create_namespaced_custom_object(GROUP, VERSION, NAMESPACE, PLURAL, job_manifest("j2", labels={"other": "x"}))

    assert code == 201
    assert created["metadata"]["generation"] == 1 and "status" not in created  # the status subresource drops it
    assert custom.get_namespaced_custom_object(GROUP, VERSION, NAMESPACE, PLURAL, "j1")["spec"]["pytorchReplicaSpecs"]
    assert (
        custom.get_namespaced_custom_object_status(GROUP, VERSION, NAMESPACE, PLURAL, "j1")["metadata"]["name"] == "j1"
    )
    listed = custom.list_namespaced_custom_object(
        GROUP, VERSION, NAMESPACE, PLURAL, label_selector="airflow-provider-nova/job-name=j1"
    )
    assert (listed["kind"], listed["apiVersion"]) == ("PyTorchJobList", "kubeflow.org/v1")
    assert [item["metadata"]["name"] for item in listed["items"]] == ["j1"]
    assert listed["items"][0]["kind"] == "PyTorchJob"  # custom resources keep kind on every item

    deleted = custom.delete_namespaced_custom_object(GROUP, VERSION, NAMESPACE, PLURAL, "j1")

    assert deleted["status"] == "Success" and deleted["details"]["group"] == "kubeflow.org"
    assert [job["metadata"]["name"] for job in kube.list("kubeflow.org/v1", "pytorchjobs", NAMESPACE)] == ["j2"]
    assert (
        failure(custom.create_namespaced_custom_object, GROUP, VERSION, NAMESPACE, PLURAL, job_manifest("j2"))[0] == 409
    )


def test_a_custom_resource_without_its_kind_is_400(custom, job_manifest):
    body = job_manifest("j")
    del body["kind"]

    status, answer = failure(custom.create_namespaced_custom_object, GROUP, VERSION, NAMESPACE, PLURAL, body)

    assert (status, answer["reason"]) == (400, "BadRequest") and "Object 'Kind' is missing" in answer["message"]


def test_discovery_answers_so_the_client_does_not_choke(client):
    groups = kubernetes.client.ApisApi(client).get_api_versions()
    assert {"kubeflow.org", "authorization.k8s.io"} <= {group.name for group in groups.groups}
    assert kubernetes.client.CoreApi(client).get_api_versions().versions == ["v1"]
    resources = kubernetes.client.CustomObjectsApi(client).get_api_resources(GROUP, VERSION).resources
    assert {(r.name, r.kind, r.namespaced) for r in resources} >= {("pytorchjobs", "PyTorchJob", True)}
    assert kubernetes.client.VersionApi(client).get_code().major == "1"


def test_unknown_resources_are_404(client):
    status, body = failure(kubernetes.client.CoreV1Api(client).list_namespaced_secret, NAMESPACE)

    assert (status, body["message"]) == (404, "the server could not find the requested resource")


def test_self_subject_access_review_allows_unless_told_to_deny(client, kube, job_manifest):
    def review(verb: str) -> bool:
        attributes = kubernetes.client.V1ResourceAttributes(
            verb=verb, group=GROUP, resource=PLURAL, namespace=NAMESPACE
        )
        spec = kubernetes.client.V1SelfSubjectAccessReviewSpec(resource_attributes=attributes)
        body = kubernetes.client.V1SelfSubjectAccessReview(spec=spec)
        return kubernetes.client.AuthorizationV1Api(client).create_self_subject_access_review(body).status.allowed

    assert review("create") is True
    kube.deny("create", "pytorchjobs", NAMESPACE)
    assert (review("create"), review("delete")) == (False, True)

    custom = kubernetes.client.CustomObjectsApi(client)
    status, body = failure(custom.create_namespaced_custom_object, GROUP, VERSION, NAMESPACE, PLURAL, job_manifest("j"))
    assert (status, body["reason"]) == (403, "Forbidden")
    assert body["message"].startswith('pytorchjobs.kubeflow.org is forbidden: User "AKIATESTKEY" cannot create')
    assert kube.list("kubeflow.org/v1", "pytorchjobs", NAMESPACE) == []


def test_namespaces_are_read_and_listed(core, kube):
    kube.add_namespace("team-b")

    assert core.read_namespace(NAMESPACE).status.phase == "Active"
    assert [ns.metadata.name for ns in core.list_namespace().items] == ["default", NAMESPACE, "team-b"]
    assert failure(core.read_namespace, "missing")[1]["message"] == 'namespaces "missing" not found'
