#!/usr/bin/env python3
"""Benchmark `build.py --serve`: from saving a section template to the new text painted in the tab.

In a scratch copy of the project (with a copy of this one's .cache, so no experiment runs),
starts the preview server, opens the page in headless Chromium and saves a section template
`--edits` times, each time adding a marked paragraph. A script in the page notes the time of
the first animation frame after the one that drew the paragraph; the latency is that minus the
moment before the file was written (browser and benchmark read the same clock). The PDF
following is timed from the same moment to the server's event saying it is done. Each edit waits
for the PDF of the one before, so every edit is timed alone; supersession is the tests' business.

`preview_section()` returns the Markdown section bench/run.py puts in bench/results.md;
`python bench/preview.py` prints it.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
EDITED_TEMPLATE = "templates/sections/activations.html"
PROJECT_PARTS = ("build.py", "report", "experiments", "templates", ".cache")
PUBLISHED = re.compile(r"page published ([\d.]+) s after the change \(builder ([\d.]+) s CPU")
PAINTED = """
(() => {
  let seen = null;  // the newest mark: the tab swaps sections in without reloading, so keep looking
  const look = () => {
    const marks = document.querySelectorAll("[data-bench-mark]");
    const mark = marks.length ? marks[marks.length - 1].dataset.benchMark : null;
    if (mark !== null && mark !== seen) {
      seen = mark;
      requestAnimationFrame(() => { window.__painted = {mark, at: Date.now()}; });
    }
    requestAnimationFrame(look);
  };
  requestAnimationFrame(look);
})();
"""


@dataclass
class PreviewTimes:
    page: list[float] = field(default_factory=list)  # save -> new text painted, seconds
    server: list[float] = field(default_factory=list)  # change seen -> page published (the server's log)
    browser: list[float] = field(default_factory=list)  # the new version announced -> new text painted
    reloads: int = 0  # edits the tab took by reloading the page rather than swapping in the section
    cpu: list[float] = field(default_factory=list)  # the builder's CPU seconds for the page
    pdf: list[float] = field(default_factory=list)  # save -> the handout PDF rebuilt and swapped in
    first_build: float = 0.0  # start of the server -> first page published (cached experiments)
    load: list[float] = field(default_factory=list)  # the 1-minute load average before and after


class Events:
    """The server's event stream, read in a thread: each state with the time it arrived."""

    def __init__(self, url: str):
        self.states: list[tuple[float, dict]] = []
        self.changed = threading.Condition()
        threading.Thread(target=self._read, args=(url,), daemon=True).start()

    def _read(self, url: str) -> None:
        with urllib.request.urlopen(url) as stream:
            for raw in stream:
                line = raw.decode().rstrip("\n")
                if line.startswith("data: "):
                    with self.changed:
                        self.states.append((time.time(), json.loads(line[6:])))
                        self.changed.notify_all()

    def wait(self, test, after: float, timeout: float) -> tuple[float, dict]:
        """The first state after `after` (epoch seconds) that passes `test`."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                found = [(t, s) for t, s in self.states if t >= after and test(s)]
                if found:
                    return found[0]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no matching server state within {timeout} s; last: {self.states[-1:]}")
                self.changed.wait(left)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def copy_project(target: Path) -> None:
    for part in PROJECT_PARTS:
        source = REPO / part
        if source.is_dir():
            shutil.copytree(source, target / part, ignore=shutil.ignore_patterns("__pycache__"))
        elif source.is_file():
            shutil.copy2(source, target / part)


def measure(edits: int = 5, timeout: float = 300.0) -> PreviewTimes:
    from playwright.sync_api import sync_playwright

    times = PreviewTimes(load=[os.getloadavg()[0]])
    with tempfile.TemporaryDirectory(prefix="nn-lecture-preview-") as tmp:
        project = Path(tmp) / "project"
        project.mkdir()
        copy_project(project)
        port = free_port()
        started = time.time()
        log = Path(tmp) / "serve.log"
        server = subprocess.Popen([sys.executable, "build.py", "--serve", "--port", str(port)], cwd=project,
                                  stdout=subprocess.DEVNULL, stderr=log.open("w"),
                                  env=dict(os.environ, PYTHONHASHSEED="0"))
        try:
            url = f"http://127.0.0.1:{port}/"
            events = _connect(url, server, timeout)
            published, _ = events.wait(lambda s: not s["version"].endswith("-0"), started, timeout)
            times.first_build = published - started
            events.wait(lambda s: s["status"] == "idle", published, timeout)
            template = project / EDITED_TEMPLATE
            original = template.read_text(encoding="utf-8")
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
                page = browser.new_page()
                page.add_init_script(PAINTED)
                page.goto(url)
                loads = []
                page.on("load", lambda _: loads.append(1))
                version = events.states[-1][1]["version"]
                for n in range(1, edits + 1):
                    time.sleep(0.5)  # apart from the last edit: each is timed on its own
                    saved = time.time()
                    template.write_text(original + f'\n<p data-bench-mark="{n}">基准测试修改 {n}。</p>\n',
                                        encoding="utf-8")
                    page.wait_for_selector(f'[data-bench-mark="{n}"]', state="attached", timeout=timeout * 1000)
                    painted = page.wait_for_function(
                        f"() => window.__painted && window.__painted.mark === '{n}' && window.__painted",
                        timeout=timeout * 1000).json_value()
                    announced, state = events.wait(lambda s: s["version"] != version, saved, timeout)
                    version = state["version"]
                    times.page.append(painted["at"] / 1000 - saved)
                    times.browser.append(painted["at"] / 1000 - announced)
                    done, _ = events.wait(lambda s: s["status"] == "idle" and s["error"] is None, saved, timeout)
                    times.pdf.append(done - saved)
                times.reloads = len(loads)
                browser.close()
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(timeout=60)
            published = PUBLISHED.findall(log.read_text(encoding="utf-8"))
            times.server, times.cpu = [float(w) for w, _ in published], [float(c) for _, c in published]
    times.load.append(os.getloadavg()[0])
    return times


def _connect(url: str, server: subprocess.Popen, timeout: float) -> Events:
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=5).close()
            return Events(url + "__preview/events")
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"build.py --serve did not start (status {server.poll()})") from None
            time.sleep(0.2)


def markdown(times: PreviewTimes) -> str:
    page, pdf = statistics.median(times.page), statistics.median(times.pdf)
    return "\n".join([
        "## Live preview (`build.py --serve`)", "",
        f"Saving `{EDITED_TEMPLATE}` with a new paragraph, {len(times.page)} times, each once the PDF of the one "
        "before had followed; seconds from the save (watchfiles sees it, the builder re-renders the page from "
        "the results it kept, the tab fetches the page and swaps in the section that changed) to the first frame "
        f"after the one that painted the new text, and to the handout PDF rebuilt in the background. The tab "
        f"reloaded the whole page for {times.reloads} of the {len(times.page)} edits. {os.cpu_count()} cores; 1-minute load average "
        f"{times.load[0]:.1f} before, {times.load[-1]:.1f} after (other work on the machine slows every part).", "",
        "| measure | median s | runs |", "| --- | ---: | --- |",
        f"| save → new text painted | {page:.2f} | {', '.join(f'{x:.2f}' for x in times.page)} |",
        f"| of which: change seen → page published (server) | {statistics.median(times.server):.2f} | "
        f"{', '.join(f'{x:.2f}' for x in times.server)} |",
        f"| builder CPU for the page | {statistics.median(times.cpu):.2f} | {', '.join(f'{x:.2f}' for x in times.cpu)} |",
        f"| of which: new version announced → new text painted (browser) | {statistics.median(times.browser):.2f} | "
        f"{', '.join(f'{x:.2f}' for x in times.browser)} |",
        f"| save → PDF followed | {pdf:.2f} | {', '.join(f'{x:.2f}' for x in times.pdf)} |",
        f"| start → first page (experiments cached) | {times.first_build:.2f} | |", "",
    ])


def preview_section(edits: int = 5) -> str:
    """For bench/run.py: the Markdown section with the medians."""
    return markdown(measure(edits))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--edits", type=int, default=5, help="template saves to time (default 5)")
    args = parser.parse_args()
    print(preview_section(args.edits))
    return 0


if __name__ == "__main__":
    sys.exit(main())
