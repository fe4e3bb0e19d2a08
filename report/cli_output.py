"""What build.py tells the user at the end of a build."""
from __future__ import annotations

import sys
from pathlib import Path

from report.pipeline import BuildReport


def print_failures(report: BuildReport, out: Path) -> None:
    for outcome in report.failures:
        e = outcome.experiment
        print(f"\n=== §{e.number} {e.name} ({e.title}): {outcome.status} ===", file=sys.stderr)
        print(outcome.error.rstrip(), file=sys.stderr)
    names = ", ".join(o.experiment.name for o in report.failures)
    print(f"\nbuild.py: {len(report.failures)} experiment(s) did not finish: {names}; "
          f"{out} was left unchanged", file=sys.stderr)


def print_summary(report: BuildReport, out: Path) -> None:
    for claim in report.failing_claims:
        print(f"warning (quick build): {claim}", file=sys.stderr)
    ran = sum(o.status == "ran" for o in report.outcomes)
    cached = sum(o.status == "cached" for o in report.outcomes)
    pdf = ("no PDF" if report.handout is None else "PDF unchanged" if not report.handout.rendered
           else f"PDF: {report.handout.rendered} of {report.handout.parts} parts rendered")
    stages = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in report.stages.items())
    print(f"built {out / 'index.html'} in {report.seconds:.1f} s "
          f"({ran} ran, {cached} cached; {pdf}; {stages})", file=sys.stderr)
