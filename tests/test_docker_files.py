"""docker/: what can be checked without a Docker engine (none runs here).

The compose file parses and publishes ports on the host's loopback only; the image is the official
Airflow image at the version .ci/constraints.txt pins; Airflow's services, the stand-in and the demo
exist with healthchecks and start in order; every ``AIRFLOW__SECTION__KEY`` is an option Airflow
knows; the stand-in's command line parses; the mounted DAG folder and script exist; and the demo's
seeding, over HTTP against the stand-in, makes the role the compose connection assumes.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import re
import runpy
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).parents[1]
DOCKER = ROOT / "docker"
AIRFLOW_SERVICES = {
    "airflow-apiserver": "api-server",
    "airflow-scheduler": "scheduler",
    "airflow-dag-processor": "dag-processor",
    "airflow-triggerer": "triggerer",
}
ONE_SHOT = {"airflow-init", "nova-demo"}
STAND_IN = "stand-in"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DOCKER / "compose.yaml").read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return dict(compose["services"])


def pinned(package: str) -> str:
    lines = (ROOT / ".ci" / "constraints.txt").read_text(encoding="utf-8").splitlines()
    return next(line.split("==", 1)[1] for line in lines if line.lower().startswith(f"{package}=="))


def dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments) of docker/Dockerfile, continuation lines joined, comments dropped."""
    text = (DOCKER / "Dockerfile").read_text(encoding="utf-8")
    lines = [line for line in text.replace("\\\n", " ").splitlines() if line.strip() and not line.startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1].strip()) for line in lines]


def demo_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("nova_demo", DOCKER / "nova_demo.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def command(service: dict[str, Any]) -> list[str]:
    value = service.get("command", [])
    return value.split() if isinstance(value, str) else [str(part) for part in value]


def test_the_image_is_the_official_airflow_image_at_the_pinned_version() -> None:
    bases = [args for instruction, args in dockerfile() if instruction == "FROM"]
    assert bases == [f"apache/airflow:{pinned('apache-airflow')}-python3.11"]
    assert pinned("apache-airflow-core") == pinned("apache-airflow")


def test_the_image_installs_the_provider_with_the_constraints_and_keeps_the_images_airflow() -> None:
    steps = dockerfile()
    pip = [args for instruction, args in steps if instruction == "RUN" and "pip install" in args]
    assert len(pip) == 1
    assert "--no-cache-dir" in pip[0] and "--constraint constraints.txt" in pip[0]
    assert '"apache-airflow==${AIRFLOW_VERSION}"' in pip[0] and '".[sandbox]"' in pip[0]
    users = [args for instruction, args in steps if instruction == "USER"]
    assert users == ["50000"]  # the official image's airflow user, never root
    assert steps.index(("USER", "50000")) < next(i for i, (ins, args) in enumerate(steps) if "pip install" in args)


def test_the_build_context_holds_what_the_dockerfile_copies_and_nothing_else() -> None:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert patterns[0] == "*"  # everything out (.venv/, .demo/, .git/, tests/artifacts/, caches) ...
    allowed = {p[1:] for p in patterns if p.startswith("!")}
    sources = [
        source
        for instruction, args in dockerfile()
        if instruction == "COPY"
        for source in [a for a in args.split() if not a.startswith("--")][:-1]
    ]
    assert sources and set(sources) <= allowed  # ... but what the Dockerfile copies
    assert all((ROOT / source).exists() for source in sources)
    assert {"**/__pycache__", "**/*.pyc"} <= set(patterns)


def test_every_published_port_is_bound_to_the_hosts_loopback(services: dict[str, dict[str, Any]]) -> None:
    published = {name: service["ports"] for name, service in services.items() if service.get("ports")}
    assert set(published) == {"airflow-apiserver", STAND_IN}
    for ports in published.values():
        for port in ports:
            if isinstance(port, dict):
                assert port.get("host_ip") == "127.0.0.1", port
            else:
                assert str(port).startswith("127.0.0.1:") and str(port).count(":") >= 2, port
    assert not any("network_mode" in service for service in services.values())


def test_airflows_services_run_separately_after_the_migration_with_healthchecks(
    services: dict[str, dict[str, Any]],
) -> None:
    assert set(services) == {*AIRFLOW_SERVICES, *ONE_SHOT, STAND_IN, "postgres"}
    for name, subcommand in AIRFLOW_SERVICES.items():
        service = services[name]
        assert command(service)[0] == subcommand
        assert service["depends_on"]["airflow-init"] == {"condition": "service_completed_successfully"}
        assert service["depends_on"]["postgres"] == {"condition": "service_healthy"}
        assert service["healthcheck"]["test"]
    assert "airflow db migrate" in " ".join(command(services["airflow-init"]))
    assert services["airflow-init"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}


def test_every_service_waited_on_as_healthy_has_a_healthcheck(services: dict[str, dict[str, Any]]) -> None:
    for service in services.values():
        for name, rule in (service.get("depends_on") or {}).items():
            assert name in services
            if rule["condition"] == "service_healthy":
                assert services[name].get("healthcheck", {}).get("test"), name
            else:
                assert rule["condition"] == "service_completed_successfully" and name in ONE_SHOT
    waited = set(services["nova-demo"]["depends_on"])
    assert waited == {*AIRFLOW_SERVICES, STAND_IN}


def test_the_job_checks_name_job_types_airflow_knows(services: dict[str, dict[str, Any]]) -> None:
    expected = {
        "airflow-scheduler": "SchedulerJob",
        "airflow-dag-processor": "DagProcessorJob",
        "airflow-triggerer": "TriggererJob",
    }
    for name, job_type in expected.items():
        assert f"airflow jobs check --job-type {job_type} " in " ".join(services[name]["healthcheck"]["test"])


def airflow_environments(compose: dict[str, Any]) -> dict[str, str]:
    merged: dict[str, str] = {}
    for service in compose["services"].values():
        merged.update({k: str(v) for k, v in (service.get("environment") or {}).items()})
    return merged


def test_every_airflow_setting_is_an_option_airflow_knows(compose: dict[str, Any]) -> None:
    from airflow.configuration import conf

    known = conf.configuration_description
    settings = [name for name in airflow_environments(compose) if name.startswith("AIRFLOW__")]
    assert len(settings) >= 10
    for name in settings:
        section, key = name.removeprefix("AIRFLOW__").lower().split("__", 1)
        for suffix in ("_cmd", "_secret"):
            if key.endswith(suffix) and key.removesuffix(suffix) in known.get(section, {}).get("options", {}):
                assert (section, key.removesuffix(suffix)) in conf.sensitive_config_values, name
                key = key.removesuffix(suffix)
        assert key in known.get(section, {}).get("options", {}), f"{name}: [{section}] {key} is not an Airflow option"


def test_the_api_settings_point_tasks_at_the_api_server_and_the_browser_at_the_host(compose: dict[str, Any]) -> None:
    env = compose["x-airflow-common"]["environment"]
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-apiserver:8080/execution/"
    assert command(compose["services"]["airflow-apiserver"])[-2:] == ["--port", "8080"]
    assert env["AIRFLOW__API__BASE_URL"] == "http://127.0.0.1:${NOVA_AIRFLOW_PORT:-8080}"
    assert "127.0.0.1:${NOVA_AIRFLOW_PORT:-8080}:8080" in compose["services"]["airflow-apiserver"]["ports"]
    assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
    module, _, name = env["AIRFLOW__CORE__AUTH_MANAGER"].rpartition(".")
    assert getattr(importlib.import_module(module), name).__name__ == "SimpleAuthManager"
    assert env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"] == "admin:admin"
    assert "AIRFLOW__API_AUTH__JWT_SECRET" not in env  # one generated secret, read through the _CMD form
    assert env["AIRFLOW__API_AUTH__JWT_SECRET_CMD"] == "cat /opt/airflow/auth/jwt_secret"


def test_the_stand_in_command_parses_and_binds_the_port_the_connection_names(
    compose: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow_provider_nova.sandbox import __main__ as cli

    argv = command(compose["services"][STAND_IN])
    assert argv[:3] == ["python", "-m", "airflow_provider_nova.sandbox"]
    started: list[dict[str, Any]] = []

    class Recorded:  # the real parser, a recorder instead of a server binding every interface here
        endpoint_url = "http://recorded"

        def __init__(self, **kwargs: Any) -> None:
            started.append(kwargs)

        def start(self) -> Recorded:
            return self

        def wait(self) -> None:
            return None

    monkeypatch.setattr(cli, "NovaSandbox", Recorded)
    cli.main(argv[3:])
    assert started == [{"host": "0.0.0.0", "port": 5055, "job_seconds": 5.0, "verbose": False}]
    conn = json.loads(compose["x-airflow-common"]["environment"]["AIRFLOW_CONN_AWS_DEFAULT"])
    for url in (conn["extra"]["endpoint_url"], conn["extra"]["service_config"]["sts"]["endpoint_url"]):
        assert (urlsplit(url).hostname, urlsplit(url).port) == (STAND_IN, 5055)


def test_the_mounted_dag_folder_and_demo_script_exist(services: dict[str, dict[str, Any]]) -> None:
    mounts = {
        volume.split(":")[1]: (DOCKER / volume.split(":")[0]).resolve()
        for volume in services["airflow-scheduler"]["volumes"] + services["nova-demo"]["volumes"]
        if volume.startswith(".")
    }
    assert mounts["/opt/airflow/dags"] == ROOT / "example_dags"
    assert (mounts["/opt/airflow/dags"] / "nova_weekly_retraining.py").is_file()
    assert mounts["/opt/airflow/nova_demo.py"] == DOCKER / "nova_demo.py"
    assert command(services["nova-demo"]) == ["python", "/opt/airflow/nova_demo.py"]


def test_the_demo_seeds_what_the_weekly_dag_reads() -> None:
    demo = demo_script()
    dag = runpy.run_path(str(ROOT / "example_dags" / "nova_weekly_retraining.py"))["nova_weekly_retraining"]()
    assert dag.dag_id == demo.DAG_ID
    assert dag.params["raw_data"] == demo.RAW_DATA
    assert dag.get_task("batch_inference").input_path == demo.PROMPTS
    assert set(demo.CONF) <= set(dag.params)


def keep_aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Restore after the test what ``rehearsal.use_stand_in`` changes in this process's environment."""
    for key in [k for k in os.environ if k.startswith("AWS_")]:
        monkeypatch.setenv(key, os.environ[key])


def test_the_demo_seeding_makes_the_role_the_compose_connection_assumes(
    compose: dict[str, Any], sandbox: Any, control: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow_provider_nova.core.runtimes.roles import resolve_execution_role
    from airflow_provider_nova.hooks.nova import NovaHook

    control.reset()
    keep_aws_environment(monkeypatch)
    conn = compose["x-airflow-common"]["environment"]["AIRFLOW_CONN_AWS_DEFAULT"]
    demo = demo_script()
    demo.seed(sandbox.endpoint_url, demo.connection_role(conn))

    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", conn.replace("http://stand-in:5055", sandbox.endpoint_url))
    clients = NovaHook(aws_conn_id="aws_default").clients
    caller = clients.sts.get_caller_identity()["Arn"]
    assert re.fullmatch(r"arn:aws:sts::123456789012:assumed-role/NovaCustomizationRole/.+", caller)
    assert resolve_execution_role(clients, None) == json.loads(conn)["extra"]["role_arn"]
    raw = clients.s3.get_object(Bucket="my-bucket", Key="raw/support-conversations.jsonl")["Body"].read()
    assert len(raw.decode().splitlines()) == len(demo.RAW_ROWS)


def test_the_demo_prints_the_decision_from_the_decide_tasks_scores() -> None:
    line = demo_script().decision({"metric": "accuracy", "new": 0.61234, "deployed": 0.5, "deploy": True})
    assert line == "accuracy: new 0.6123, deployed 0.5000 -> deployed the new model"
