"""The build side of `build.py --serve`: a process of its own (report/serve.py starts it), so an
edit to the machinery in report/ takes effect by starting a new one, and a PDF that a newer edit
has made stale is stopped with SIGINT, the way Ctrl-C stops `build.py`.

It reads build requests, one JSON line each, on stdin and writes what happened, one JSON line
each, to the file descriptor it is given: "html" once the page is published (the handout PDF
still to come), then "done", "failed" or "cancelled". It keeps the last build's results: a
change to templates/ alone re-renders the page from them without hashing a single experiment.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sys
import threading
import time
import traceback
from dataclasses import asdict, dataclass, replace
from pathlib import Path

TEMPLATE_LINE = re.compile(r"(templates/[\w./-]+\.html), line (\d+)")


@dataclass(frozen=True)
class PreviewOptions:
    """What `build.py` was asked for, as plain data for the command line of the builder process."""
    out: str
    cache_dir: str
    root: str
    only: tuple[str, ...] = ()
    pdf: bool = True
    quick: bool = False
    jobs: int = 2
    timeout: float = 600.0
    force: bool = False

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> PreviewOptions:
        data = json.loads(text)
        return cls(**{**data, "only": tuple(data["only"])})


def publish_html(staging: Path, out: Path) -> Path | None:
    """Serve the page before the PDFs and notebooks are made: the staging folder (hard links, not
    copies) with those files of the site it replaces that staging does not have yet, swapped in
    whole like any build. The replaced site is returned, not deleted: deleting it takes a tenth of
    a second the open tabs need not wait for."""
    from report.pipeline import swap_into_place

    preview = out.parent / f".{out.name}.preview-{os.getpid()}"
    replaced = out.parent / f".{out.name}.replaced-{os.getpid()}"
    try:
        shutil.copytree(staging, preview, copy_function=_link_or_copy)
        for folder, _, files in sorted(os.walk(out)) if out.is_dir() else ():
            for name in sorted(files):
                kept = preview / Path(folder).relative_to(out) / name
                if not kept.exists():
                    kept.parent.mkdir(parents=True, exist_ok=True)
                    _link_or_copy(Path(folder) / name, kept)
        shutil.rmtree(replaced, ignore_errors=True)
        swap_into_place(preview, out, keep=replaced)
    finally:
        shutil.rmtree(preview, ignore_errors=True)
    return replaced if replaced.exists() else None


def _link_or_copy(source, target) -> None:
    try:
        os.link(source, target)
    except OSError:  # a file system without hard links
        shutil.copy2(source, target)


def template_excerpt(message: str, root: Path, around: int = 3) -> str:
    """The lines around the one a template error names, the line itself marked with >."""
    match = TEMPLATE_LINE.search(message)
    if not match:
        return ""
    path, line = root / match[1], int(match[2])
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return ""
    first = max(1, line - around)
    shown = [f"{'>' if n == line else ' '} {n:4d} | {lines[n - 1]}" for n in range(first, min(len(lines), line + around) + 1)]
    return f"{match[1]}:\n" + "\n".join(shown)


TITLE_CHARACTERS = 160  # "metric 'x' is not defined (known: ...)" lists them all: in full below the title


def error_of_exception(exc: BaseException, root: Path) -> dict[str, str]:
    """A build that raised: its message as the title, the template's lines and the traceback below."""
    message = str(exc) or type(exc).__name__
    title = message.partition("\n")[0]
    if len(title) > TITLE_CHARACTERS:
        title = title[:TITLE_CHARACTERS - 1] + "…"
    parts = [message if title != message else "", template_excerpt(message, root),
             "".join(traceback.format_exception(exc))]
    return {"title": title, "text": "\n\n".join(p for p in parts if p)}


def error_of_failures(failures) -> dict[str, str]:
    """Experiments that failed: which ones, with their tracebacks."""
    names = ", ".join(f"§{o.experiment.number} {o.experiment.name}" for o in failures)
    title = f"{names}: {failures[0].status}" if len(failures) == 1 else f"{len(failures)} 个实验没有完成：{names}"
    text = "\n\n".join(f"=== §{o.experiment.number} {o.experiment.name}（{o.experiment.title}）: {o.status} ===\n"
                       f"{o.error.rstrip()}" for o in failures)
    return {"title": title, "text": text}


class Session:
    """Builds on request and remembers the last results."""

    def __init__(self, options: PreviewOptions, send):
        from report.pipeline import BuildOptions
        from report.progress import Progress
        from report.runner import RunSettings

        self.send = send  # writes one event
        self.root = Path(options.root)
        self.options = BuildOptions(
            out=Path(options.out), cache_dir=Path(options.cache_dir), only=list(options.only), pdf=options.pdf,
            settings=RunSettings(quick=options.quick, jobs=options.jobs, timeout=options.timeout,
                                 force=options.force, root=self.root))
        self.progress = Progress()
        self.last = None  # the last BuildReport: its outcomes serve a change to templates/ alone
        self.font = None

    def build(self, request: dict) -> None:
        from report.cli_output import print_failures, print_summary
        from report.fonts import find_cjk_font
        from report.pipeline import BuildReport, build, write_site
        from report.preview_patch import page_changes

        started, cpu = time.perf_counter(), time.process_time()
        ident = request["id"]

        def published(staging: Path) -> None:
            # the same results as the page served: an open tab can swap in the sections that changed
            pages = page_changes(self.options.out, staging) if same_results else None
            replaced = publish_html(staging, self.options.out)
            self.send(id=ident, stage="html", seconds=time.perf_counter() - started, cpu=time.process_time() - cpu,
                      pages=pages)
            if replaced is not None:
                shutil.rmtree(replaced, ignore_errors=True)

        options = replace(self.options, on_html=published)
        same_results = not (self.last is None or self.last.failures or request["run"])
        try:
            if not same_results:
                self.last = None  # until this build ends: a PDF stopped by a newer edit leaves no results here
                report = build(options, self.progress)
            else:  # prose, layout or style: the experiments' results cannot have changed
                self.font = self.font or find_cjk_font()
                kept = [replace(o, status="cached") for o in self.last.outcomes]  # for the summary line
                report = BuildReport(kept, 0.0, numbers=self.last.numbers)
                report.handout = write_site(report, self.font, options)
                report.seconds = time.perf_counter() - started
        except Exception as exc:  # the browser shows it; the builder stays for the next edit
            self.send(id=ident, stage="failed", error=error_of_exception(exc, self.root))
            return
        self.last = report
        self.options = replace(self.options, settings=replace(self.options.settings, force=False))  # once
        if report.failures:
            print_failures(report, self.options.out)
            self.send(id=ident, stage="failed", error=error_of_failures(report.failures))
            return
        print_summary(report, self.options.out)
        self.send(id=ident, stage="done", seconds=time.perf_counter() - started,
                  pdf_seconds=report.stages.get("pdf", 0.0))


def remove_leftovers(out: Path) -> None:
    """What a build stopped at any point leaves beside the site: its staging folder, the site it
    was replacing (report/pipeline.py and publish_html name them .<site>.<what>-<pid>)."""
    for folder in sorted(out.parent.glob(f".{out.name}.*-{os.getpid()}")):
        shutil.rmtree(folder, ignore_errors=True)


def interrupt_again(unraisable) -> None:
    """sys.unraisablehook: an interrupt that landed in a finalizer (WeasyPrint has some) is printed
    and dropped by Python, and the stale PDF would run to its end; signal it again, once the
    finalizer is over (a signal sent from here would be handled in here, and dropped again)."""
    if isinstance(unraisable.exc_value, KeyboardInterrupt):
        _signal_again()
    else:
        sys.__unraisablehook__(unraisable)


def importing() -> bool:
    """Whether a module is being imported right now (importlib marks its spec while it runs)."""
    return any(getattr(getattr(module, "__spec__", None), "_initializing", False)
               for module in list(sys.modules.values()))


def interrupt_between_imports(signum, frame) -> None:
    """The SIGINT handler: KeyboardInterrupt, but never in the middle of an import. An import cut short
    leaves the modules it had finished holding the half-made one (WeasyPrint's do: "module
    'weasyprint.html' has no attribute 'handle_element'"), and every later build in this process
    would fail on them. The first PDF after an edit imports WeasyPrint here, as the next edit comes."""
    if importing():
        _signal_again()
        return
    raise KeyboardInterrupt


def _signal_again() -> None:
    """SIGINT to this process in 10 ms, from another thread: sent from a handler, it would be handled there."""
    threading.Timer(0.01, os.kill, (os.getpid(), signal.SIGINT)).start()


def main(argv: list[str]) -> int:
    """python -m report.preview_builder OPTIONS_JSON EVENTS_FD"""
    events = int(argv[1])
    signal.signal(signal.SIGINT, interrupt_between_imports)
    sys.unraisablehook = interrupt_again
    current = None

    def send(**event) -> None:
        os.write(events, (json.dumps(event, ensure_ascii=False) + "\n").encode())  # one write: never half a line

    options = PreviewOptions.from_json(argv[0])
    try:
        session, broken = Session(options, send), None
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # the machinery in report/ does not import: say why until it is fixed
        session, broken = None, error_of_exception(exc, Path(options.root))
    while True:
        try:
            line = sys.stdin.readline()
            if not line:  # the server closed our input: it is stopping
                return 0
            request = json.loads(line)
            current = request["id"]
            if session is None:
                send(id=current, stage="failed", error=broken)
            else:
                session.build(request)
            current = None
        except KeyboardInterrupt:  # a newer edit supersedes this build, or the server is stopping
            send(id=current, stage="cancelled")
            current = None
            remove_leftovers(Path(options.out))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
