"""Runs each experiment in a process of its own, forked from one pre-loaded server.

The runner starts `python -m report.worker FONT_JSON` with the project as working directory.
It imports numpy and matplotlib and sets up the CJK font once (~0.6 s that every experiment
would otherwise pay again), then reads worker directories from stdin, one per line, and forks
a child for each. The child gets its own session and writes its output to DIR/worker.log; on
success it leaves the exported SVGs and result.json in DIR, on failure error.txt with the
traceback and exit status 1. So a crash, a hang or a leak still costs only that experiment.
TensorFlow is not pre-loaded: it is not fork-safe, and only the Keras experiments need it.

The server answers "started PID" for each directory and "exit PID STATUS" when a child ends
(a negative status is the signal that killed it). At the end of its input, when the build has
finished or died, it kills the children still running and exits.
"""
from __future__ import annotations

import importlib
import json
import os
import select
import signal
import sys
import threading
import time
import traceback
from pathlib import Path

from report.fonts import CjkFont
from report.worker_server import kill

SPEC_FILE = "spec.json"
ERROR_FILE = "error.txt"
POLL_SECONDS = 0.05


def preload(font: CjkFont) -> None:
    """Everything each experiment needs before its own code runs, done once before forking."""
    import matplotlib.pyplot as plt
    import scipy.stats  # noqa: F401 - ~1 s that the statistics of §1, §5 and §7 would each pay again
    import sklearn.datasets  # noqa: F401 - ~0.8 s for §5's and §7's data
    import sklearn.model_selection  # noqa: F401

    import report.cache  # noqa: F401 - imported here so that every child inherits it
    from report.figures import setup_matplotlib
    from report.svg_canvas import SvgCanvas

    setup_matplotlib(font)
    fig, ax = plt.subplots()
    SvgCanvas(fig)  # export_svg's canvas: what its renderers share is then shared by every child
    ax.set_title("预热")  # loads the CJK font file once, for every child
    ax.set_yscale("log")  # and builds the mathtext parser of the log axes' labels (~0.15 s each)
    ax.set_ylim(1e-3, 1)
    fig.savefig(os.devnull, format="svg")
    plt.close(fig)


def run_experiment(directory: Path, started: float) -> None:
    """`started` is the child's start: the recorded time includes its imports (TensorFlow's seconds)."""
    from report.cache import read_result, write_result
    from report.figures import export_svg
    from report.model import Context, validate

    spec = json.loads((directory / SPEC_FILE).read_text(encoding="utf-8"))
    inputs = {name: read_result(Path(path))[0] for name, path in spec["inputs"].items()}
    ctx = Context(seed=spec["seed"], quick=spec["quick"], inputs=inputs)

    module = importlib.import_module(f"experiments.{spec['name']}")
    result = validate(module.run(ctx), spec["name"])
    for figure in result.figures:
        figure.path = f"{figure.name}.svg"
        figure.size = export_svg(figure.figure, directory / figure.path)
        figure.figure = None
    write_result(result, directory, time.perf_counter() - started)


def exit_with_parent(poll_seconds: float = 0.5) -> None:
    """If the server dies (it does when the build dies, even by SIGKILL), its children stop too."""
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(poll_seconds)
            if os.getppid() != parent:
                os._exit(3)

    threading.Thread(target=watch, daemon=True).start()


def child(directory: Path) -> int:
    started = time.perf_counter()
    os.setsid()
    null = os.open(os.devnull, os.O_RDONLY)
    log = os.open(directory / "worker.log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    for source, target in ((null, 0), (log, 1), (log, 2)):  # and the server's pipes are closed
        os.dup2(source, target)
    os.close(null)
    os.close(log)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    exit_with_parent()
    try:
        run_experiment(directory, started)
    except BaseException:  # noqa: BLE001 - everything is reported, by name, to the runner
        (directory / ERROR_FILE).write_text(traceback.format_exc(), encoding="utf-8")
        return 1
    return 0


def fork(directory: Path) -> int:
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            code = child(directory)
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    return pid


def answer(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()  # also: nothing buffered is inherited by the next child


def reap(children: set[int]) -> None:
    while children:
        pid, status = os.waitpid(-1, os.WNOHANG)
        if pid == 0:
            return
        children.discard(pid)
        answer(f"exit {pid} {os.waitstatus_to_exitcode(status)}")


def serve(font: CjkFont) -> None:
    preload(font)
    children: set[int] = set()
    pending = b""
    try:
        while True:
            if select.select([0], [], [], POLL_SECONDS)[0]:
                chunk = os.read(0, 4096)
                if not chunk:
                    return
                *lines, pending = (pending + chunk).split(b"\n")
                for line in lines:
                    pid = fork(Path(line.decode()))
                    children.add(pid)
                    answer(f"started {pid}")
            reap(children)
    finally:
        for pid in children:
            kill(pid)
            os.waitpid(pid, 0)


def main() -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the runner decides when to stop
    serve(CjkFont(**json.loads(sys.argv[1])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
