"""SMHPRuntimeManager end to end over loopback HTTP: the AWS stand-in for the cluster checks and the EKS
endpoint, and the Kubernetes API emulator (not a cluster) for the job's objects, driven as the
training operator would drive them."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
import yaml

from airflow_provider_nova.core import (
    BaseJobResult,
    EvaluationTask,
    JobStatus,
    Model,
    NovaModelCustomizer,
    SMHPEvaluationResult,
    SMHPRuntimeManager,
    TrainingMethod,
)
from airflow_provider_nova.core.errors import ConfigurationError, JobFailedError

DATA = "s3://my-bucket/training-data/train.jsonl"
OUT = "s3://my-bucket/hp-out/"
IMAGE = "708977205387.dkr.ecr.us-east-1.amazonaws.com/nova-fine-tune-repo:SM-HP-SFT-latest"
INIT_IMAGE = "708977205387.dkr.ecr.us-east-1.amazonaws.com/init-container-repo:latest"


def _infra(aws: Any, hyperpod: dict[str, Any], count: int = 4, **kwargs: Any) -> SMHPRuntimeManager:
    return SMHPRuntimeManager(
        "ml.p5.48xlarge", count, hyperpod["cluster_name"], hyperpod["namespace"], clients=aws, **kwargs
    )


def _put(account: dict[str, str], uri: str, body: bytes) -> None:
    bucket, key = uri[len("s3://") :].split("/", 1)
    boto3.client("s3", endpoint_url=account["endpoint_url"], region_name="us-east-1").put_object(
        Bucket=bucket, Key=key, Body=body
    )


def _created(kube: Any) -> list[str]:
    return [path for method, path, _ in kube.requests if method == "POST" and "selfsubjectaccessreviews" not in path]


def test_a_micro_lora_sft_job_is_created_runs_and_succeeds(
    aws: Any, account: dict[str, str], hyperpod: dict[str, Any], kube: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    customizer = NovaModelCustomizer(Model.NOVA_MICRO, TrainingMethod.SFT_LORA, _infra(aws, hyperpod), DATA, OUT)
    result = customizer.train("micro-sft", overrides={"max_epochs": 3})
    assert (result.platform.value, result.cluster_name, result.namespace) == ("SMHP", "nova-hp", "nova-jobs")
    assert result.model_artifacts.output_s3_path == "s3://my-bucket/hp-out/micro-sft/"

    config_map = kube.get("v1", "configmaps", "nova-jobs", "training-config-micro-sft")
    recipe = yaml.safe_load(config_map["data"]["config.yaml"])
    assert recipe["run"]["name"] == "micro-sft" and recipe["run"]["replicas"] == 4
    assert recipe["run"]["data_s3_path"] == DATA and recipe["run"]["output_s3_path"] == OUT
    assert recipe["training_config"]["trainer"]["max_epochs"] == 3
    job = kube.get("kubeflow.org/v1", "pytorchjobs", "nova-jobs", "micro-sft")
    specs = job["spec"]["pytorchReplicaSpecs"]
    assert (specs["Master"]["replicas"], specs["Worker"]["replicas"]) == (1, 3)
    pod = specs["Master"]["template"]["spec"]
    assert pod["containers"][0]["image"] == IMAGE and pod["initContainers"][0]["image"] == INIT_IMAGE
    for obj in (config_map, job):
        assert obj["metadata"]["labels"]["airflow-provider-nova/job-name"] == "micro-sft"

    assert result.get_job_status() == (JobStatus.IN_PROGRESS, "Pending")
    kube.run_pytorchjob("nova-jobs", "micro-sft")
    assert result.get_job_status() == (JobStatus.IN_PROGRESS, "Running")
    kube.set_pod_log("nova-jobs", "micro-sft-master-0", "epoch 1 loss 1.9\nepoch 2 loss 1.2\n")
    customizer.get_logs(limit=1)
    assert capsys.readouterr().out == "epoch 2 loss 1.2\n"

    checkpoint = "s3://customer-escrow-123456789012-smtj-abcdef/micro-sft/checkpoint"
    _put(account, OUT + "micro-sft/manifest.json", json.dumps({"checkpoint_s3_bucket": checkpoint}).encode())
    kube.succeed_pytorchjob("nova-jobs", "micro-sft")
    assert result.wait_for_completion(poll_seconds=0.01) == (JobStatus.COMPLETED, "Succeeded")
    assert result.model_artifacts.checkpoint_s3_path == checkpoint


def test_a_result_file_follows_its_hyperpod_job_in_another_process(
    aws: Any, hyperpod: dict[str, Any], kube: Any, tmp_path: Any
) -> None:
    customizer = NovaModelCustomizer(Model.NOVA_MICRO, TrainingMethod.SFT_LORA, _infra(aws, hyperpod, 2), DATA, OUT)
    customizer.train("micro-sft-2").dump(str(tmp_path / "r.json"))
    loaded = BaseJobResult.load(str(tmp_path / "r.json"))  # new clients, a new Kubernetes client, a new token
    assert (loaded.cluster_name, loaded.namespace) == ("nova-hp", "nova-jobs")
    kube.run_pytorchjob("nova-jobs", "micro-sft-2")
    assert loaded.get_job_status() == (JobStatus.IN_PROGRESS, "Running")


def test_an_mmlu_evaluation_runs_on_one_node_and_its_metrics_are_read(
    aws: Any, account: dict[str, str], hyperpod: dict[str, Any], kube: Any
) -> None:
    customizer = NovaModelCustomizer(Model.NOVA_MICRO, TrainingMethod.EVALUATION, _infra(aws, hyperpod, 1), DATA, OUT)
    result = customizer.evaluate("micro-mmlu", EvaluationTask.MMLU)
    assert isinstance(result, SMHPEvaluationResult)
    assert result.eval_output_path == "s3://my-bucket/hp-out/micro-mmlu/eval-result/"
    job = kube.get("kubeflow.org/v1", "pytorchjobs", "nova-jobs", "micro-mmlu")
    assert list(job["spec"]["pytorchReplicaSpecs"]) == ["Master"]  # one node: no Worker
    pod = job["spec"]["pytorchReplicaSpecs"]["Master"]["template"]["spec"]
    assert pod["hostNetwork"] is True  # evaluations may call a Lambda (the chart's lambdaAccess)
    recipe = yaml.safe_load(
        kube.get("v1", "configmaps", "nova-jobs", "training-config-micro-mmlu")["data"]["config.yaml"]
    )
    assert recipe["evaluation"]["task"] == "mmlu"
    assert recipe["run"]["output_s3_path"] == OUT  # the container's only word on where to write its results
    assert pod["containers"][0]["image"].endswith("nova-evaluation-repo:SM-HP-Eval-V2-latest")

    assert result.get() == {}  # not complete yet
    metrics = {"results": {"mmlu": {"accuracy": 0.71, "accuracy_stderr": 0.01}}}
    _put(account, result.eval_output_path + "run-1/eval_results/results_2026.json", json.dumps(metrics).encode())
    kube.run_pytorchjob("nova-jobs", "micro-mmlu")
    kube.succeed_pytorchjob("nova-jobs", "micro-mmlu")
    assert result.get() == metrics


def test_a_failed_job_fails_with_the_conditions_message(aws: Any, hyperpod: dict[str, Any], kube: Any) -> None:
    customizer = NovaModelCustomizer(Model.NOVA_MICRO, TrainingMethod.SFT_LORA, _infra(aws, hyperpod, 2), DATA, OUT)
    result = customizer.train("micro-sft-fails")
    kube.run_pytorchjob("nova-jobs", "micro-sft-fails")
    kube.fail_pytorchjob("nova-jobs", "micro-sft-fails", "NCCL timeout on worker-0")
    with pytest.raises(JobFailedError, match="NCCL timeout on worker-0") as info:
        result.wait_for_completion(poll_seconds=0.01)
    assert info.value.status == "Failed"


def test_stop_deletes_every_object_of_the_job(aws: Any, hyperpod: dict[str, Any], kube: Any) -> None:
    infra = _infra(aws, hyperpod, 2)
    customizer = NovaModelCustomizer(Model.NOVA_MICRO, TrainingMethod.SFT_LORA, infra, DATA, OUT)
    result = customizer.train("micro-sft-stop")
    kube.run_pytorchjob("nova-jobs", "micro-sft-stop")
    assert len(kube.list("v1", "pods", "nova-jobs")) == 2
    infra.cleanup("micro-sft-stop")
    assert kube.list("kubeflow.org/v1", "pytorchjobs", "nova-jobs") == []
    assert kube.list("v1", "configmaps", "nova-jobs") == []
    assert kube.list("v1", "pods", "nova-jobs") == []
    assert result.get_job_status() == (JobStatus.FAILED, "NotFound")
    infra.cleanup("micro-sft-stop")  # stopping a stopped job is quiet


def test_a_taken_name_is_refused_before_anything_is_created(aws: Any, hyperpod: dict[str, Any], kube: Any) -> None:
    customizer = NovaModelCustomizer(Model.NOVA_MICRO, TrainingMethod.SFT_LORA, _infra(aws, hyperpod, 2), DATA, OUT)
    customizer.train("micro-sft-dup")
    before = _created(kube)
    with pytest.raises(ConfigurationError, match="already exists in namespace nova-jobs of cluster nova-hp"):
        customizer.train("micro-sft-dup")
    assert _created(kube) == before


@pytest.mark.parametrize(
    ("change", "count", "message"),
    [
        ({"cluster_name": "no-such-cluster"}, 4, "no SageMaker HyperPod cluster of that name"),
        ({}, 8, r"has restricted instance group nova-p5: 4 x ml.p5.48xlarge; the job needs 8 x ml.p5.48xlarge"),
        ({"namespace": "missing"}, 4, "namespace 'missing' does not exist on HyperPod cluster nova-hp"),
    ],
)
def test_the_cluster_is_checked_before_anything_is_created(
    aws: Any, hyperpod: dict[str, Any], kube: Any, change: dict[str, str], count: int, message: str
) -> None:
    place = {**hyperpod, **change}
    infra = SMHPRuntimeManager("ml.p5.48xlarge", count, place["cluster_name"], place["namespace"], clients=aws)
    customizer = NovaModelCustomizer(Model.NOVA_MICRO, TrainingMethod.SFT_LORA, infra, DATA, OUT)
    with pytest.raises(ConfigurationError, match=message):
        customizer.train("micro-sft-checked")
    assert _created(kube) == []


def test_nodes_that_are_not_running_are_counted_out(
    aws: Any, hyperpod: dict[str, Any], kube: Any, control: Any
) -> None:
    control.set_cluster_node_status("nova-hp", "nova-p5", "Pending", count=3)
    customizer = NovaModelCustomizer(Model.NOVA_MICRO, TrainingMethod.SFT_LORA, _infra(aws, hyperpod, 2), DATA, OUT)
    with pytest.raises(ConfigurationError, match=r"only 1 ml\.p5\.48xlarge nodes of restricted instance group"):
        customizer.train("micro-sft-pending")
    assert _created(kube) == []


def test_names_kubernetes_cannot_take_are_refused(aws: Any, hyperpod: dict[str, Any]) -> None:
    customizer = NovaModelCustomizer(Model.NOVA_MICRO, TrainingMethod.SFT_LORA, _infra(aws, hyperpod, 2), DATA, OUT)
    for bad in ("Micro-SFT", "1-job", "x" * 51):
        with pytest.raises(ConfigurationError, match="not a valid HyperPod job name"):
            customizer.train(bad)


def test_the_eks_token_is_made_again_before_it_expires(
    aws: Any, hyperpod: dict[str, Any], kube: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow_provider_nova.core.hyperpod import kube as kube_module

    made: list[str] = []
    real = kube_module.eks_token

    def counting(*args: Any, **kwargs: Any) -> Any:
        token = real(*args, **kwargs)
        made.append(token.token)
        return token

    monkeypatch.setattr(kube_module, "eks_token", counting)
    now = [1000.0]
    infra = _infra(aws, hyperpod, 2, clock=lambda: now[0])
    ref = infra.ref("micro-sft-token")
    infra.describe(ref)
    infra.describe(ref)
    assert len(made) == 1  # one token serves every call while it is fresh
    now[0] += 13 * 60
    infra.describe(ref)
    assert len(made) == 1
    now[0] += 2 * 60  # 15 minutes after the first: EKS would refuse it now
    infra.describe(ref)
    assert len(made) == 2
    assert all(t.startswith("k8s-aws-v1.") for t in made)


def test_rft_on_hyperpod_is_refused_plainly(aws: Any, hyperpod: dict[str, Any], kube: Any) -> None:
    from airflow_provider_nova.core.errors import UnsupportedError

    infra = SMHPRuntimeManager("ml.p5.48xlarge", 4, "nova-hp", "nova-jobs", clients=aws)
    customizer = NovaModelCustomizer(Model.NOVA_LITE_2, TrainingMethod.RFT_LORA, infra, DATA, OUT)
    with pytest.raises(UnsupportedError, match="RFT_LORA on SageMaker HyperPod is not available"):
        customizer.train("lite-rft", rft_lambda_arn="arn:aws:lambda:us-east-1:123456789012:function:reward")
    assert _created(kube) == []


def test_a_kubeconfig_reaches_the_cluster_instead_of_the_aws_credentials(
    aws: Any, hyperpod: dict[str, Any], kube: Any, tmp_path: Any, eks_token: Any
) -> None:
    kubeconfig = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "nova", "cluster": {"server": kube.url, "certificate-authority-data": kube.ca_data}}],
        "users": [{"name": "airflow", "user": {"token": eks_token()}}],
        "contexts": [{"name": "nova", "context": {"cluster": "nova", "user": "airflow", "namespace": "nova-jobs"}}],
        "current-context": "nova",
    }
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(kubeconfig))
    infra = SMHPRuntimeManager("ml.p5.48xlarge", 2, "nova-hp", "nova-jobs", clients=aws, kubeconfig=str(path))
    customizer = NovaModelCustomizer(Model.NOVA_MICRO, TrainingMethod.SFT_LORA, infra, DATA, OUT)
    customizer.train("micro-sft-kubeconfig")
    assert kube.get("kubeflow.org/v1", "pytorchjobs", "nova-jobs", "micro-sft-kubeconfig") is not None
    with pytest.raises(ConfigurationError, match="does not exist"):
        SMHPRuntimeManager(
            "ml.p5.48xlarge", 2, "nova-hp", "nova-jobs", clients=aws, kubeconfig=str(tmp_path / "none")
        ).describe(infra.ref("x"))
