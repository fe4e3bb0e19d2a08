"""discover -> run (cached, parallel) -> gather -> render HTML -> render PDF -> swap into place.

Everything is written into a staging folder beside the output; the published folder is
replaced only after the whole build succeeded, so a failure never damages it.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import Future
from contextlib import ExitStack
from functools import partial
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from report import claims
from report.answers import ANSWERS_NAME, answers_html, write_answers
from report.discover import ROOT, Experiment, discover, with_dependencies
from report.fonts import CjkFont, find_cjk_font
from report.formulas import FormulaRenderer
from report.highlight import print_stylesheet, stylesheet
from report.pdf import PartRenderer, PdfReport, check_pdf_libraries
from report.handout import HandoutSource, chapter_documents, write_handout
from report.notebooks import link_notebooks, write_notebooks
from report import slides
from report.progress import Progress
from report.figures import phone_variant, print_variant
from report.terms import Term, load_terms
from report.render import FigureView, PageRenderer, SectionView, build_views, walk
from report.runner import Outcome, Runner, RunSettings
from report.cache import ResultCache

PDF_NAME = "handout.pdf"
STATIC_DIR = ROOT / "templates" / "static"


@dataclass(frozen=True)
class Book:
    title: str = "神经网络实现详解"
    subtitle: str = "从零实现、反向传播、梯度消失到 Keras 实践"
    kicker: str = "神经网络课程讲义"
    author: str = "神经网络实现详解 编写组"
    date: str = ""
    url: str = ""  # where the site is published (SITE_URL, set by the Pages workflow); "" when unknown


@dataclass
class BuildOptions:
    out: Path = ROOT / "site"
    cache_dir: Path = ROOT / ".cache"
    only: list[str] = field(default_factory=list)
    settings: RunSettings = field(default_factory=RunSettings)
    pdf: bool = True
    # Called with the staging folder once the HTML is in it, before the PDFs are made:
    # build.py --serve publishes the page from there and lets the PDFs follow.
    on_html: Callable[[Path], None] | None = None


@dataclass
class BuildReport:
    outcomes: list[Outcome]
    seconds: float
    handout: PdfReport | None = None  # None: no PDF asked for
    stages: dict[str, float] = field(default_factory=dict)  # wall seconds per stage
    numbers: dict[str, str] = field(default_factory=dict)  # every discovered section's number
    failing_claims: list[str] = field(default_factory=list)  # quick builds only: full builds stop on them

    @property
    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.ok]


class BuildError(Exception):
    pass


CITATION = re.compile(r"""sections\.(\w+)|ref\(\s*["'](\w+)\.""")


def cited_sections(experiment: Experiment, root: Path) -> set[str]:
    """Sections whose numbers a section's template quotes (sections.x.m.y, ref("x.fig"))."""
    template = root / "templates" / "sections" / f"{experiment.name}.html"
    text = template.read_text(encoding="utf-8") if template.exists() else ""
    return {a or b for a, b in CITATION.findall(text)}


def select(experiments: list[Experiment], only: list[str], root: Path = ROOT) -> list[Experiment]:
    """--only NAME: that section plus what it uses and what its prose cites, so it still renders."""
    if not only:
        return experiments
    return with_dependencies([e for e in experiments if e.name in only], experiments,
                             lambda e: set(e.uses) | cited_sections(e, root))


def build(options: BuildOptions, progress: Progress) -> BuildReport:
    started = time.perf_counter()
    font = find_cjk_font()
    if options.pdf:
        check_pdf_libraries()
    everything = discover(options.settings.root / "experiments")
    runner = Runner(ResultCache(options.cache_dir / "results"), font, options.settings, progress)
    selected = select(everything, options.only, options.settings.root)
    with ExitStack() as stack:
        parts = stack.enter_context(part_renderer(options)) if options.pdf else None
        if parts is not None and runner.must_run(selected):  # new figures: most PDF parts render again
            parts.warm_up(font.family)  # on the core the worker server's start leaves idle
        report = BuildReport(runner.run(selected), 0.0)
        report.numbers = {e.name: e.number for e in everything}
        report.stages["experiments"] = time.perf_counter() - started
        if not report.failures:
            report.handout = write_site(report, font, options, parts)
    report.seconds = time.perf_counter() - started
    return report


def staging_folder(options: BuildOptions) -> Path:
    return options.out.parent / f".{options.out.name}.tmp-{os.getpid()}"


def part_renderer(options: BuildOptions) -> PartRenderer:
    return PartRenderer(staging_folder(options), options.cache_dir / "pdf", options.settings.jobs)


def write_site(report: BuildReport, font: CjkFont, options: BuildOptions,
               parts: PartRenderer | None = None) -> PdfReport | None:
    """`parts`: the build's PDF renderer, if it has one already (warmed up while experiments ran)."""
    with ExitStack() as stack:
        if parts is None and options.pdf:
            parts = stack.enter_context(part_renderer(options))
        return _write_site(report, font, options, staging_folder(options), parts)


@dataclass
class RenderedSite:
    """The site's render, which the print documents start from."""
    renderer: PageRenderer
    sections: list[SectionView]
    numbers: dict[str, str]  # every discovered section's number
    book: Book
    glossary: tuple[Term, ...]


def _write_site(report: BuildReport, font: CjkFont, options: BuildOptions, staging: Path,
                parts: PartRenderer | None) -> PdfReport | None:
    started = time.perf_counter()
    outcomes = report.outcomes
    formulas = FormulaRenderer(options.cache_dir / "math")
    if parts is not None and parts.pool is not None:  # warmed up, idle until the first part is ready
        formulas.typeset_ahead(parts.pool)
    renderer = PageRenderer(formulas, options.settings.root)
    renderer.answers_file = ANSWERS_NAME if options.pdf else None
    sections = build_views(outcomes)
    renderer.render_sections(sections, report.numbers)
    site = RenderedSite(renderer, sections, report.numbers, Book(date=build_date(), url=os.environ.get("SITE_URL", "")),
                        load_terms(options.settings.root).terms)
    deck = slides.prepare(renderer, sections, report.numbers, site.book)  # its claims join the sections'
    report.failing_claims = claims.check(renderer.claims, strict=not options.settings.quick)
    shutil.rmtree(staging, ignore_errors=True)
    try:
        staging.mkdir(parents=True)
        math_font = formulas.math_font()  # on the PDF processes if they were started early (a cold build)
        _write_assets(staging, sections)
        link_notebooks(sections, site.book.url)  # written once the page is out (below)
        index = renderer.page("index.html", book=site.book, sections=sections, glossary=site.glossary,
                              pdf_file=PDF_NAME if options.pdf else None, slides_file=slides.DECK)
        (staging / "index.html").write_text(index, encoding="utf-8")
        slides.write_deck(deck, renderer, site.book, staging, options.pdf)
        place_math_font = partial(_place, math_font, staging / "math.woff2")
        if options.on_html is not None:
            place_math_font()  # the preview shows the page now: with its font
            options.on_html(staging)
        # after the page is out (no open tab shows them); with a PDF, while its parts render
        prose = renderer.notebook_sections(sections, report.numbers)  # before the print render
        notebooks = partial(write_notebooks, staging, sections, prose, {o.experiment.name: o.experiment for o in outcomes},
                            options.settings.seed, options.settings.root, site.book.title, site.book.url)
        report.stages["html"] = time.perf_counter() - started

        def rest_of_site() -> None:  # with a PDF, while its parts render
            notebooks()
            place_math_font()

        handout = None
        if parts is None:
            rest_of_site()
        else:
            started = time.perf_counter()
            handout = write_pdfs(site, font, parts, staging, rest_of_site)
            report.stages["pdf"] = time.perf_counter() - started
        swap_into_place(staging, options.out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return handout


def write_pdfs(site: RenderedSite, font: CjkFont, parts: PartRenderer, staging: Path,
               meanwhile: Callable[[], None]) -> PdfReport:
    """The handout, the answers and the slides' print deck into `staging`, their parts rendered on the
    PDF processes; `meanwhile` runs in this process while they render."""
    renderer, sections, book = site.renderer, site.sections, site.book
    # the costliest part first (the slides draw every figure again, ~7 s CPU): it renders while
    # this process makes the handout's and the answers' HTML
    deck_print = slides.print_html(renderer, sections, site.numbers, book, font)
    _write_formula_images(staging, renderer.formulas)
    parts.start([(deck_print, False)])  # read on screen or paper: untagged
    css = renderer.page("handout.css", book=book, font=font) + print_stylesheet()  # answers and slides too
    source = handout_source(site, font, css)
    # the lecturer's answers: the print render above recorded them
    answers = answers_html(renderer, renderer.exercise_sets, book, css, sections) if renderer.exercise_sets else None
    _write_formula_images(staging, renderer.formulas)
    parts.start([(deck_print, False)]  # if it was left for later, it starts now beside the others
                + [(html, True) for html in sorted(chapter_documents(source) + ([answers] if answers else []),
                                                   key=len, reverse=True)])
    meanwhile()
    write_handout(source, parts, staging / PDF_NAME)
    if answers:
        write_answers(answers, parts, staging / ANSWERS_NAME)
    slides.write_pdf(deck_print, parts, staging)
    shutil.rmtree(staging / "math")  # the handout's formulas: the site shows MathML
    for figure in figures(sections):
        (staging / figure.print_src).unlink()  # made for the PDF, not published
    return PdfReport(parts.rendered, len(parts.used))


def handout_source(site: RenderedSite, font: CjkFont, css: str) -> HandoutSource:
    renderer, sections, book = site.renderer, site.sections, site.book
    renderer.render_sections(sections, site.numbers, for_print=True)
    for section in sections:  # on paper a notebook link is useful only with the site's address
        section.notebook_link = f"{book.url.rstrip('/')}/{section.notebook}" if book.url and section.notebook else ""
    return HandoutSource(
        chapters=[renderer.page("handout.html", book=book, css=css, section=s) for s in sections]
        + [renderer.page("handout.html", book=book, css=css, glossary=site.glossary)],
        front=lambda pages: renderer.page("handout.html", book=book, css=css, sections=sections, pages=pages),
        footer=lambda count: renderer.page("handout_footer.html", css=css, font=font, count=count),
        info={"/Title": book.title, "/Author": book.author, "/Subject": book.subtitle,
              "/Creator": "build.py (WeasyPrint, pikepdf)", "/Producer": "WeasyPrint, pikepdf"},
    )


def _write_assets(staging: Path, sections: list[SectionView]) -> None:
    (staging / ".nojekyll").write_bytes(b"")
    css = (STATIC_DIR / "style.css").read_text(encoding="utf-8") + "\n/* Pygments */\n" + stylesheet()
    (staging / "style.css").write_text(css, encoding="utf-8")
    for name in ("site.js", "favicon.svg"):
        shutil.copyfile(STATIC_DIR / name, staging / name)
    for figure in figures(sections):
        (staging / figure.src).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(figure.source, staging / figure.src)
        shutil.copyfile(figure.source.with_name(print_variant(figure.source.name)), staging / figure.print_src)
        shutil.copyfile(figure.source.with_name(phone_variant(figure.source.name)), staging / figure.phone_src)


def _place(made: Future, target: Path) -> None:
    """A file made elsewhere, once it is there; a second call (after the preview's) does nothing."""
    if not target.exists():
        shutil.copyfile(made.result(), target)


def _write_formula_images(staging: Path, formulas: FormulaRenderer) -> None:
    """The SVGs of the formulas the print renders so far used, for WeasyPrint to read."""
    (staging / "math").mkdir(exist_ok=True)
    for name, path in formulas.used.items():
        if not (staging / "math" / name).exists():
            shutil.copyfile(path, staging / "math" / name)


def figures(sections: list[SectionView]) -> list[FigureView]:
    return [f for section in walk(sections) for f in section.figures.values()]


def looks_like_a_site(path: Path) -> bool:
    return not path.exists() or (path.is_dir() and (not any(path.iterdir()) or (path / ".nojekyll").exists()))


def swap_into_place(staging: Path, out: Path, keep: Path | None = None) -> None:
    """Replace `out` by `staging`; refuse to replace a folder this tool did not build. The replaced
    site is deleted, or moved to `keep` for the caller to delete when it suits (the preview)."""
    if not looks_like_a_site(out):
        raise BuildError(f"refusing to replace {out}: it exists and is not a site built by build.py "
                         "(no .nojekyll); choose another --out")
    backup = keep or out.parent / f".{out.name}.old-{os.getpid()}"
    if out.exists():
        out.rename(backup)
    staging.rename(out)
    if keep is None:
        shutil.rmtree(backup, ignore_errors=True)


def build_date() -> str:
    """From SOURCE_DATE_EPOCH or the last commit, never the wall clock: same input, same output."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch is None:
        try:
            epoch = subprocess.run(["git", "log", "-1", "--format=%ct"], cwd=ROOT, capture_output=True,
                                   text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            epoch = ""
    if not epoch:
        epoch = str(int(max(p.stat().st_mtime for p in (ROOT / "experiments").glob("*.py"))))
    day = datetime.fromtimestamp(int(epoch), tz=timezone.utc)
    return f"{day.year} 年 {day.month} 月 {day.day} 日"
