#!/usr/bin/env python3
"""Benchmark the build against what a user would do instead: execute the notebook with Jupyter.

Runs in a scratch copy of the project (its own .cache and site), alternating the scenarios
in every repetition so both sides see the same machine load, then prints medians and ratios
and writes them to bench/results.md.
"""
from __future__ import annotations

import argparse
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parent.parent
NOTEBOOK = REPO.parent / "shared" / "seed" / "notebook.ipynb"
EDITED_TEMPLATE = "templates/sections/activations.html"
EDITED_EXPERIMENT = "experiments/activations.py"
STAGE = re.compile(r"\b(experiments|html|pdf) ([\d.]+) s")  # build.py's summary line
EXPERIMENT = re.compile(r"^\s*ran\s+(\w+)\s+([\d.]+) s$", re.M)  # its progress lines


@dataclass
class Sample:
    seconds: float
    peak_mb: float
    cpu_seconds: float  # user + system time of the command and every process it waited for
    stages: dict[str, float] = field(default_factory=dict)  # experiments, html, pdf
    experiments: dict[str, float] = field(default_factory=dict)
    pdf_pages: dict[str, int] = field(default_factory=dict)  # what the build printed: file name -> pages


@dataclass
class Scenario:
    name: str
    label: str
    samples: list[Sample] = field(default_factory=list)

    def median(self, attr: str = "seconds") -> float | None:
        values = [getattr(s, attr) for s in self.samples if getattr(s, attr) is not None]
        return statistics.median(values) if values else None

    def median_of(self, part: str, name: str) -> float | None:
        values = [getattr(s, part)[name] for s in self.samples if name in getattr(s, part)]
        return statistics.median(values) if values else None


def run_measured(cmd: list[str], cwd: Path, env: dict[str, str]) -> Sample:
    """Wall time, CPU time and the peak of the summed RSS of the command and all its children."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    process = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0.0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        parent = psutil.Process(process.pid)
        while not stop.is_set():
            try:
                procs = [parent] + parent.children(recursive=True)
                total = sum(p.memory_info().rss for p in procs if p.is_running())
                peak = max(peak, total / 2**20)
            except psutil.Error:
                pass
            stop.wait(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = process.communicate()
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    stop.set()
    sampler.join()
    if process.returncode != 0:
        raise SystemExit(f"benchmark command failed ({process.returncode}): {' '.join(cmd)}\n{err[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Sample(seconds, peak, cpu, {k: float(v) for k, v in STAGE.findall(err)},
                  {k: float(v) for k, v in EXPERIMENT.findall(err)})


def with_pdf_pages(sample: Sample, site: Path) -> Sample:
    """Builds that print more pages take longer: the comparison states what each one made."""
    import pikepdf

    for pdf in sorted(site.glob("*.pdf")):
        with pikepdf.open(pdf) as document:
            sample.pdf_pages[pdf.name] = len(document.pages)
    return sample


def copy_project(target: Path) -> None:
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO, capture_output=True,
                           text=True, check=True).stdout.split()
    for name in files:
        source = REPO / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


def export_revision(revision: str, target: Path) -> None:
    """A commit's tracked files, to time an earlier version's cold build beside this one."""
    target.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", revision], cwd=REPO, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)


def append(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.write(text)


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else platform.processor()
    versions = ", ".join(f"{lib} {metadata.version(lib)}" for lib in
                         ("tensorflow-cpu", "keras", "matplotlib", "weasyprint", "nbconvert")
                         if _installed(lib))
    return (f"{platform.platform()}; {cpu}; {os.cpu_count()} cores; "
            f"{psutil.virtual_memory().total / 2**30:.0f} GiB RAM; Python {platform.python_version()}; {versions}")


def _installed(lib: str) -> bool:
    try:
        metadata.version(lib)
        return True
    except metadata.PackageNotFoundError:
        return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3, help="repetitions of every scenario (default 3)")
    parser.add_argument("--no-notebook", action="store_true", help="skip the Jupyter comparison")
    parser.add_argument("--no-preview", action="store_true", help="skip the live preview's latency (bench/preview.py)")
    parser.add_argument("--no-lighthouse", action="store_true", help="skip Lighthouse (bench/lighthouse.py)")
    parser.add_argument("--baseline", metavar="REV",
                        help="also time the cold build of this git revision, alternating with this one")
    args = parser.parse_args()

    env = dict(os.environ, PYTHONHASHSEED="0")
    py = sys.executable
    build = [py, "build.py", "--out", "site"]
    scenarios = {s.name: s for s in (
        Scenario("cold", "cold build (HTML + PDF, empty cache)"),
        Scenario("baseline", f"cold build of {args.baseline} (HTML + PDF, empty cache)"),
        Scenario("cold_html", "cold build, HTML only like nbconvert (`--no-pdf`, empty cache)"),
        Scenario("baseline_html", f"cold build of {args.baseline}, HTML only (`--no-pdf`, empty cache)"),
        Scenario("notebook", "jupyter nbconvert --execute --to html"),
        Scenario("nochange", "rebuild, nothing changed"),
        Scenario("template", "rebuild after editing one section template"),
        Scenario("experiment", "rebuild after editing one experiment"),
    )}
    with tempfile.TemporaryDirectory(prefix="nn-lecture-bench-") as tmp:
        project = Path(tmp) / "project"
        copy_project(project)
        if args.baseline:
            export_revision(args.baseline, Path(tmp) / "baseline")
        for rep in range(args.repeat):
            print(f"repetition {rep + 1}/{args.repeat}", file=sys.stderr)
            shutil.rmtree(project / ".cache", ignore_errors=True)
            scenarios["cold_html"].samples.append(run_measured([py, "build.py", "--out", "site-html", "--no-pdf"],
                                                               project, env))
            shutil.rmtree(project / ".cache", ignore_errors=True)
            shutil.rmtree(project / "site", ignore_errors=True)
            scenarios["cold"].samples.append(with_pdf_pages(run_measured(build, project, env), project / "site"))
            if args.baseline:
                baseline = Path(tmp) / "baseline"
                shutil.rmtree(baseline / ".cache", ignore_errors=True)
                shutil.rmtree(baseline / "site", ignore_errors=True)
                scenarios["baseline"].samples.append(with_pdf_pages(run_measured(build, baseline, env),
                                                                    baseline / "site"))
                shutil.rmtree(baseline / ".cache", ignore_errors=True)
                scenarios["baseline_html"].samples.append(run_measured(
                    [py, "build.py", "--out", "site-html", "--no-pdf"], baseline, env))
            if not args.no_notebook:
                nb = Path(tmp) / "nb"
                nb.mkdir(exist_ok=True)
                scenarios["notebook"].samples.append(run_measured(
                    [py, "-m", "jupyter", "nbconvert", "--execute", "--to", "html", "--output-dir", str(nb),
                     str(NOTEBOOK)], project, env))
            scenarios["nochange"].samples.append(run_measured(build, project, env))
            append(project / EDITED_TEMPLATE, f"\n<p>基准测试修改 {rep}。</p>\n")
            scenarios["template"].samples.append(run_measured(build, project, env))
            append(project / EDITED_EXPERIMENT, f"\n# benchmark edit {rep}\n")
            scenarios["experiment"].samples.append(run_measured(build, project, env))
        report = render(scenarios, args.repeat)
        if not args.no_lighthouse:  # the site of the last rebuild: what readers are served
            from lighthouse import lighthouse_section
            report += "\n" + lighthouse_section(project / "site")
    if not args.no_preview:
        from preview import preview_section
        report += "\n" + preview_section()
    print(report)
    (REPO / "bench" / "results.md").write_text(report, encoding="utf-8")
    return 0


def render(scenarios: dict[str, Scenario], repeat: int) -> str:
    cold = scenarios["cold"].median()
    rows = []
    for s in scenarios.values():
        if not s.samples:
            continue
        median = s.median()
        rows.append(f"| {s.label} | {median:.2f} | {median / cold:.1%} | {s.median('cpu_seconds'):.1f} | "
                    f"{s.median('peak_mb'):.0f} | {', '.join(f'{x.seconds:.2f}' for x in s.samples)} |")
    lines = [
        "# Benchmark results", "",
        f"Machine: {machine()}", "",
        f"Scenarios alternate within each of {repeat} repetitions; medians in seconds; "
        "CPU s is the user and system time of the build and all its worker processes (2 cores: "
        "a build cannot take less wall time than half of it); "
        "peak memory is their summed RSS.", "",
        "| scenario | median s | of cold build | CPU s | peak MiB | runs |", "| --- | ---: | ---: | ---: | ---: | --- |",
        *rows, "",
    ]
    cold_pdf, edit_pdf = (scenarios[s].median_of("stages", "pdf") for s in ("cold", "template"))
    if cold_pdf is not None and edit_pdf is not None:
        lines.append(f"PDF rendering alone, medians: {cold_pdf:.2f} s in the cold build (every part), "
                     f"{edit_pdf:.2f} s after the template edit (one chapter, then the book assembled).")
    if scenarios["notebook"].samples:
        notebook = scenarios["notebook"].median()
        lines.append(f"Cold build / nbconvert: {cold / notebook:.2f}x; "
                     f"HTML only: {scenarios['cold_html'].median() / notebook:.2f}x.")
    if scenarios["baseline"].samples:
        baseline = scenarios["baseline"]
        html, baseline_html = scenarios["cold_html"], scenarios["baseline_html"]
        lines.append(f"Cold build / {baseline.label.split(' (')[0]}: {ratios(scenarios['cold'], baseline)}; "
                     f"HTML only: {ratios(html, baseline_html)}.")
        lines.append(f"Pages printed: {printed(scenarios['cold'])} now; {printed(baseline)} at {args_label(baseline)}.")
    lines += ["", *where_the_time_goes(scenarios["cold"], scenarios["baseline"]), ""]
    return "\n".join(lines)


def ratios(now: Scenario, before: Scenario) -> str:
    return (f"{now.median() / before.median():.2f}x "
            f"(CPU time {now.median('cpu_seconds') / before.median('cpu_seconds'):.2f}x)")


def printed(scenario: Scenario) -> str:
    pages = scenario.samples[-1].pdf_pages
    return ", ".join(f"{name} {count}" for name, count in pages.items()) + f" ({sum(pages.values())} pages)"


def args_label(scenario: Scenario) -> str:
    return scenario.label.split(" (")[0].removeprefix("cold build of ")


def where_the_time_goes(cold: Scenario, baseline: Scenario) -> list[str]:
    """Medians of the cold build's stages, and of each experiment's worker (two run at a time), beside
    the baseline's when there is one: which part of the build a difference comes from."""
    compared = [cold] + ([baseline] if baseline.samples else [])

    def cells(part: str, name: str) -> str:
        return " | ".join("" if (v := s.median_of(part, name)) is None else f"{v:.2f}" for s in compared)

    names = sorted({n for s in compared for x in s.samples for n in x.experiments},
                   key=lambda n: -(cold.median_of("experiments", n) or 0))
    rows = [f"| stage: {name} | {cells('stages', name)} |" for name in ("experiments", "html", "pdf")]
    rows += [f"| experiment: {name} | {cells('experiments', name)} |" for name in names]
    totals = [sum(s.median_of("experiments", n) or 0 for n in names) for s in compared]
    heads = ["now"] + [args_label(baseline)] * (len(compared) - 1)
    return ["## Where the cold build's time goes", "",
            "Wall seconds, medians. Experiments run two at a time: their worker times add up to "
            + " and ".join(f"{t:.1f} s ({h})" for t, h in zip(totals, heads)) + ".", "",
            "| part | " + " | ".join(f"{h} s" for h in heads) + " |", "| --- |" + " ---: |" * len(compared), *rows]


if __name__ == "__main__":
    sys.exit(main())
