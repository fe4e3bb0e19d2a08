"""Runs one experiment in a fresh process: `python -m report.worker DIR`.

DIR holds spec.json from the runner. On success the worker leaves the exported SVGs and
result.json in DIR; on failure, error.txt with the traceback and exit status 1. A fresh
process per experiment means a crash, a hang or a leak costs only that experiment.
"""
from __future__ import annotations

import importlib
import json
import os
import sys
import threading
import time
import traceback
from pathlib import Path

SPEC_FILE = "spec.json"
ERROR_FILE = "error.txt"


def run_experiment(directory: Path, started: float) -> None:
    """`started` is the worker's start, so the recorded time includes imports (TensorFlow's seconds)."""
    from report.cache import read_result, write_result
    from report.figures import export_svg, setup_matplotlib
    from report.fonts import CjkFont
    from report.model import Context, validate

    spec = json.loads((directory / SPEC_FILE).read_text(encoding="utf-8"))
    setup_matplotlib(CjkFont(**spec["font"]))
    inputs = {name: read_result(Path(path))[0] for name, path in spec["inputs"].items()}
    ctx = Context(seed=spec["seed"], quick=spec["quick"], inputs=inputs)

    module = importlib.import_module(f"experiments.{spec['name']}")
    result = validate(module.run(ctx), spec["name"])
    for figure in result.figures:
        figure.path = f"{figure.name}.svg"
        export_svg(figure.figure, directory / figure.path)
        figure.figure = None
    write_result(result, directory, time.perf_counter() - started)


def exit_with_parent(poll_seconds: float = 0.5) -> None:
    """If the build process dies (even by SIGKILL), its workers stop too instead of running on."""
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(poll_seconds)
            if os.getppid() != parent:
                os._exit(3)

    threading.Thread(target=watch, daemon=True).start()


def main() -> int:
    started = time.perf_counter()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    exit_with_parent()
    directory = Path(sys.argv[1])
    try:
        run_experiment(directory, started)
    except BaseException:  # noqa: BLE001 - everything is reported, by name, to the runner
        (directory / ERROR_FILE).write_text(traceback.format_exc(), encoding="utf-8")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
