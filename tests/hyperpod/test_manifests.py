"""The HyperPod renderer against manifests written by hand from the published Nova chart."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from airflow_provider_nova.core.errors import ConfigurationError
from airflow_provider_nova.core.hyperpod import (
    JOB_LABEL,
    MANAGED_BY,
    ChartValues,
    config_map_name,
    efa_count,
    gpu_count,
    is_evaluation,
    label_selector,
    recipe_devices,
    render,
)

FIXTURES = Path(__file__).parent / "fixtures"
SFT_IMAGE = "708977205387.dkr.ecr.us-east-1.amazonaws.com/nova-fine-tune-repo:SM-HP-SFT-latest"
EVAL_IMAGE = "708977205387.dkr.ecr.us-east-1.amazonaws.com/nova-evaluation-repo:SM-HP-Eval-V2-latest"
INIT_IMAGE = "708977205387.dkr.ecr.us-east-1.amazonaws.com/init-container-repo:latest"

# The recipes as the renderer receives them (OmegaConf-style, ending in a line break); the fixtures
# hold the same text, typed by hand into the chart's `config.yaml: |-` block.
SFT_RECIPE = """\
run:
  name: nova-sft-demo
  model_type: amazon.nova-micro-v1:0:128k
  model_name_or_path: nova-micro/prod
  replicas: 4
  data_s3_path: s3://example-bucket/data/train.jsonl
  output_s3_path: s3://example-bucket/output/
training_config:
  max_length: 32768
  global_batch_size: 64
  trainer:
    max_epochs: 2
  model:
    optim:
      lr: 1.0e-05
    peft:
      peft_scheme: lora
"""
EVAL_RECIPE = """\
run:
  name: nova-mmlu-eval
  model_type: amazon.nova-micro-v1:0:128k
  model_name_or_path: nova-micro/prod
  replicas: 1
  data_s3_path: ''
  output_s3_path: s3://example-bucket/eval-output/
evaluation:
  task: mmlu
  strategy: zs_cot
  metric: accuracy
inference:
  max_new_tokens: 8196
  top_k: -1
  top_p: 1.0
  temperature: 0
"""


def sft_values(**changes: Any) -> ChartValues:
    values = ChartValues(
        job_name="nova-sft-demo",
        namespace="nova-jobs",
        image=SFT_IMAGE,
        init_image=INIT_IMAGE,
        instance_type="ml.p5.48xlarge",
        replicas=4,
        account_id="123456789012",
    )
    return dataclasses.replace(values, **changes)


def expected(name: str) -> list[dict[str, Any]]:
    with (FIXTURES / f"{name}.yaml").open() as stream:
        return [doc for doc in yaml.safe_load_all(stream) if doc is not None]


def first_difference(want: Any, got: Any, path: str = "$") -> str | None:
    """The path of the first place where ``got`` differs from ``want`` (types included), or None."""
    if isinstance(want, dict) and isinstance(got, dict):
        for key in [*want, *(k for k in got if k not in want)]:
            if key not in got:
                return f"{path}.{key}: missing, expected {want[key]!r}"
            if key not in want:
                return f"{path}.{key}: unexpected {got[key]!r}"
            found = first_difference(want[key], got[key], f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(want, list) and isinstance(got, list):
        for index, (one, other) in enumerate(zip(want, got, strict=False)):
            found = first_difference(one, other, f"{path}[{index}]")
            if found:
                return found
        return None if len(want) == len(got) else f"{path}: {len(got)} items, expected {len(want)}"
    if type(want) is not type(got) or want != got:
        return f"{path}: {got!r}, expected {want!r}"
    return None


def assert_same(want: Any, got: Any) -> None:
    difference = first_difference(want, got)
    assert difference is None, difference
    assert got == want


def pod_templates(job: dict[str, Any]) -> list[dict[str, Any]]:
    return [spec["template"] for spec in job["spec"]["pytorchReplicaSpecs"].values()]


# --- the chart, field by field -------------------------------------------------------------------


def test_micro_lora_sft_on_four_p5_renders_what_the_chart_renders() -> None:
    assert_same(expected("micro_lora_sft_p5x4"), render(sft_values(), SFT_RECIPE))


def test_mmlu_evaluation_on_one_p5_renders_what_the_chart_renders() -> None:
    values = ChartValues.for_recipe(
        yaml.safe_load(EVAL_RECIPE),
        job_name="nova-mmlu-eval",
        namespace="nova-jobs",
        image=EVAL_IMAGE,
        init_image=INIT_IMAGE,
        instance_type="ml.p5.48xlarge",
        replicas=1,
        account_id="123456789012",
        labels={"team": "nlp"},
        annotations={"owner": "ml-platform"},
        service_account_name="nova-runner",
        priority_class_name="nova-high",
    )
    assert values.lambda_access is True
    assert_same(expected("micro_mmlu_eval_p5x1"), render(values, EVAL_RECIPE))


def test_the_comparison_reports_the_path_of_the_first_difference() -> None:
    want = expected("micro_lora_sft_p5x4")
    got = render(sft_values(), SFT_RECIPE)
    got[1]["spec"]["pytorchReplicaSpecs"]["Worker"]["template"]["spec"]["containers"][0]["resources"]["limits"][
        "nvidia.com/gpu"
    ] = "8"
    assert first_difference(want, got) == (
        "$[1].spec.pytorchReplicaSpecs.Worker.template.spec.containers[0].resources.limits.nvidia.com/gpu: "
        "'8', expected 8"
    )
    del got[0]["metadata"]["namespace"]
    assert first_difference(want, got) == "$[0].metadata.namespace: missing, expected 'nova-jobs'"
    assert first_difference(want, [*got, {}]) is not None


def test_the_rendered_objects_are_json_as_the_api_takes_them() -> None:
    objects = render(sft_values(), SFT_RECIPE)
    assert json.loads(json.dumps(objects)) == objects
    assert [(o["apiVersion"], o["kind"]) for o in objects] == [("v1", "ConfigMap"), ("kubeflow.org/v1", "PyTorchJob")]


def test_the_config_map_holds_the_recipe_without_its_trailing_line_breaks() -> None:
    config_map, _ = render(sft_values(), SFT_RECIPE + "\n\n")
    assert config_map["data"] == {"config.yaml": SFT_RECIPE.rstrip("\n")}
    assert yaml.safe_load(config_map["data"]["config.yaml"]) == yaml.safe_load(SFT_RECIPE)


# --- names and labels ----------------------------------------------------------------------------


def test_names_are_the_charts_config_map_and_volume_names() -> None:
    config_map, job = render(sft_values(job_name="demo-2"), SFT_RECIPE)
    assert config_map_name("demo-2") == "training-config-demo-2" == config_map["metadata"]["name"]
    assert job["metadata"]["name"] == "demo-2"
    for template in pod_templates(job):
        volumes = {volume["name"]: volume for volume in template["spec"]["volumes"]}
        assert volumes["training-config"]["configMap"] == {"name": "training-config-demo-2"}
        for container in template["spec"]["initContainers"] + template["spec"]["containers"]:
            assert {"mountPath": "/config", "name": "training-config"} in container["volumeMounts"]


def test_every_object_and_pod_template_carries_the_job_labels() -> None:
    ours = {JOB_LABEL: "nova-sft-demo", MANAGED_BY[0]: MANAGED_BY[1]}
    config_map, job = render(sft_values(labels={"team": "nlp"}), SFT_RECIPE)
    assert config_map["metadata"]["labels"] == ours
    assert job["metadata"]["labels"] == {"app": "nova-sft-demo", **ours, "team": "nlp"}
    templates = pod_templates(job)
    assert len(templates) == 2
    for template in templates:
        assert template["metadata"]["labels"] == {**ours, "team": "nlp"}
    assert label_selector("nova-sft-demo") == (
        "airflow-provider-nova/job-name=nova-sft-demo,app.kubernetes.io/managed-by=airflow-provider-nova"
    )


@pytest.mark.parametrize("key", ["app", JOB_LABEL, MANAGED_BY[0]])
def test_user_labels_cannot_take_the_reserved_keys(key: str) -> None:
    with pytest.raises(ConfigurationError, match="reserved"):
        sft_values(labels={key: "x"})


@pytest.mark.parametrize("labels", [{"bad key!": "x"}, {"team": "has space"}, {"team": "x" * 64}, {"team": 3}])
def test_invalid_labels_are_rejected(labels: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError, match="label"):
        sft_values(labels=labels)


# --- replicas and optional fields ----------------------------------------------------------------


@pytest.mark.parametrize(("replicas", "workers"), [(1, None), (2, 1), (4, 3), (16, 15)])
def test_one_master_and_a_worker_spec_only_beyond_one_node(replicas: int, workers: int | None) -> None:
    _, job = render(sft_values(replicas=replicas), SFT_RECIPE)
    specs = job["spec"]["pytorchReplicaSpecs"]
    assert specs["Master"]["replicas"] == 1
    assert specs.get("Worker", {}).get("replicas") == workers
    assert "runPolicy" not in job["spec"]


def test_optional_fields_are_absent_unless_given() -> None:
    _, job = render(sft_values(), SFT_RECIPE)
    assert "annotations" not in job["metadata"]
    for template in pod_templates(job):
        spec = template["spec"]
        assert not {"serviceAccountName", "priorityClassName", "hostNetwork", "dnsPolicy"} & set(spec)
        assert "k8s-ca-cert" not in [volume["name"] for volume in spec["volumes"]]


def test_optional_fields_reach_the_job_and_every_pod() -> None:
    values = sft_values(
        annotations={"b": "2", "a": "1"}, service_account_name="nova-runner", priority_class_name="nova-high"
    )
    _, job = render(values, SFT_RECIPE)
    assert list(job["metadata"]["annotations"].items()) == [("a", "1"), ("b", "2")]
    for template in pod_templates(job):
        assert template["spec"]["serviceAccountName"] == "nova-runner"
        assert template["spec"]["priorityClassName"] == "nova-high"


# --- devices, EFA and environment ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("instance_type", "gpus", "efas"),
    [
        ("ml.p5.48xlarge", 8, 32),
        ("ml.p5en.48xlarge", 8, 16),
        ("ml.p4d.24xlarge", 8, 4),
        ("ml.g5.12xlarge", 4, 1),
        ("ml.g5.48xlarge", 8, 1),
        ("ml.g6.24xlarge", 4, 1),
        ("ml.g6e.12xlarge", 2, 1),
        ("ml.g6e.24xlarge", 4, 2),
        ("ml.g5.xlarge", 1, 0),
        ("ml.trn2.48xlarge", 8, 16),
        ("ml.p5.4xlarge", 8, 0),  # in the multi-EFA table but not in the EFA list: the publisher says 0
        ("ml.m5.xlarge", 8, 0),
        ("p5.48xlarge", 8, 32),
    ],
)
def test_gpu_and_efa_counts_follow_the_publishers_tables(instance_type: str, gpus: int, efas: int) -> None:
    assert (gpu_count(instance_type), efa_count(instance_type)) == (gpus, efas)


def test_resources_use_the_instance_types_counts_unless_devices_are_given() -> None:
    _, job = render(sft_values(instance_type="ml.g5.12xlarge"), SFT_RECIPE)
    resources = job["spec"]["pytorchReplicaSpecs"]["Master"]["template"]["spec"]["containers"][0]["resources"]
    assert resources["limits"] == resources["requests"] == {"nvidia.com/gpu": 4, "vpc.amazonaws.com/efa": 1}
    _, job = render(sft_values(devices=2), SFT_RECIPE)
    for template in pod_templates(job):
        assert template["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == 2


def test_devices_and_lambda_access_come_from_the_recipe() -> None:
    training = {"training_config": {"trainer": {"devices": 4}}}
    evaluation = {"evaluation": {"task": "mmlu"}, "resource_config": {"devices": 2}, **training}
    assert (recipe_devices(training), is_evaluation(training)) == (4, False)
    assert (recipe_devices(evaluation), is_evaluation(evaluation)) == (2, True)
    assert recipe_devices(yaml.safe_load(SFT_RECIPE)) is None
    assert is_evaluation({"evaluation": {}}) is False  # the launcher's truthiness
    fields = dataclasses.asdict(sft_values())
    del fields["devices"], fields["lambda_access"]
    values = ChartValues.for_recipe(evaluation, **fields)
    assert (values.devices, values.lambda_access) == (2, True)
    assert ChartValues.for_recipe(evaluation, **fields, devices=8).devices == 8
    with pytest.raises(ConfigurationError, match=r"training_config\.trainer\.devices"):
        recipe_devices({"training_config": {"trainer": {"devices": "{{devices}}"}}})


def test_an_instance_type_without_efa_gets_no_instance_type_variable_and_no_efa() -> None:
    _, job = render(sft_values(instance_type="ml.g5.xlarge"), SFT_RECIPE)
    spec = job["spec"]["pytorchReplicaSpecs"]["Master"]["template"]["spec"]
    container = spec["containers"][0]
    assert [variable["name"] for variable in container["env"]] == ["AWS_REGION", "X_AMZ_SOURCE_ACCOUNT"]
    assert container["resources"]["limits"] == {"nvidia.com/gpu": 1, "vpc.amazonaws.com/efa": 0}
    terms = spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert terms[0]["matchExpressions"][0] == {
        "key": "node.kubernetes.io/instance-type",
        "operator": "In",
        "values": ["ml.g5.xlarge"],
    }


def test_the_region_comes_from_the_image_registry_unless_given() -> None:
    _, job = render(sft_values(image=SFT_IMAGE.replace("us-east-1", "us-west-2")), SFT_RECIPE)
    assert job["spec"]["pytorchReplicaSpecs"]["Master"]["template"]["spec"]["containers"][0]["env"][0] == {
        "name": "AWS_REGION",
        "value": "us-west-2",
    }
    values = sft_values(image="registry.example.com/nova:1", region="eu-west-2")
    _, job = render(values, SFT_RECIPE)
    assert job["spec"]["pytorchReplicaSpecs"]["Worker"]["template"]["spec"]["initContainers"][0]["env"][0] == {
        "name": "AWS_REGION",
        "value": "eu-west-2",
    }
    with pytest.raises(ConfigurationError, match="region is required"):
        sft_values(image="registry.example.com/nova:1")


# --- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"job_name": "Nova-SFT"}, "job_name"),
        ({"job_name": "1-nova"}, "job_name"),
        ({"job_name": "nova_sft"}, "job_name"),
        ({"job_name": "n" * 55}, "job_name"),
        ({"namespace": "Nova"}, "namespace"),
        ({"account_id": "12345"}, "account_id"),
        ({"instance_type": "p5.48xlarge"}, "instance_type"),
        ({"replicas": 0}, "replicas"),
        ({"replicas": True}, "replicas"),
        ({"devices": 0}, "devices"),
        ({"image": ""}, "image"),
        ({"service_account_name": "Bad Name"}, "service_account_name"),
        ({"annotations": {"a": 1}}, "annotations"),
    ],
)
def test_bad_values_fail_when_built_and_name_the_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigurationError, match=field):
        sft_values(**changes)


def test_the_longest_job_name_leaves_room_for_the_operators_pod_names() -> None:
    name = "n" * 54  # <job>-worker-0 (and <job>-master-0) is then 63 characters
    sft_values(job_name=name, replicas=2)
    with pytest.raises(ConfigurationError, match="too long"):
        sft_values(job_name=name, replicas=12)  # <job>-worker-10
