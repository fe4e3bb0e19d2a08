"""Bad command-line input: one line, exit status 2, nothing built."""
from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "build.py", *args], cwd=REPO, capture_output=True, text=True)


@pytest.mark.parametrize("args, fragment", [
    (["--only", "no_such_section"], "unknown section no_such_section; choose from: xor, activations"),
    (["--jobs", "0"], "must be positive"),
    (["--jobs", "many"], "'many' is not a number"),
    (["--timeout", "-1"], "must be positive"),
    (["--frobnicate"], "unrecognized arguments: --frobnicate"),
    (["--serve", "--port", "0"], "must be positive"),
    (["--serve", "--port", "65536"], "a port is at most 65535, got 65536"),
    (["--serve", "--port", "http"], "'http' is not a number"),
    (["--port", "8000"], "--port needs --serve"),
])
def test_bad_arguments_get_one_line_and_status_2(args, fragment, tmp_path):
    result = run_cli(*args, "--out", str(tmp_path / "site"))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0], result.stderr
    assert not (tmp_path / "site").exists()


def test_help_lists_the_sections():
    result = run_cli("--help")
    assert result.returncode == 0
    assert "activations" in result.stdout and "--no-pdf" in result.stdout


def test_a_port_in_use_gets_one_line_and_status_2(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli("--serve", "--port", str(port), "--out", str(tmp_path / "site"))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f"cannot serve on 127.0.0.1:{port}" in lines[0], result.stderr
    assert not (tmp_path / "site").exists()
