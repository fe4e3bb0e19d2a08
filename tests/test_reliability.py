"""Interruptions, reproducibility, missing system pieces and no network: the old site survives."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from test_pipeline import tree_digest

SLOW_WHEN_ASKED = '''
import os, time
from experiments.helper import VALUE
from report.model import Result
TITLE = "慢"
ORDER = 2
def run(ctx):
    if VALUE == 2:
        time.sleep(120)
    return Result(metrics={"value": VALUE})
'''


def start_build(project, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "build.py", "--out", "site", *args], cwd=project.root,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(project, build: subprocess.Popen, file: str, timeout: float = 60.0) -> None:
    """Until this build's folder for the slow experiment has `file`: spec.json once the runner
    has asked for a worker, worker.log once the worker server has forked it (after its preload,
    which takes seconds on a loaded machine)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if list((project.root / ".cache" / "results").glob(f"slow-*.tmp-{build.pid}/{file}")):
            return
        time.sleep(0.02)
    raise AssertionError(f"the slow experiment's {file} never appeared")


def workers_alive(project) -> list[int]:
    alive = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmd = (proc / "cmdline").read_bytes().split(b"\0")
                cwd = Path(os.readlink(proc / "cwd"))
            except OSError:
                continue
            if b"report.worker" in cmd and cwd == project.root:  # the worker server and its children
                alive.append(int(proc.name))
    return alive


@pytest.fixture
def built_cli(cli_project):
    cli_project.simple("fast", 1)
    cli_project.experiment("slow", SLOW_WHEN_ASKED)
    cli_project.template("slow", "<p>{{ m.value }}</p>")
    done = subprocess.run([sys.executable, "build.py", "--out", "site", "--no-pdf"], cwd=cli_project.root,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    (cli_project.root / "experiments" / "helper.py").write_text("VALUE = 2\n")
    return cli_project


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
def test_an_interrupted_build_keeps_the_site_and_the_cache_usable(built_cli, sig):
    project = built_cli
    before = tree_digest(project.root / "site")
    build = start_build(project, "--no-pdf")
    wait_for(project, build, "worker.log")
    time.sleep(0.5)  # into run()
    assert len(workers_alive(project)) >= 2, "the worker server and the slow experiment's worker at least"
    build.send_signal(sig)
    build.wait(timeout=20)
    if sig == signal.SIGINT:
        assert build.returncode == 130
        assert "previous site is unchanged" in build.stderr.read()
    deadline = time.monotonic() + 5
    while workers_alive(project) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not workers_alive(project), "workers must not outlive the build"
    assert tree_digest(project.root / "site") == before
    (project.root / "experiments" / "helper.py").write_text("VALUE = 3\n")
    again = subprocess.run([sys.executable, "build.py", "--out", "site", "--no-pdf"], cwd=project.root,
                           capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert not list((project.root / ".cache" / "results").glob("*.tmp-*")), "abandoned worker folders are removed"
    assert not list(project.root.glob(".site.*"))


def test_ctrl_c_while_the_worker_server_starts_leaves_no_worker(built_cli):
    """The signal arrives while the server is still loading numpy and matplotlib, with a
    worker already asked for: that worker must not outlive the build either."""
    project = built_cli
    before = tree_digest(project.root / "site")
    build = start_build(project, "--no-pdf")
    wait_for(project, build, "spec.json")
    build.send_signal(signal.SIGINT)
    build.wait(timeout=60)
    assert build.returncode == 130, build.stderr.read()
    deadline = time.monotonic() + 5
    while workers_alive(project) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not workers_alive(project), "workers must not outlive the build"
    assert tree_digest(project.root / "site") == before


def test_two_clean_builds_are_byte_identical(project, tmp_path):
    project.experiment("plot", '''
        import matplotlib.pyplot as plt
        import numpy as np
        from report.model import Figure, Result
        TITLE = "作图"
        ORDER = 1
        def run(ctx):
            fig, ax = plt.subplots()
            ax.plot(np.random.default_rng(ctx.seed).normal(size=50))
            ax.set_title("随机游走")
            return Result(figures=[Figure("f", fig, "图题", "说明")], metrics={"x": 0.25})
    ''')
    project.template("plot", '{{ figure("f") }}{{ tex(r"\\frac{1}{2}") }}<p><b>粗体</b> {{ m.x | pct }}</p>')
    project.build(out=tmp_path / "a", pdf=True)
    shutil.rmtree(project.root / ".cache")
    project.build(out=tmp_path / "b", pdf=True)
    assert tree_digest(tmp_path / "a") == tree_digest(tmp_path / "b")
    assert (tmp_path / "a" / "handout.pdf").stat().st_size > 0


def test_missing_harfbuzz_subsetter_warns_with_the_install_hint(tmp_path, monkeypatch):
    from weasyprint.text import ffi

    from report.pdf import PartRenderer

    monkeypatch.setattr(ffi, "harfbuzz_subset", None)
    with pytest.warns(UserWarning, match="libharfbuzz-subset0"), PartRenderer(tmp_path, tmp_path / "cache", 1) as parts:
        parts.render(['<html lang="zh-CN"><p>中文</p></html>'])


def test_the_build_needs_no_network(cli_project):
    if shutil.which("unshare") is None or subprocess.run(["unshare", "-rn", "true"]).returncode != 0:
        pytest.skip("cannot create a network namespace here (unshare -rn)")
    cli_project.simple("fast", 1)
    result = subprocess.run(["unshare", "-rn", sys.executable, "build.py", "--out", "site"],
                            cwd=cli_project.root, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert (cli_project.root / "site" / "handout.pdf").stat().st_size > 0


BROKEN = {
    "raises": ("def run(ctx):\n    raise RuntimeError('boom')\n", "RuntimeError: boom"),
    "hangs": ("import time\ndef run(ctx):\n    time.sleep(300)\n", "timed out after 3 s"),
    "malformed": ("def run(ctx):\n    return {'metrics': 1}\n", "returned dict, expected Result"),
    "killed": ("import os, signal\ndef run(ctx):\n    os.kill(os.getpid(), signal.SIGKILL)\n", "SIGKILL"),
}


@pytest.mark.parametrize("kind", BROKEN)
def test_a_broken_experiment_is_named_others_finish_and_the_site_is_untouched(cli_project, kind):
    cli_project.simple("fast", 1)
    first = subprocess.run([sys.executable, "build.py", "--out", "site"], cwd=cli_project.root,
                           capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    before = tree_digest(cli_project.root / "site")
    body, message = BROKEN[kind]
    cli_project.experiment("broken", f'TITLE = "坏"\nORDER = 2\n{body}')
    cli_project.template("broken", "<p>x</p>")
    (cli_project.root / "experiments" / "helper.py").write_text("VALUE = 5\n")  # fast must run again
    result = subprocess.run([sys.executable, "build.py", "--out", "site", "--timeout", "3"],
                            cwd=cli_project.root, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "broken" in result.stderr and message in result.stderr, result.stderr
    assert "ran      fast" in result.stderr, "the healthy experiment still finished"
    assert tree_digest(cli_project.root / "site") == before


def test_a_missing_pango_stops_the_build_before_any_experiment_runs(project, monkeypatch):
    import ctypes.util

    from report.pdf import MissingLibraryError

    real_find = ctypes.util.find_library
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: None if "pango" in name else real_find(name))
    project.simple("fast", 1)
    with pytest.raises(MissingLibraryError, match="libpango-1.0, libpangoft2-1.0.*libpangoft2-1.0-0"):
        project.build(pdf=True)
    assert not (project.root / ".cache" / "results").exists(), "nothing ran before the check"
    assert project.build(pdf=False).outcomes[0].status == "ran"  # --no-pdf needs no Pango


def test_the_pdf_library_check_finds_what_weasyprint_loads():
    from report.pdf import check_pdf_libraries

    check_pdf_libraries()  # this machine has them all; the names are the ones WeasyPrint asks for
    import weasyprint  # noqa: F401
