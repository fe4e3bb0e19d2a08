"""`build.py --serve`: merging saves, the injected script, the server, and the preview end to end."""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

from report.preview_builder import (error_of_exception, interrupt_again, publish_html, remove_leftovers,
                                    template_excerpt)
from report.preview_server import Hub, PreviewServer, inject
from report.serve import Batcher, areas

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ROOT = Path(__file__).resolve().parents[1]


# --- merging saves ------------------------------------------------------------------------

def builds_for(saves: list[float], build_seconds: float, quiet: float = 0.3) -> list[set[str]]:
    """Drive a Batcher with saves at the given times and builds of the given length; what each build took."""
    batcher, builds, busy_until = Batcher(quiet=quiet), [], None
    events = sorted((t, f"save {i}") for i, t in enumerate(saves))
    now = 0.0
    while now < max(saves) + 10 * (quiet + build_seconds):
        while events and events[0][0] <= now:
            batcher.add({events.pop(0)[1]}, now)
        if busy_until is not None and now >= busy_until:
            batcher.finish()
            busy_until = None
        if batcher.due_in(now) == 0.0:
            builds.append(batcher.start())
            busy_until = now + build_seconds
        now = round(now + 0.01, 2)
    return builds


def test_a_save_after_a_quiet_spell_is_built_at_once():
    batcher = Batcher(quiet=0.3)
    assert batcher.due_in(5.0) is None
    batcher.add({"a.html"}, 5.0)
    assert batcher.due_in(5.0) == 0.0
    assert batcher.start() == {"a.html"} and batcher.due_in(5.0) is None


@pytest.mark.parametrize("build_seconds", [0.05, 0.2, 0.5, 0.8, 2.0])
def test_five_saves_in_a_second_build_once_or_twice(build_seconds):
    builds = builds_for([0.0, 0.25, 0.5, 0.75, 1.0], build_seconds)
    assert 1 <= len(builds) <= 2, builds
    assert set().union(*builds) == {f"save {i}" for i in range(5)}, "every save is built"


def test_saves_during_a_build_wait_for_it_and_then_go_together():
    batcher = Batcher(quiet=0.3)
    batcher.add({"a"}, 0.0)
    batcher.start()
    batcher.add({"b"}, 0.1)
    batcher.add({"c"}, 0.2)
    assert batcher.due_in(0.25) is None, "nothing starts while a page is being built"
    batcher.finish()
    assert batcher.due_in(0.3) == pytest.approx(0.2), "quiet since the last save, then build"
    assert batcher.due_in(0.6) == 0.0
    assert batcher.start() == {"b", "c"}


def test_areas_name_the_watched_folders(tmp_path):
    paths = {str(tmp_path / "templates" / "sections" / "a.html"), str(tmp_path / "report" / "render.py"),
             str(tmp_path / "elsewhere.txt"), "/outside/experiments/x.py"}
    assert areas(paths, tmp_path) == {"templates", "report"}


# --- the injected script ------------------------------------------------------------------

def test_the_script_goes_before_the_last_body_end():
    page = b"<html><body><p>x</p><pre>&lt;/body&gt;</pre></body>\n</html>\n"
    out = inject(page, "7-3")
    assert out.startswith(b"<html><body><p>x</p><pre>&lt;/body&gt;</pre><script>")
    assert out.endswith(b"</script>\n</body>\n</html>\n")
    assert b'var served = "7-3";' in out and b"EventSource" in out
    assert inject(b"<p>no body</p>", "1").startswith(b"<p>no body</p><script>")


@pytest.fixture
def served_site(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<!DOCTYPE html><html><body><p>页面</p></body></html>\n", encoding="utf-8")
    (site / "style.css").write_text("p { color: red }\n")
    hub = Hub("test-0")
    server = PreviewServer(site, 0, hub)
    server.start()
    yield site, server, hub
    server.stop()


def test_the_server_injects_only_into_what_it_sends(served_site):
    site, server, hub = served_site
    before = (site / "index.html").read_bytes()
    with urllib.request.urlopen(server.url) as response:
        page = response.read()
        assert response.headers["Content-Type"] == "text/html; charset=utf-8"
        assert int(response.headers["Content-Length"]) == len(page)
    assert b"<p>\xe9\xa1\xb5\xe9\x9d\xa2</p><script>" in page and b'var served = "test-0";' in page
    assert (site / "index.html").read_bytes() == before, "never written into the site"
    with urllib.request.urlopen(server.url + "style.css") as response:
        assert response.read() == b"p { color: red }\n"
        assert response.headers["Cache-Control"] == "no-cache"


def test_the_event_stream_sends_the_state_and_every_change(served_site):
    site, server, hub = served_site
    with urllib.request.urlopen(server.url + "__preview/events", timeout=10) as stream:
        def next_state() -> dict:
            for raw in stream:
                if raw.startswith(b"data: "):
                    return json.loads(raw[6:])
        assert next_state() == {"version": "test-0", "error": None, "status": "idle", "patch": None}
        assert hub.update(error={"title": "t", "text": "x"}) == 1
        assert next_state()["error"] == {"title": "t", "text": "x"}


def test_a_missing_site_gets_a_page_that_waits_for_the_first_build(served_site):
    site, server, hub = served_site
    shutil.rmtree(site)
    with urllib.request.urlopen(server.url) as response:
        page = response.read().decode()
    assert "还没有构建成功的页面" in page and "EventSource" in page
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(server.url + "other.html")


# --- the builder's pieces -----------------------------------------------------------------

def test_the_page_is_published_with_the_last_pdfs_and_notebooks(tmp_path):
    out, staging = tmp_path / "site", tmp_path / ".site.tmp-1"
    out.mkdir()
    (out / ".nojekyll").write_bytes(b"")
    (out / "index.html").write_text("old")
    (out / "handout.pdf").write_bytes(b"%PDF old")
    (out / "notebooks").mkdir()
    (out / "notebooks" / "01-a.ipynb").write_text("{}")
    staging.mkdir()
    (staging / ".nojekyll").write_bytes(b"")
    (staging / "index.html").write_text("new")
    (staging / "figures").mkdir()
    (staging / "figures" / "a.svg").write_text("<svg/>")
    replaced = publish_html(staging, out)
    assert (out / "index.html").read_text() == "new" and (out / "handout.pdf").read_bytes() == b"%PDF old"
    assert (out / "notebooks" / "01-a.ipynb").read_text() == "{}", "the notebooks follow like the PDFs"
    assert (replaced / "index.html").read_text() == "old", "the replaced site, for the caller to delete"
    shutil.rmtree(replaced)
    assert (out / "figures" / "a.svg").stat().st_ino == (staging / "figures" / "a.svg").stat().st_ino, "linked"
    assert (staging / "index.html").read_text() == "new", "the build goes on from its staging folder"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".site.tmp-1", "site"]


def test_what_a_stopped_build_left_beside_the_site_is_removed(tmp_path):
    mine = [tmp_path / f".site.{what}-{os.getpid()}" for what in ("tmp", "old", "preview", "replaced")]
    for folder in mine + [tmp_path / "site", tmp_path / ".site.tmp-1", tmp_path / f".other.tmp-{os.getpid()}"]:
        folder.mkdir()
        (folder / "index.html").write_text("x")
    remove_leftovers(tmp_path / "site")
    assert sorted(p.name for p in tmp_path.iterdir()) == [f".other.tmp-{os.getpid()}", ".site.tmp-1", "site"], \
        "only this builder's folders of this site"


def test_a_template_error_shows_the_template_lines(tmp_path):
    template = tmp_path / "templates" / "sections" / "a.html"
    template.parent.mkdir(parents=True)
    template.write_text("one\ntwo\n{{ m.nope }}\nfour\n", encoding="utf-8")
    message = "templates/sections/a.html, line 3: a: metric 'nope' is not defined (known: value)"
    assert template_excerpt(message, tmp_path) == (
        "templates/sections/a.html:\n     1 | one\n     2 | two\n>    3 | {{ m.nope }}\n     4 | four")
    try:
        raise ValueError(message)
    except ValueError as exc:
        error = error_of_exception(exc, tmp_path)
    assert error["title"] == message
    assert ">    3 | {{ m.nope }}" in error["text"] and "Traceback" in error["text"]


def test_an_interrupt_a_finalizer_swallowed_is_raised_again(monkeypatch):
    """Python prints and drops an exception raised in __del__; a PDF stage interrupted there would
    run on. The builder's unraisable hook sends the signal again."""
    class Interrupted(Exception):
        pass

    class Finalizer:
        def __del__(self):
            raise KeyboardInterrupt

    def handler(signum, frame):
        raise Interrupted

    monkeypatch.setattr(sys, "unraisablehook", interrupt_again)
    previous = signal.signal(signal.SIGINT, handler)
    try:
        with pytest.raises(Interrupted):
            Finalizer()  # collected at once: its KeyboardInterrupt goes to the hook
            time.sleep(5)
    finally:
        signal.signal(signal.SIGINT, previous)


# A package like WeasyPrint: html.py imports layout.py, which keeps a reference to html (a circular
# import) and finishes; html.py then takes a moment to finish itself.
CIRCULAR_PACKAGE = {
    "__init__.py": "from .html import handle_element\nfrom .layout import lay_out\n",
    "html.py": "import time\nfrom . import layout\ntime.sleep(0.5)\n\ndef handle_element():\n    return 'handled'\n",
    "layout.py": "from . import html\n\ndef lay_out():\n    return html.handle_element()\n",
}
INTERRUPTED_IMPORT = """
import os, signal, sys, threading, time
sys.path.insert(0, sys.argv[1])
if sys.argv[2] == "handler":
    from report.preview_builder import interrupt_between_imports
    signal.signal(signal.SIGINT, interrupt_between_imports)
threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT)).start()  # during html.py's sleep
try:
    import circular
    time.sleep(5)  # a deferred interrupt comes here
except KeyboardInterrupt:
    pass
import circular
print(circular.lay_out())
"""


@pytest.mark.parametrize("handler", ["handler", "default"])
def test_an_interrupt_waits_until_the_import_under_way_is_done(tmp_path, handler):
    """The builder stops a stale PDF with SIGINT, and the first PDF after an edit imports WeasyPrint:
    cut short, the import left a module holding the half-made one, and every later build failed."""
    (tmp_path / "circular").mkdir()
    for name, text in CIRCULAR_PACKAGE.items():
        (tmp_path / "circular" / name).write_text(text, encoding="utf-8")
    run = subprocess.run([sys.executable, "-c", INTERRUPTED_IMPORT, str(tmp_path), handler], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    if handler == "handler":
        assert run.returncode == 0 and run.stdout == "handled\n", run.stderr
    else:  # the failure it prevents
        assert "module 'circular.html' has no attribute 'handle_element'" in run.stderr, run.stderr


# --- end to end ---------------------------------------------------------------------------

from test_reliability import SLOW_WHEN_ASKED  # noqa: E402 - an experiment that hangs when asked to



def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Served:
    """`build.py --serve` running in a scratch project, its output collected line by line."""

    def __init__(self, root: Path, *args: str):
        self.root, self.port = root, free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.process = subprocess.Popen([sys.executable, "build.py", "--serve", "--port", str(self.port), *args],
                                        cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: list[str] = []
        threading.Thread(target=lambda: self.lines.extend(self.process.stdout), daemon=True).start()

    def log(self) -> str:
        return "".join(self.lines)

    def wait_for_log(self, text: str, count: int = 1, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while self.log().count(text) < count:
            assert self.process.poll() is None, f"the server stopped:\n{self.log()}"
            assert time.monotonic() < deadline, f"{text!r} x{count} never appeared in:\n{self.log()}"
            time.sleep(0.05)

    def processes(self) -> list[psutil.Process]:
        """The server and everything it started, the builder's session included."""
        return [psutil.Process(self.process.pid)] + psutil.Process(self.process.pid).children(recursive=True)

    def interrupt(self) -> int:
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=60)

    def kill(self) -> None:
        if self.process.poll() is None:
            for proc in reversed(self.processes()):
                proc.kill()


def gone(processes: list[psutil.Process], timeout: float = 10.0) -> list[psutil.Process]:
    """Those still running after `timeout` (zombies of the server's own children count as gone)."""
    deadline = time.monotonic() + timeout
    while True:
        alive = [p for p in processes if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.1)


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


SWAPPED_PAGE = """<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><script src="site.js" defer></script>
</head><body><nav class="toc"><a href="#a">A</a><a href="#b">B</a></nav><main>
<section id="a" class="section level-1"><h2>A</h2><div style="height:3000px">{a}</div></section>
<section id="b" class="section level-1"><h2>B</h2><figure class="listing"><figcaption>代码</figcaption>
<div class="highlight"><pre>{code}</pre></div></figure></section>
</main></body></html>
"""


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (make test installs it)")
def test_the_tab_swaps_in_changed_sections_and_reloads_otherwise(served_site, browser):
    site, server, hub = served_site
    shutil.copyfile(Path(__file__).parent.parent / "templates" / "static" / "site.js", site / "site.js")
    (site / "index.html").write_text(SWAPPED_PAGE.format(a="一", code="old()"), encoding="utf-8")
    page = browser.new_page()
    page.goto(server.url)
    page.wait_for_selector("#b button.copy")
    page.evaluate("window.stayed = true; window.scrollTo(0, 400)")

    (site / "index.html").write_text(SWAPPED_PAGE.format(a="一", code="new()"), encoding="utf-8")
    hub.update(version="test-1", patch={"from": "test-0", "pages": {"index.html": ["b"]}})
    page.wait_for_selector("text=new()", timeout=10_000)
    assert page.evaluate("window.stayed") is True, "swapped in, not reloaded"
    assert page.evaluate("window.scrollY") == 400, "the reader's place is kept"
    assert page.locator("#b button.copy").count() == 1, "site.js enhanced the new section"

    (site / "index.html").write_text(SWAPPED_PAGE.format(a="二", code="new()"), encoding="utf-8")
    hub.update(version="test-2", patch={"from": "test-0", "pages": {"index.html": ["a"]}})
    page.wait_for_selector("text=二", timeout=10_000)
    assert page.evaluate("window.stayed") is None, "a patch from a version the tab does not show: reloaded"
    page.evaluate("window.stayed = true")

    (site / "index.html").write_text(SWAPPED_PAGE.format(a="三", code="new()"), encoding="utf-8")
    hub.update(version="test-3", patch=None)
    page.wait_for_selector("text=三", timeout=10_000)
    assert page.evaluate("window.stayed") is None, "no patch: reloaded"


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (make test installs it)")
def test_the_open_tab_follows_edits_errors_and_fixes(cli_project, browser):
    project = cli_project
    project.simple("alpha", 1, title="第一节")
    served = Served(project.root)
    try:
        served.wait_for_log("PDF done")
        page = browser.new_page()
        page.goto(served.url)
        page.wait_for_selector("text=数值 1")
        first_pdf = (project.root / "site" / "handout.pdf").read_bytes()

        page.evaluate("window.stayed = true")
        project.template("alpha", "<p>改过的文字 {{ m.value }}</p>\n")
        page.wait_for_selector("text=改过的文字 1", timeout=30_000)  # the tab followed by itself
        assert page.evaluate("window.stayed") is True, "the section was swapped in, the page not reloaded"
        assert "swap alpha in index.html" in served.log()
        site_page = (project.root / "site" / "index.html").read_text(encoding="utf-8")
        assert "改过的文字" in site_page and "EventSource" not in site_page, "the script is only served"

        project.template("alpha", "<p>改过的文字</p>\n<p>{{ m.nope }}</p>\n")
        error = page.wait_for_selector("#preview-error", timeout=30_000)
        shown = error.inner_text()
        assert "templates/sections/alpha.html, line 2" in shown and "'nope'" in shown, shown
        assert ">    2 | <p>{{ m.nope }}</p>" in shown, "the template's lines"
        assert page.locator("text=改过的文字 1").count() == 1, "the last good page stays under the error"
        assert "改过的文字 1" in (project.root / "site" / "index.html").read_text(encoding="utf-8")

        project.template("alpha", "<p>修好了 {{ m.value }}</p>\n")
        page.wait_for_selector("text=修好了 1", timeout=30_000)
        assert page.locator("#preview-error").count() == 0

        experiment = project.root / "experiments" / "alpha.py"
        source = experiment.read_text(encoding="utf-8")
        experiment.write_text(source.replace("    return Result", "    1 / 0\n    return Result"), encoding="utf-8")
        shown = page.wait_for_selector("#preview-error", timeout=60_000).inner_text()
        assert "§1 alpha" in shown and "ZeroDivisionError" in shown, shown
        experiment.write_text(source, encoding="utf-8")
        page.wait_for_selector("#preview-error", state="detached", timeout=60_000)
        assert page.locator("text=修好了 1").count() == 1
        assert page.evaluate("window.stayed") is None, "an experiment ran: the tab reloaded"

        deadline = time.monotonic() + 120
        while (project.root / "site" / "handout.pdf").read_bytes() == first_pdf:  # superseded until the edits stop
            assert time.monotonic() < deadline, f"the PDF never followed the prose:\n{served.log()}"
            time.sleep(0.1)

        everything = served.processes()
        assert served.interrupt() == 130, served.log()
        assert not gone(everything), f"no process outlives the server\n{served.log()}"
        assert "修好了 1" in (project.root / "site" / "index.html").read_text(encoding="utf-8")
        assert not list(project.root.glob(".site.*")), "no staging or preview folder left"
    finally:
        served.kill()
        print(served.log())  # pytest shows it beside a failure


@pytest.mark.slow
def test_saves_merge_machinery_edits_restart_the_builder_and_ctrl_c_stops_the_workers(cli_project):
    project = cli_project
    project.simple("alpha", 1)
    project.experiment("slow", SLOW_WHEN_ASKED)
    project.template("slow", "<p>慢 {{ m.value }}</p>\n")
    served = Served(project.root, "--no-pdf")
    try:
        served.wait_for_log("page published")
        for n in range(5):  # five saves in a second (0.15 s apart: a loaded machine oversleeps)
            project.template("alpha", f"<p>第 {n} 次保存</p>\n")
            time.sleep(0.15)
        deadline = time.monotonic() + 60
        while "第 4 次保存" not in (project.root / "site" / "index.html").read_text(encoding="utf-8"):
            assert time.monotonic() < deadline, served.log()
            time.sleep(0.05)
        time.sleep(1.0)  # a third build would have started by now
        assert served.log().count("page published") - 1 in (1, 2), served.log()

        machinery = project.root / "report" / "typography.py"
        source = machinery.read_text(encoding="utf-8")
        machinery.write_text(source + "\nbroken(\n", encoding="utf-8")  # the builder cannot even import it
        served.wait_for_log("starting a new builder")
        served.wait_for_log("build failed: '(' was never closed (typography.py, line")
        published = served.log().count("page published")
        machinery.write_text(source + "\n# fixed\n", encoding="utf-8")
        served.wait_for_log("starting a new builder", count=2)
        served.wait_for_log("page published", count=published + 1)

        site_before = (project.root / "site" / "index.html").read_bytes()
        (project.root / "experiments" / "helper.py").write_text("VALUE = 2\n")  # the slow experiment sleeps
        deadline = time.monotonic() + 60
        while not list((project.root / ".cache" / "results").glob("slow-*.tmp-*/worker.log")):  # forked (after
            assert time.monotonic() < deadline, served.log()  # the worker server's preload: seconds when loaded)
            time.sleep(0.05)
        time.sleep(0.5)  # into run()
        everything = served.processes()
        assert sum("report.worker" in " ".join(p.cmdline()) for p in everything) >= 2, "worker server and worker"
        assert served.interrupt() == 130, served.log()
        assert not gone(everything), f"the worker server and its workers are stopped\n{served.log()}"
        assert (project.root / "site" / "index.html").read_bytes() == site_before, "the site is intact"
        assert not list(project.root.glob(".site.*"))
        assert not list((project.root / ".cache" / "results").glob("*.tmp-*")), "no half-written cache entry"
    finally:
        served.kill()
        print(served.log())  # pytest shows it beside a failure
