"""What a finished Nova job leaves in S3, in the service's layout, written by the stand-in.

Training: ``<output>/<job>/output/output.tar.gz`` with ``manifest.json`` naming the checkpoint in
an escrow bucket. Evaluation and batch inference (a ``gen_qa`` evaluation): the same tar with
``<run>/eval_results/results_<time>.json``, for ``gen_qa`` also ``<run>/eval_results/
inference_output.jsonl``, and ``tensorboard_results/eval/events.out.tfevents.<time>``. Metric
values are made up (stable per job name): the stand-in rehearses the plumbing, not the model.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from typing import Any

import yaml

from airflow_provider_nova.sandbox import moto_state
from airflow_provider_nova.sandbox.tfevents import scalar_events

GEN_QA_METRICS = ("rouge1", "rouge2", "rougeL", "em", "qem", "f1", "f1_score_quasi", "bleu")


class JobInputError(Exception):
    """The job's inputs are not what its container accepts; the message is the FailureReason."""


def split_s3(uri: str) -> tuple[str, str]:
    bucket, _, key = uri[5:].partition("/")
    return bucket, key


def tar_gz(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def job_recipe(request: dict[str, Any]) -> dict[str, Any]:
    """The recipe a job was started with, read from its ``recipe`` channel."""
    for channel in request.get("InputDataConfig", []):
        if channel["ChannelName"] == "recipe":
            bucket, prefix = split_s3(channel["DataSource"]["S3DataSource"]["S3Uri"])
            for key in moto_state.list_keys(bucket, prefix):
                if key.endswith((".yaml", ".yml")):
                    recipe = yaml.safe_load(moto_state.read_object(bucket, key) or b"")
                    if isinstance(recipe, dict):
                        return recipe
    raise JobInputError("ClientError: no recipe.yaml found in the recipe channel")


def _score(job_name: str, salt: str) -> float:
    digest = hashlib.sha256(f"{job_name}:{salt}".encode()).digest()
    return round(0.5 + int.from_bytes(digest[:4], "big") / 2**32 * 0.45, 4)


def evaluation_files(
    job_name: str, created: float, recipe: dict[str, Any], request: dict[str, Any]
) -> dict[str, bytes]:
    """The files of an evaluation job's output tar."""
    evaluation = recipe.get("evaluation") or {}
    task, strategy = str(evaluation.get("task", "")), str(evaluation.get("strategy", ""))
    metric, subtask = str(evaluation.get("metric", "")), str(evaluation.get("subtask") or "")
    run = str((recipe.get("run") or {}).get("name") or job_name)
    names = GEN_QA_METRICS if metric == "all" else (metric,)
    metrics: dict[str, float] = {}
    for name in names:
        metrics[name] = _score(job_name, name) * (100 if name == "bleu" else 1)
        metrics[f"{name}_stderr"] = round(_score(job_name, name + "_stderr") / 20, 4)
    task_key = f"custom|{task}{':' + subtask if subtask else ''}_{strategy}|0"
    stamp = int(created)
    files = {
        f"{run}/eval_results/results_{stamp}.json": json.dumps(
            {"results": {task_key: metrics, "all": metrics}}, indent=2
        ).encode()
    }
    if task == "gen_qa":
        files[f"{run}/eval_results/inference_output.jsonl"] = _inference_output(request, recipe)
    scalars = {f"{task}/{name}": value for name, value in metrics.items() if not name.endswith("_stderr")}
    files[f"tensorboard_results/eval/events.out.tfevents.{stamp}.sandbox"] = scalar_events(scalars, created)
    return files


def _inference_output(request: dict[str, Any], recipe: dict[str, Any]) -> bytes:
    """One generation per input row, as the evaluation container writes ``inference_output.jsonl``."""
    lines = []
    for number, row in enumerate(_input_rows(request), 1):
        if not isinstance(row, dict) or not isinstance(row.get("query"), str) or "response" not in row:
            raise JobInputError(
                f"AlgorithmError: gen_qa input line {number} must be a JSON object with 'query' and 'response'"
            )
        messages = ([{"role": "system", "content": row["system"]}] if row.get("system") else []) + [
            {"role": "user", "content": row["query"]}
        ]
        answer = str(row["response"]) if number % 2 else f"Sandbox answer to: {row['query']}"
        out = {"prompt": repr(messages), "inference": repr([answer]), "gold": row["response"]}
        if row.get("metadata"):
            out["metadata"] = row["metadata"]
        lines.append(json.dumps(out))
    return ("\n".join(lines) + "\n").encode() if lines else b""


def _input_rows(request: dict[str, Any]) -> list[Any]:
    rows: list[Any] = []
    for channel in request.get("InputDataConfig", []):
        if channel["ChannelName"] != "train":
            continue
        bucket, prefix = split_s3(channel["DataSource"]["S3DataSource"]["S3Uri"])
        for key in moto_state.list_keys(bucket, prefix):
            text = (moto_state.read_object(bucket, key) or b"").decode("utf-8", errors="replace")
            for number, line in enumerate(text.splitlines(), 1):
                if line.strip():
                    try:
                        rows.append(json.loads(line))
                    except ValueError as exc:
                        raise JobInputError(
                            f"AlgorithmError: s3://{bucket}/{key} line {number} is not JSON: {exc}"
                        ) from None
    return rows


def training_files(job_name: str, created: float, region: str) -> dict[str, bytes]:
    """The files of a training job's output tar; also writes the checkpoint marker in the escrow bucket."""
    escrow = f"customer-escrow-{moto_state.ACCOUNT_ID}-smtj-{region}"
    moto_state.ensure_bucket(escrow, region)
    prefix = f"{job_name}/{int(created)}/"
    moto_state.put_object(
        escrow,
        prefix + "model_info.json",
        json.dumps({"job": job_name, "note": "sandbox checkpoint marker, not model weights"}).encode(),
    )
    return {"manifest.json": json.dumps({"checkpoint_s3_bucket": f"s3://{escrow}/{prefix}"}).encode()}
