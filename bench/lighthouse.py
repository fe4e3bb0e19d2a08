#!/usr/bin/env python3
"""Lighthouse scores of a built site, as a Markdown section for bench/results.md.

Serves the site folder on a local port and runs Lighthouse (installed by `make bench` from npm
into a local folder) on it, mobile and desktop, with Lighthouse's default simulated throttling.
A shared machine makes single runs noisy, so every form factor runs several times and each
column of the table is the median of its runs.

    .venv/bin/python bench/lighthouse.py [site]      # prints the section
"""
from __future__ import annotations

import argparse
import contextlib
import functools
import gzip
import http.server
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

REPO = Path(__file__).resolve().parent.parent
# Where `make bench` installs the pinned Lighthouse (LIGHTHOUSE in the environment overrides it).
LIGHTHOUSE = REPO / ".cache" / "lighthouse" / "node_modules" / ".bin" / "lighthouse"
CHROMIUM = "/usr/bin/chromium"
CATEGORIES = {"performance": "performance", "accessibility": "accessibility",
              "best-practices": "best practices", "seo": "SEO"}
# audit id -> (column, unit): what a reader waits for, and the page's size in elements
METRICS = {"first-contentful-paint": ("first paint", "s"), "largest-contentful-paint": ("largest paint", "s"),
           "total-blocking-time": ("blocking", "ms"), "cumulative-layout-shift": ("layout shift", ""),
           "speed-index": ("speed index", "s"), "dom-size": ("elements", "")}
FORM_FACTORS = ("mobile", "desktop")


@dataclass
class Run:
    """One Lighthouse run: category scores 0–100 and the metrics' numeric values."""
    scores: dict[str, float]
    metrics: dict[str, float]  # seconds for "s" columns, milliseconds for "ms", plain numbers otherwise


# What GitHub Pages compresses: text. Images and the woff2 font are compressed already.
COMPRESSED_TYPES = ("text/html", "text/css", "text/javascript", "application/javascript", "image/svg+xml",
                    "application/json", "application/x-ipynb+json")


class PagesLikeHandler(http.server.SimpleHTTPRequestHandler):
    """Python's static file server, plus what GitHub Pages does that changes load times: text is
    sent gzip-compressed to a browser that accepts it (the page's HTML is about a quarter of its size)."""

    def do_GET(self) -> None:
        path = Path(self.translate_path(self.path))
        if path.is_dir():
            path = path / "index.html"
        ctype = self.guess_type(str(path))
        if not (path.is_file() and ctype.startswith(COMPRESSED_TYPES)
                and "gzip" in self.headers.get("Accept-Encoding", "")):
            super().do_GET()
            return
        body = gzip.compress(path.read_bytes(), compresslevel=6, mtime=0)
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (the base class's name)
        pass


@contextlib.contextmanager
def serve(site: Path) -> Iterator[str]:
    """The site over HTTP on a free local port, compressed as GitHub Pages serves it."""
    handler = functools.partial(PagesLikeHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def lighthouse_command() -> list[str]:
    path = Path(os.environ.get("LIGHTHOUSE", LIGHTHOUSE))
    if not path.exists():
        raise SystemExit(f"Lighthouse is not installed at {path}: run `make bench`, or set LIGHTHOUSE "
                         f"to its command (npm install --prefix .cache/lighthouse lighthouse)")
    return [str(path)]


def run_lighthouse(url: str, form_factor: str) -> Run:
    """One run; desktop is Lighthouse's desktop preset, mobile its default (a mid-range phone on slow 4G)."""
    preset = ["--preset=desktop"] if form_factor == "desktop" else []
    env = dict(os.environ, CHROME_PATH=os.environ.get("CHROME_PATH", CHROMIUM))
    with tempfile.TemporaryDirectory(prefix="lighthouse-") as profile:
        command = [*lighthouse_command(), url, *preset, "--output=json", "--output-path=stdout", "--quiet",
                   f"--chrome-flags=--headless=new --no-sandbox --user-data-dir={profile}"]
        done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise SystemExit(f"lighthouse failed ({done.returncode}): {' '.join(command)}\n{done.stderr[-3000:]}")
    return parse_report(json.loads(done.stdout))


def parse_report(report: dict) -> Run:
    if report.get("runtimeError"):
        raise SystemExit(f"lighthouse could not load the page: {report['runtimeError']}")
    scores = {key: round(report["categories"][key]["score"] * 100) for key in CATEGORIES}
    metrics = {}
    for audit, (_, unit) in METRICS.items():
        value = report["audits"][audit]["numericValue"]
        metrics[audit] = value / 1000 if unit == "s" else value
    return Run(scores, metrics)


def measure(site: Path, runs: int = 3) -> dict[str, list[Run]]:
    """`runs` runs per form factor, alternating, so both see the same machine load."""
    results: dict[str, list[Run]] = {f: [] for f in FORM_FACTORS}
    with serve(site) as url:
        for index in range(runs):
            for form_factor in FORM_FACTORS:
                print(f"lighthouse {form_factor} {index + 1}/{runs}", file=sys.stderr)
                results[form_factor].append(run_lighthouse(url, form_factor))
    return results


def render(results: dict[str, list[Run]], version: str) -> str:
    """The Markdown section: one row per form factor, every column the median of its runs."""
    metric_heads = [f"{name} {unit}".strip() for name, unit in METRICS.values()]
    head = ["form factor", *CATEGORIES.values(), *metric_heads, "performance per run"]
    lines = ["## Lighthouse", "",
             f"Lighthouse {version}, headless Chromium, default simulated throttling (mobile: a mid-range phone "
             "on slow 4G; desktop: the desktop preset), the site served locally with text gzip-compressed as "
             "GitHub Pages sends it. Medians of "
             f"{max(len(r) for r in results.values())} runs per form factor.", "",
             "| " + " | ".join(head) + " |", "| --- |" + " ---: |" * (len(head) - 1)]
    for form_factor, runs in results.items():
        scores = [f"{statistics.median(r.scores[k] for r in runs):.0f}" for k in CATEGORIES]
        metrics = [_format(audit, statistics.median(r.metrics[audit] for r in runs)) for audit in METRICS]
        per_run = ", ".join(str(r.scores["performance"]) for r in runs)
        lines.append(f"| {form_factor} | " + " | ".join([*scores, *metrics, per_run]) + " |")
    return "\n".join(lines) + "\n"


def _format(audit: str, value: float) -> str:
    unit = METRICS[audit][1]
    if unit == "s":
        return f"{value:.2f}"
    if audit == "cumulative-layout-shift":
        return f"{value:.3f}"
    return f"{value:,.0f}"


def lighthouse_version() -> str:
    done = subprocess.run([*lighthouse_command(), "--version"], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def lighthouse_section(site: Path, runs: int = 3) -> str:
    """What bench/run.py appends to bench/results.md for a built site folder."""
    if not (site / "index.html").is_file():
        raise SystemExit(f"no built site in {site} (run build.py first)")
    if shutil.which(os.environ.get("CHROME_PATH", CHROMIUM)) is None:
        raise SystemExit(f"no Chromium at {os.environ.get('CHROME_PATH', CHROMIUM)} (set CHROME_PATH)")
    return render(measure(site, runs), lighthouse_version())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("site", nargs="?", type=Path, default=REPO / "site", help="built site folder (default: site)")
    parser.add_argument("--runs", type=int, default=3, help="runs per form factor (default 3)")
    args = parser.parse_args()
    print(lighthouse_section(args.site, args.runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
