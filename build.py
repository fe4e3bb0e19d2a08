#!/usr/bin/env python3
"""Build 「神经网络实现详解」: run the experiments, write site/index.html and site/handout.pdf."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


class OneLineParser(argparse.ArgumentParser):
    """Bad input gets one line and exit status 2, not a usage dump."""

    def error(self, message: str) -> None:
        self.exit(2, f"{self.prog}: error: {message}\n")


def positive(kind):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be positive, got {text}")
        return value
    return parse


def port(text: str) -> int:
    value = positive(int)(text)
    if value > 65535:
        raise argparse.ArgumentTypeError(f"a port is at most 65535, got {text}")
    return value


def parse_args(argv: list[str], names: list[str]) -> argparse.Namespace:
    parser = OneLineParser(prog="build.py", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes and epochs (for tests and previews)")
    parser.add_argument("--only", nargs="+", metavar="NAME", default=[],
                        help="build only these sections (and those they use or cite): " + ", ".join(names))
    parser.add_argument("--no-pdf", dest="pdf", action="store_false", help="skip the PDF handout")
    parser.add_argument("--force", action="store_true", help="re-run experiments even when cached")
    parser.add_argument("--jobs", type=positive(int), default=os.cpu_count() or 1, metavar="N",
                        help="experiments run in parallel (default: CPU count)")
    parser.add_argument("--timeout", type=positive(float), default=600.0, metavar="SECONDS",
                        help="per-experiment time limit (default: 600)")
    parser.add_argument("--out", type=Path, default=Path("site"), metavar="DIR", help="output folder (default: site)")
    parser.add_argument("--serve", action="store_true",
                        help="build, serve the site on 127.0.0.1, rebuild on every save and reload open tabs (Ctrl-C stops)")
    parser.add_argument("--port", type=port, metavar="N", help="the port --serve listens on (default: 8000)")
    args = parser.parse_args(argv)
    if args.port is not None and not args.serve:
        parser.error("--port needs --serve")
    unknown = [n for n in args.only if n not in names]
    if unknown:
        parser.error(f"unknown section {', '.join(unknown)}; choose from: {', '.join(names)}")
    return args


def expected_errors() -> tuple[type[Exception], ...]:
    """Errors with a message that says what to fix; anything else is a bug and keeps its traceback."""
    from report.claims import ClaimError
    from report.discover import DiscoveryError
    from report.fonts import FontError
    from report.formulas import FormulaError
    from report.pipeline import BuildError
    from report.render import RenderError

    return (ClaimError, DiscoveryError, FontError, FormulaError, BuildError, RenderError, OSError)


def main(argv: list[str] | None = None) -> int:
    from report.discover import DiscoveryError, discover

    try:
        names = [e.name for e in discover()]
    except DiscoveryError as exc:
        print(f"build.py: error: {exc}", file=sys.stderr)
        return 1
    args = parse_args(sys.argv[1:] if argv is None else argv, names)

    if args.serve:
        from report.discover import ROOT
        from report.preview_builder import PreviewOptions
        from report.serve import serve

        return serve(PreviewOptions(out=str(args.out.resolve()), cache_dir=str(ROOT / ".cache"),
                                    root=str(ROOT), only=tuple(args.only), pdf=args.pdf, quick=args.quick,
                                    jobs=args.jobs, timeout=args.timeout, force=args.force), args.port or 8000)

    from report.cli_output import print_failures, print_summary
    from report.pipeline import BuildOptions, build
    from report.progress import Progress
    from report.runner import RunSettings

    expected = expected_errors()

    options = BuildOptions(out=args.out.resolve(), only=args.only, pdf=args.pdf,
                           settings=RunSettings(quick=args.quick, jobs=args.jobs, timeout=args.timeout,
                                                force=args.force))
    try:
        report = build(options, Progress())
    except KeyboardInterrupt:
        print("build.py: interrupted; the previous site is unchanged", file=sys.stderr)
        return 130
    except expected as exc:
        print(f"build.py: error: {exc}", file=sys.stderr)
        return 1
    if report.failures:
        print_failures(report, options.out)
        return 1
    print_summary(report, options.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
