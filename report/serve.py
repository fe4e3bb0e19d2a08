"""`build.py --serve`: build, serve the site on 127.0.0.1, rebuild on every save, update open tabs.

Three parts, each on its own: the HTTP server with its event stream (report/preview_server.py),
the builder process that keeps the last results (report/preview_builder.py), and here the loop
between them. It watches experiments/, report/ and templates/ with watchfiles, merges the saves
that arrive while a build runs into the next one (Batcher), and asks for the cheapest build the
change allows: a template edit re-renders the page from the last results, an experiment edit
runs the experiments whose cache key changed (the cache decides, as in any build), an edit to
report/ starts a new builder so the new code is what runs. The page is published as soon as its
HTML is written, and open tabs are told which sections changed (they swap those in) or to reload;
the notebooks and PDFs follow in the same builder, and a newer edit stops that stage (SIGINT,
as Ctrl-C stops build.py: the site on disk is only ever replaced whole).
"""
from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from report.discover import ROOT
from report.preview_builder import PreviewOptions
from report.preview_server import Hub, PreviewServer

WATCHED = ("experiments", "report", "templates")
QUIET_SECONDS = 0.3  # saves closer together than this are one burst: built together
STOP_SECONDS = 15.0  # for the builder to finish its clean-up once stopped, before it is killed


@dataclass
class Batcher:
    """When to build which changes. A change after a quiet spell is built at once (the preview's
    latency); changes that arrive while a page is being built, or in quick succession, wait until
    the files have been quiet for `quiet` seconds and are built together: five saves in a second
    make one or two builds, not five."""

    quiet: float = QUIET_SECONDS
    pending: set[str] = field(default_factory=set)
    building: bool = False  # a page is being built: not yet published
    last_change: float = float("-inf")
    isolated: bool = False  # the pending changes began after a quiet spell, with nothing building

    def add(self, paths: set[str], now: float) -> None:
        if not self.pending:
            self.isolated = not self.building and now - self.last_change >= self.quiet
        self.pending |= paths
        self.last_change = now

    def due_in(self, now: float) -> float | None:
        """Seconds until the pending changes should be built (0: now); None: nothing to build yet."""
        if not self.pending or self.building:
            return None
        return 0.0 if self.isolated else max(0.0, self.last_change + self.quiet - now)

    def start(self) -> set[str]:
        """The changes a build takes; the ones that come now wait for the next."""
        taken, self.pending, self.building = self.pending, set(), True
        return taken

    def finish(self) -> None:
        self.building = False


def areas(paths: set[str], root: Path) -> set[str]:
    """Which of experiments/, report/, templates/ the changed paths are in."""
    found = set()
    for path in paths:
        try:
            found.add(Path(path).relative_to(root).parts[0])
        except (ValueError, IndexError):
            continue
    return found & set(WATCHED)


class Builder:
    """The builder process (report/preview_builder.py), in a session of its own: Ctrl-C reaches
    only the server, which stops the builder in order; its events arrive on `events`."""

    def __init__(self, options: PreviewOptions, events: queue.Queue):
        read, write = os.pipe()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "report.preview_builder", options.to_json(), str(write)],
            cwd=ROOT, stdin=subprocess.PIPE, pass_fds=(write,), start_new_session=True)
        os.close(write)
        self.reader = threading.Thread(target=self._read, args=(read, events), name="builder-events", daemon=True)
        self.reader.start()

    def _read(self, fd: int, events: queue.Queue) -> None:
        with os.fdopen(fd, "rb") as stream:
            for line in stream:
                events.put(("builder", self, json.loads(line)))
        events.put(("builder", self, {"stage": "exited", "status": self.process.wait()}))

    def request(self, ident: int, changed: list[str], run: bool) -> None:
        self.process.stdin.write((json.dumps({"id": ident, "changed": changed, "run": run}) + "\n").encode())
        self.process.stdin.flush()

    def interrupt(self) -> None:
        """Stop the build in progress (it cleans up as after Ctrl-C); the builder stays."""
        try:
            os.kill(self.process.pid, signal.SIGINT)
        except ProcessLookupError:
            pass

    def stop(self) -> None:
        """End of input: the builder exits after the build it is on (interrupt it first to hurry it)."""
        try:
            self.process.stdin.close()
        except BrokenPipeError:
            pass
        try:
            self.process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)  # it, and the PDF processes it started
            self.process.wait()
        self.reader.join(timeout=5)


def told(pages: dict[str, list[str] | None] | None) -> str:
    """What a tab showing the last version does with the new one (report/preview.js), for the log."""
    if pages is None:
        return "reload"
    parts = [f"reload {name}" if ids is None else f"swap {', '.join(ids)} in {name}"
             for name, ids in sorted(pages.items()) if ids != []]
    return "; ".join(parts) or "no page changed"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class Preview:
    def __init__(self, options: PreviewOptions, server: PreviewServer, hub: Hub, root: Path):
        self.options, self.server, self.hub, self.root = options, server, hub, root
        self.events: queue.Queue = queue.Queue()
        self.batcher = Batcher()
        self.builder: Builder | None = None
        self.ident = 0
        self.in_flight: int | None = None  # the build the builder is on
        self.publishing = False  # its page is not yet published (after that: its PDFs)
        self.cancelling = False
        self.taken: set[str] = set()  # the changes the build in flight is making
        self.changed_at = self.started_at = 0.0  # the first pending change; the build's start
        self.versions = 0
        self.stop = threading.Event()

    def run(self) -> None:
        """Until Ctrl-C (KeyboardInterrupt), which the caller turns into exit status 130."""
        watcher = threading.Thread(target=self._watch, name="watcher", daemon=True)
        watcher.start()
        try:
            self.batcher.add({str(self.root / "experiments")}, time.monotonic())  # the first build: run everything
            while True:
                self._step()
        finally:
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the clean-up short
            log("stopping…")
            self.stop.set()
            if self.builder is not None:
                if self.in_flight is not None:
                    self.builder.interrupt()
                self.builder.stop()
            watcher.join(timeout=5)

    def _watch(self) -> None:
        import watchfiles

        dirs = [self.root / d for d in WATCHED if (self.root / d).is_dir()]
        try:
            for changes in watchfiles.watch(*dirs, stop_event=self.stop, raise_interrupt=False):
                self.events.put(("changes", None, {path for _, path in changes}))
        except Exception as exc:  # e.g. the system's limit of watched folders: say so, keep serving
            log(f"the file watcher stopped ({type(exc).__name__}: {exc}); saves are no longer seen")

    def _step(self) -> None:
        due = self.batcher.due_in(time.monotonic())
        if due == 0.0:
            if self.in_flight is None:
                changed = self.batcher.start()
                touched = areas(changed, self.root)  # --only follows what the prose cites: templates too
                self._build(changed, run=bool(touched & {"experiments", "report"}) or bool(self.options.only and touched))
            elif not self.cancelling:  # its page is out, its PDFs are now stale: stop them
                self.cancelling = True
                self.builder.interrupt()
        try:
            kind, source, payload = self.events.get(timeout=0.5 if not due else due)
        except queue.Empty:
            return
        if kind == "changes":
            self._changed(payload)
        elif source is self.builder:
            self._built(payload)

    def _changed(self, paths: set[str]) -> None:
        shown = sorted(str(Path(p).relative_to(self.root)) for p in paths if Path(p).is_relative_to(self.root))
        log("changed: " + ", ".join(shown[:5]) + (f" and {len(shown) - 5} more" if len(shown) > 5 else ""))
        if not self.batcher.pending:
            self.changed_at = time.monotonic()
        self.batcher.add(paths, time.monotonic())

    def _build(self, changed: set[str], run: bool) -> None:
        if self.builder is None or "report" in areas(changed, self.root):
            if self.builder is not None:
                log("report/ changed: starting a new builder")
                self.builder.stop()
            self.builder = Builder(self.options, self.events)
            run = True
        self.ident += 1
        self.in_flight, self.publishing, self.cancelling = self.ident, True, False
        self.taken = changed
        self.started_at = time.monotonic()
        self.builder.request(self.ident, sorted(changed), run)
        self.hub.update(status="building")

    def _built(self, event: dict) -> None:
        stage = event["stage"]
        if stage == "exited":
            self._builder_exited(event["status"])
            return
        if event.get("id") != self.in_flight or self.in_flight is None:
            return  # about a build already over (an interrupt that came after its end)
        if stage == "html":
            self.publishing = False
            self.batcher.finish()
            self.versions += 1
            pages = event.get("pages")  # None: every tab reloads; else what a tab on the last version swaps in
            patch = None if pages is None else {"from": self.hub.state["version"], "pages": pages}
            tabs = self.hub.update(version=f"{os.getpid()}-{self.versions}", error=None, patch=patch,
                                   status="pdf" if self.options.pdf else "idle")
            when = (f"{time.monotonic() - self.changed_at:.2f} s after the change" if self.ident > 1
                    else f"in {time.monotonic() - self.started_at:.1f} s")
            log(f"page published {when} (builder {event['cpu']:.2f} s CPU; {tabs} tab(s) told: {told(pages)})"
                + ("; PDF follows" if self.options.pdf else ""))
            return
        unpublished = self.publishing
        self.in_flight, self.publishing, self.cancelling = None, False, False
        self.batcher.finish()
        if stage == "done":
            self.hub.update(status="idle")
            if self.options.pdf:
                log(f"PDF done ({event['pdf_seconds']:.1f} s)")
        elif stage == "failed":
            self.hub.update(error=event["error"], status="idle")
            log(f"build failed: {event['error']['title']} (in the browser too; serving the last good site)")
        elif stage == "cancelled" and unpublished:  # stopped before its page was out: build its changes again
            self.batcher.add(self.taken, time.monotonic())
        elif stage == "cancelled":
            self.hub.update(status="idle")
            log("PDF stopped: a newer edit supersedes it")

    def _builder_exited(self, status: int) -> None:
        if self.in_flight is not None:
            self.hub.update(status="idle", error={
                "title": f"the build process stopped (exit status {status})",
                "text": "Its output is in the terminal that runs build.py --serve. "
                        "Saving a file starts a new one."})
            log(f"the builder stopped (status {status}); the next change starts a new one")
        self.in_flight, self.publishing, self.cancelling, self.builder = None, False, False, None
        self.batcher.finish()


def serve(options: PreviewOptions, port: int) -> int:
    """The exit status: 2 when the port cannot be had, 130 after Ctrl-C."""
    out, root = Path(options.out), Path(options.root)
    hub = Hub(version=f"{os.getpid()}-0")
    try:
        server = PreviewServer(out, port, hub)
    except OSError as exc:
        print(f"build.py: error: cannot serve on 127.0.0.1:{port}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    server.start()
    log(f"serving {out} at {server.url} — watching {', '.join(d + '/' for d in WATCHED)} (Ctrl-C stops)")
    try:
        Preview(options, server, hub, root).run()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    log(f"stopped; {out} holds the last good build")
    return 130
