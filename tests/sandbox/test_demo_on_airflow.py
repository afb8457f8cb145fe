"""``make demo``: the weekly retraining DAG in a real Airflow 3 on the stand-in, then Ctrl-C stops everything."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

from airflow_provider_nova.sandbox.airflow_stack import free_port

UI_LINE = re.compile(r"^Airflow UI: (http://127\.0\.0\.1:(\d+))  \(user admin, password (\S+)\)$")


def _lines_of(process: subprocess.Popen[str]) -> queue.Queue[str | None]:
    """The process's output lines as they come (None at its end)."""
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    return lines


def _read_until(lines: queue.Queue[str | None], pattern: re.Pattern[str], seen: list[str], timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            break
        if line is None:
            break
        seen.append(line)
        if pattern.match(line):
            return line
    shown = "\n".join(seen[-80:])
    raise AssertionError(f"no line matching {pattern.pattern!r}; the demo printed:\n{shown}")


def _login(url: str, password: str) -> str:
    body = json.dumps({"username": "admin", "password": password}).encode()
    request = urllib.request.Request(
        f"{url}/auth/token", data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return str(json.loads(response.read())["access_token"])


def test_the_demo_runs_the_dag_to_success_keeps_the_ui_up_and_stops_everything_on_ctrl_c(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "AIRFLOW"))}
    port = free_port()
    home = tmp_path / "airflow"
    demo = subprocess.Popen(
        [sys.executable, "-m", "airflow_provider_nova.sandbox.demo", "--home", str(home), "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, start_new_session=True,
    )  # fmt: skip
    seen: list[str] = []
    lines = _lines_of(demo)
    started: list[psutil.Process] = []
    try:
        ui = UI_LINE.match(_read_until(lines, UI_LINE, seen, timeout=240))
        assert ui is not None
        started = psutil.Process(demo.pid).children(recursive=True)
        components = {_component(p) for p in started}
        listening = {
            (c.laddr.ip, c.laddr.port)
            for p in started
            for c in _connections(p)
            if c.status == psutil.CONN_LISTEN
        }  # fmt: skip
        token = _login(ui.group(1), ui.group(3))  # the printed login works
        demo.send_signal(signal.SIGINT)
        code = demo.wait(timeout=120)
    finally:
        _kill_if_left(demo, started)
    seen.extend(iter(lambda: lines.get(timeout=10), None))  # type: ignore[arg-type]
    out = "\n".join(seen)

    assert code == 0, out
    assert int(ui.group(2)) == port and token
    assert re.search(
        r"^Run manual__\S+ succeeded in \d+ s: accuracy: fine-tuned 0\.\d{4} vs deployed 0\.\d{4}", out, re.M
    )
    changes = re.findall(r"^\d\d:\d\d:\d\d  (\w+) +(\w+)", out, re.M)
    assert ("prepare", "running") in changes and ("prepare", "success") in changes
    assert ("batch_inference", "success") in changes
    assert re.search(
        r"^\d\d:\d\d:\d\d  train +deferred +waiting in the triggerer \(no worker slot held\) "
        r"on SageMaker training job nova-\S+$",
        out,
        re.M,
    ), out
    assert "Stopped Airflow and the stand-in." in out
    # the api-server, scheduler, dag-processor, triggerer and what they started: none is left, and
    # every server among them listened on loopback only
    assert {"api-server", "scheduler", "dag-processor", "triggerer"} <= components, components
    assert listening and {ip for ip, _ in listening} == {"127.0.0.1"}, listening
    assert [p.pid for p in started if p.is_running() and p.status() != psutil.STATUS_ZOMBIE] == []
    assert (home / "logs" / "dag_id=nova_weekly_retraining").is_dir()  # the home asked for, not the repo's .demo


def _kill_if_left(demo: subprocess.Popen[str], started: list[psutil.Process]) -> None:
    """A failed test leaves nothing behind: the demo, then the Airflow services (own sessions) it started."""
    if demo.poll() is None:
        with contextlib.suppress(psutil.Error):
            started = [*started, *psutil.Process(demo.pid).children(recursive=True)]
        demo.send_signal(signal.SIGINT)  # the demo's own clean-up first
        try:
            demo.wait(timeout=90)
        except subprocess.TimeoutExpired:
            os.killpg(demo.pid, signal.SIGKILL)
            demo.wait()
    for process in started:
        with contextlib.suppress(psutil.Error, ProcessLookupError):
            if process.is_running():
                os.killpg(os.getpgid(process.pid), signal.SIGKILL)


def _component(process: psutil.Process) -> str | None:
    """Which Airflow service ``process`` runs (the api-server renames itself ``airflow api_server -- ...``)."""
    try:
        command = " ".join(process.cmdline())
    except psutil.Error:
        return None
    found = re.search(r"\bairflow (api[-_]server|scheduler|dag-processor|triggerer)\b", command)
    return found.group(1).replace("_", "-") if found else None


def _connections(process: psutil.Process) -> list[object]:
    try:
        return list(process.net_connections(kind="inet"))
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return []


def test_the_demo_refuses_a_home_it_did_not_make(tmp_path: Path) -> None:
    from airflow_provider_nova.sandbox.demo import fresh_home

    (tmp_path / "mine.txt").write_text("keep me")
    with pytest.raises(SystemExit, match="not empty and was not made by the demo"):
        fresh_home(tmp_path)
    assert (tmp_path / "mine.txt").read_text() == "keep me"


def test_a_second_demo_home_replaces_the_first(tmp_path: Path) -> None:
    from airflow_provider_nova.sandbox.demo import DAG_FILE, fresh_home

    home = tmp_path / "airflow"
    fresh_home(home)
    (home / "airflow.db").write_bytes(b"the previous demo's runs")
    dags = fresh_home(home)
    assert sorted(p.name for p in dags.iterdir()) == [DAG_FILE]
    assert not (home / "airflow.db").exists()


def test_two_demos_never_share_a_home(tmp_path: Path) -> None:
    from airflow_provider_nova.sandbox.demo import home_lock

    with (
        home_lock(tmp_path / "airflow"),
        pytest.raises(SystemExit, match="another demo is running"),
        home_lock(tmp_path / "airflow"),
    ):
        pass


def test_the_ui_port_is_8080_unless_taken_and_an_asked_port_must_be_free(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    from airflow_provider_nova.sandbox import demo

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(SystemExit, match=f"port {port} on 127.0.0.1 is taken"):
            demo.ui_port(port)
        monkeypatch.setattr(demo, "PREFERRED_PORT", port)
        fallback = demo.ui_port(None)
        assert fallback != port and fallback > 0
    assert demo.ui_port(None) == port  # free again: preferred
