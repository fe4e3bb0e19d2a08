"""WeasyPrint renders the handout's parts; each part is cached by what it is made from.

A part is a whole HTML document: the front matter, one chapter, or the page-number overlay.
Its PDF comes with what the assembly (report/handout.py) needs to know: its page count,
where its anchors are, and its links to anchors in other parts, which WeasyPrint would drop.
"""
from __future__ import annotations

import ctypes.util
import hashlib
import io
import json
import re
import warnings
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from importlib import metadata
from multiprocessing import get_context
from pathlib import Path

SUBSET_HINT = ("libharfbuzz-subset is missing: WeasyPrint falls back to fontTools and subsetting the "
               "CJK font takes ~30x longer; install it with `sudo apt-get install libharfbuzz-subset0` "
               "(macOS: `brew install harfbuzz`)")
PX_TO_PT = 0.75  # 72 PDF points per inch / 96 CSS pixels per inch
SOURCES = re.compile(r'\ssrc="([^":]+)"|url\(["\x27]?([^)"\x27:]+)["\x27]?\)')  # images and backgrounds (formulas)


@dataclass
class Link:
    page: int
    target: str
    rect: tuple[float, float, float, float]  # PDF points, origin bottom left


@dataclass
class RenderedPart:
    pdf: Path
    pages: int = 0
    anchors: dict[str, tuple[int, float, float]] = field(default_factory=dict)  # name -> page, x, y (points)
    links: list[Link] = field(default_factory=list)  # to anchors outside this part

    def save(self) -> None:
        """Written after the PDF, with its digest: a part is cached only once both are whole."""
        info = asdict(self) | {"pdf": digest(self.pdf)}
        self.pdf.with_suffix(".json").write_text(json.dumps(info, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, pdf: Path) -> RenderedPart | None:
        """The cached part, or None if it is missing, truncated or corrupt (it is then rendered again)."""
        try:
            info = json.loads(pdf.with_suffix(".json").read_text(encoding="utf-8"))
            if info["pdf"] != digest(pdf):
                return None
            return cls(pdf, info["pages"], {k: tuple(v) for k, v in info["anchors"].items()},
                       [Link(link["page"], link["target"], tuple(link["rect"])) for link in info["links"]])
        except (OSError, ValueError, KeyError, TypeError):
            return None


def digest(path: Path) -> str:
    """SHA-256 of a file, "" if there is none: how cached PDFs are checked before reuse."""
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""


def source_of(*modules: str) -> bytes:
    """The source of modules of this package: what a cached PDF was made by is part of its key."""
    return b"".join((Path(__file__).parent / module).read_bytes() for module in modules)


def part_key(html: str, site_dir: Path, tagged: bool = True) -> str:
    """The HTML, the files it shows (figures, formulas), whether it is tagged, the WeasyPrint version
    and what is done to a part after it (report/actual_text.py, book_tags.py)."""
    h = hashlib.sha256(html.encode())
    h.update(b"tagged" if tagged else b"untagged")
    h.update(source_of("actual_text.py", "book_tags.py"))  # what is done to a part after WeasyPrint
    h.update(metadata.version("weasyprint").encode())
    for source in sorted({a or b for a, b in SOURCES.findall(html)}):
        h.update(source.encode())
        h.update(hashlib.sha256((site_dir / source).read_bytes()).digest())  # a missing file is an error
    return h.hexdigest()[:24]


@dataclass
class PdfReport:
    rendered: int  # parts WeasyPrint had to render; 0: all came from the cache
    parts: int  # all parts of all the build's PDFs (handout, answers, slides)


class PartRenderer:
    """Parts from the cache, or rendered: in this process when only one is missing, otherwise
    on `jobs` processes, which are then kept for the parts that follow (WeasyPrint and the
    fonts loaded once per process, not once per part). The documents of one build (handout,
    answers, slides) share one renderer: what `start` is given renders while the handout's
    later parts, which wait for the chapters' page counts, are still being made."""

    def __init__(self, site_dir: Path, cache_dir: Path, jobs: int):
        self.site_dir, self.cache_dir, self.jobs = site_dir, cache_dir, jobs
        self.pool: ProcessPoolExecutor | None = None
        self.running: dict[Path, Future] = {}
        self.targets: dict[tuple[str, bool], Path] = {}
        self.rendered = 0  # parts WeasyPrint had to make; the others came from the cache
        self.warned = False  # that the fonts are subset slowly
        self.used: set[Path] = set()  # the parts the documents are made of

    def __enter__(self) -> PartRenderer:
        return self

    def __exit__(self, *exc) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)

    def warm_up(self, font_family: str) -> None:
        """Start the processes and let them load WeasyPrint and the fonts (~1 s of CPU each) while the
        experiments' worker server starts, which keeps only one core busy; the formulas of the handout are
        then typeset on them while this process writes the site. Only for a build whose PDF parts are not all
        cached (a cold build, a changed experiment): a pool nobody uses costs more than it saves."""
        if self.pool is None and self.jobs > 1:
            self.pool = ProcessPoolExecutor(self.jobs, mp_context=get_context("spawn"))
            for _ in range(self.jobs):
                self.pool.submit(_load_weasyprint, font_family)

    def target(self, html: str, tagged: bool = True) -> Path:
        if (html, tagged) not in self.targets:  # the key hashes every figure the part shows: once
            self.targets[html, tagged] = self.cache_dir / f"{part_key(html, self.site_dir, tagged)}.pdf"
        return self.targets[html, tagged]

    def _warn_if_slow_subsetting(self, subset_by_harfbuzz: bool) -> None:
        """Once, from what render_part reports: importing WeasyPrint here to ask would cost this process a second."""
        if not subset_by_harfbuzz and not self.warned:
            warnings.warn(SUBSET_HINT)
            self.warned = True

    def start(self, documents: list[tuple[str, bool]]) -> None:
        """Begin rendering the (HTML, tagged) documents that are neither cached nor under way, in the
        order given (the costliest first makes the pool finish soonest); `render` collects them. With
        one part to make and none under way, it is left to `render`, in this process: a pool would
        cost more to start than it saves."""
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        missing = {self.target(html, tagged): (html, tagged) for html, tagged in documents}
        missing = {t: d for t, d in missing.items() if t not in self.running and RenderedPart.load(t) is None}
        if not missing:
            return
        if self.pool is None and (len(missing) > 1 or self.running) and self.jobs > 1:
            self.pool = ProcessPoolExecutor(self.jobs, mp_context=get_context("spawn"))
        if self.pool is not None:
            for target, (html, tagged) in missing.items():
                self.rendered += 1
                self.running[target] = self.pool.submit(render_part, html, self.site_dir, target, tagged)

    def render(self, htmls: list[str], tagged: bool = True) -> list[RenderedPart]:
        """Tagged parts carry their structure tree (report/book_tags.py joins them); the page-number
        overlay is not tagged: it is drawn into every page as an artifact."""
        self.start([(html, tagged) for html in sorted(htmls, key=len, reverse=True)])  # the longest first
        parts, targets = [], [self.target(html, tagged) for html in htmls]
        for html, target in zip(htmls, targets):
            if target in self.running:
                self._warn_if_slow_subsetting(self.running.pop(target).result())
            part = RenderedPart.load(target)
            if part is None:
                self.rendered += 1
                self._warn_if_slow_subsetting(render_part(html, self.site_dir, target, tagged))
                part = RenderedPart.load(target)
            parts.append(part)
        self.used.update(targets)
        return parts


class MissingLibraryError(OSError):
    """A system library WeasyPrint loads at import is not installed."""


# The libraries WeasyPrint loads when it is imported (weasyprint/text/ffi.py), and the fast subsetter.
PDF_LIBRARIES = ("gobject-2.0", "pango-1.0", "pangoft2-1.0", "harfbuzz", "fontconfig")


def check_pdf_libraries() -> None:
    """Before any experiment runs: a missing Pango would otherwise stop the build a minute in, at the PDF.
    Looks the libraries up rather than importing WeasyPrint, which costs a second on every rebuild."""
    find = ctypes.util.find_library
    missing = [name for name in PDF_LIBRARIES if find(name) is None]
    if missing:
        raise MissingLibraryError(
            f"the PDF needs {', '.join('lib' + m for m in missing)}, which this system lacks; on Debian/Ubuntu run "
            "`sudo apt-get install libpangoft2-1.0-0 libharfbuzz-subset0`, on macOS `brew install pango harfbuzz`, "
            "or build without the PDF (--no-pdf)")
    if find("harfbuzz-subset") is None:
        warnings.warn(SUBSET_HINT)


def _load_weasyprint(font_family: str) -> None:
    from weasyprint import HTML

    HTML(string=f'<p style="font-family: {font_family}">预热</p>').render()  # fontconfig, Pango, the CJK font


def render_part(html: str, site_dir: Path, target: Path, tagged: bool = True) -> bool:
    """The part into `target`; whether WeasyPrint subset its fonts with HarfBuzz (fast)."""
    from weasyprint import HTML
    from weasyprint.text import ffi

    document = HTML(string=html, base_url=f"{site_dir}/").render()
    part = RenderedPart(target, len(document.pages))
    for number, page in enumerate(document.pages):
        for name, (x, y, *_) in page.anchors.items():  # a box split over pages: its first page
            part.anchors.setdefault(name, (number, x * PX_TO_PT, (page.height - y) * PX_TO_PT))
    for number, page in enumerate(document.pages):  # links to other parts: the assembly adds them,
        outside = [link for link in page.links if link[0] == "internal" and link[1] not in part.anchors]
        part.links += [Link(number, name, _points(rect, page.height)) for _, name, rect, _ in outside]
        page.links = [link for link in page.links if link not in outside]  # WeasyPrint would drop them with an error
    tmp = target.with_suffix(".tmp")
    pdf = document.write_pdf(pdf_variant=None, uncompressed_pdf=False, pdf_tags=tagged)
    if tagged:
        import pikepdf

        from report.actual_text import spell_out_code_lines
        from report.book_tags import adopt_orphans

        with pikepdf.open(io.BytesIO(pdf)) as tagged_pdf:
            spell_out_code_lines(tagged_pdf)
            adopt_orphans(tagged_pdf)
            tagged_pdf.save(tmp, deterministic_id=True)
    else:
        tmp.write_bytes(pdf)
    tmp.replace(target)
    part.save()
    return ffi.harfbuzz_subset is not None


def _points(rect: tuple[float, float, float, float], page_height: float) -> tuple[float, float, float, float]:
    x1, y1, x2, y2 = rect
    return x1 * PX_TO_PT, (page_height - y2) * PX_TO_PT, x2 * PX_TO_PT, (page_height - y1) * PX_TO_PT
