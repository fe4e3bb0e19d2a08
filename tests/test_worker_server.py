"""The pre-loaded worker server: one process group per worker, exits reported, death detected."""
from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

from report.fonts import find_cjk_font
from report.runner import worker_env
from report.worker import ERROR_FILE, SPEC_FILE
from report.worker_server import ServerDied, WorkerServer, kill


@pytest.fixture
def server(project):
    server = WorkerServer(project.root, find_cjk_font(), worker_env())
    yield server
    server.close()


def worker_dir(project, name: str) -> Path:
    directory = project.root / name
    directory.mkdir()
    spec = {"name": name, "seed": 42, "quick": True, "inputs": {}}
    (directory / SPEC_FILE).write_text(json.dumps(spec), encoding="utf-8")
    return directory


def wait_for_exit(server: WorkerServer, pid: int, timeout: float = 30.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = server.exit_status(pid)
        if status is not None:
            return status
        time.sleep(0.05)
    raise AssertionError(f"worker {pid} never reported its exit")


def test_a_worker_runs_in_its_own_process_group_and_reports_success(project, server):
    project.simple("fine", 1)
    directory = worker_dir(project, "fine")
    pid = server.start(directory)
    assert pid != server.process.pid
    assert wait_for_exit(server, pid) == 0
    assert (directory / "result.json").is_file()


def test_a_failing_experiment_leaves_its_traceback(project, server):
    project.experiment("broken", "def run(ctx):\n    raise ValueError('kaputt')\n")
    directory = worker_dir(project, "broken")
    assert wait_for_exit(server, server.start(directory)) == 1
    assert "ValueError: kaputt" in (directory / ERROR_FILE).read_text(encoding="utf-8")


def test_a_killed_worker_reports_the_signal_and_the_server_goes_on(project, server):
    project.experiment("sleepy", "import time\ndef run(ctx):\n    time.sleep(60)\n")
    pid = server.start(worker_dir(project, "sleepy"))
    time.sleep(0.2)
    assert os.getpgid(pid) == pid  # kill() reaches everything the worker started
    kill(pid)
    assert wait_for_exit(server, pid) == -signal.SIGKILL
    project.simple("after", 1)
    assert wait_for_exit(server, server.start(worker_dir(project, "after"))) == 0


def test_a_dead_server_is_an_error_not_a_hang(project, server):
    project.experiment("sleepy", "import time\ndef run(ctx):\n    time.sleep(60)\n")
    pid = server.start(worker_dir(project, "sleepy"))
    server.process.kill()
    with pytest.raises(ServerDied, match="worker server stopped"):
        wait_for_exit(server, pid)


def test_closing_the_server_stops_its_workers(project, server):
    project.experiment("sleepy", "import time\ndef run(ctx):\n    time.sleep(60)\n")
    pid = server.start(worker_dir(project, "sleepy"))
    server.close()
    deadline = time.monotonic() + 10
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not Path(f"/proc/{pid}").exists()


def test_kill_reaches_a_worker_that_has_no_process_group_of_its_own_yet():
    # A worker killed in the instant after its fork has not called setsid(): killpg alone
    # missed it, and the server then waited on it (the interrupted build that took 11 s).
    import subprocess

    child = subprocess.Popen(["sleep", "60"])  # in the test's process group, not leading one
    with pytest.raises(ProcessLookupError):
        os.killpg(child.pid, 0)
    kill(child.pid)
    assert child.wait(timeout=10) == -signal.SIGKILL
