"""The lecture's slides: site/slides.html (a reveal.js deck) and site/slides.pdf (16:9 pages, WeasyPrint).

A third view of the same gathered sections, beside the site and the handout. Each section may have
a slide template, templates/slides/<name>.html, which calls

    {% call slide("标题", notes=prose("前向传播")) %} …content… {% endcall %}

once per slide, with the helpers the section templates have (figure, table, tex, itex, ref, sec, m,
sections, claim) plus `stat` (a number that matters, large) and `prose` (the section's own prose
under one of its headings, from the site's render: what the lecturer says, in the speaker notes).
A figure or table on a slide is the view the page shows, so it carries the page's number.
Every top-level section also gets a title slide, with the section's opening prose as its notes.

The deck is rendered twice: for the browser (MathML formulas, the figures' outline SVGs, notes)
and for print (formula SVGs, the figures' copies with real text, no notes), one page per slide.
"""
from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from functools import lru_cache
from html import unescape as html_unescape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from jinja2 import TemplateError, TemplateNotFound
from markupsafe import Markup

from report import claims
from report.discover import ROOT
from report.fonts import CjkFont
from report.formulas import FormulaError
from report.pdf import PartRenderer
from report.render import FigureView, Lookup, PageRenderer, RenderError, SectionView, TableView, walk

DECK = "slides.html"
PDF = "slides.pdf"
REVEAL_DIR = ROOT / "templates" / "static" / "reveal"
REVEAL_FILES = ("reveal.js", "reveal.css", "notes.js", "LICENSE")
# The slide's size in CSS pixels: reveal.js scales it to the screen, the PDF's page is this size.
WIDTH, HEIGHT = 1280, 720
# The box a figure fills, in CSS pixels: under the title with a line or two below it ("wide"), with a
# row of numbers or a formula below or above it ("short"), with both ("low"), or beside a column of
# text (on a slide of layout "side", its default there).
FIGURE_BOXES = {"wide": (1180, 430), "short": (1180, 320), "low": (1180, 250), "side": (700, 440)}
LAYOUTS = ("", "side")


@dataclass
class Slide:
    kind: str  # "cover", "title" (a section's first slide) or "content"
    section: str  # the section's name; "" for the cover
    label: str  # which section: "3 反向传播算法" on a content slide, "3" on a title slide
    title: str
    body: Markup = Markup("")
    notes: Markup = Markup("")  # what the lecturer says (speaker view); the print render has none
    layout: str = ""  # a CSS class of the slide's body: "side" puts a figure beside its text


@dataclass
class Deck:
    slides: list[Slide] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.slides)


def fit(size: tuple[int, int] | None, box: tuple[int, int]) -> tuple[int, int]:
    """The largest size with the figure's proportions that fits the box: figures on slides are large."""
    width, height = size or box
    scale = min(box[0] / width, box[1] / height)
    return round(width * scale), round(height * scale)


class SlideHelpers:
    """What a slide template calls; the same objects the section templates place, numbered the same."""

    def __init__(self, renderer: PageRenderer, section: SectionView, lookup: dict[str, SectionView],
                 numbers: dict[str, str], for_print: bool, record_claim):
        self.renderer, self.section, self.lookup, self.numbers = renderer, section, lookup, numbers
        self.for_print, self.record_claim = for_print, record_claim
        self.macros = renderer.env.get_template("slides_macros.html").module
        self.slides: list[Slide] = []
        self.layout = ""  # of the slide being rendered: decides the box a figure fits in

    def slide(self, title: str, notes: str = "", layout: str = "", caller=None) -> str:
        if layout not in LAYOUTS:
            raise RenderError(f"slide({title!r}): layout {layout!r} is not one of {LAYOUTS}")
        self.layout = layout or "wide"
        body = Markup(caller())
        self.slides.append(Slide("content", self.section.name, label(self.section), title, body,
                                 Markup("") if self.for_print else Markup(notes), layout))
        return ""

    def figure(self, name: str, box: str = "") -> Markup:
        view = self._item("figure", name, self.section.figures)
        if box and box not in FIGURE_BOXES:
            raise RenderError(f"figure({name!r}): box {box!r} is not one of {', '.join(FIGURE_BOXES)}")
        width, height = fit(view.size, FIGURE_BOXES[box or self.layout or "wide"])
        return Markup(self.macros.figure(view, view.print_src if self.for_print else view.src, width, height))

    def table(self, name: str, dense: bool = False) -> Markup:
        """`dense`: smaller type, for a table of many rows or columns."""
        return Markup(self.macros.table(self._item("table", name, self.section.tables), dense))

    def _item(self, kind: str, name: str, items: dict[str, FigureView | TableView]) -> Any:
        if name not in items:
            raise RenderError(f"{kind} {name!r} is not in the result of {self.section.name!r} "
                              f"(it has: {', '.join(items) or 'none'})")
        return items[name]

    def ref(self, target: str) -> str:
        """「图 3」 as text: the deck has no page to link into."""
        section_name, _, name = target.rpartition(".")
        section = self.lookup.get(section_name) if section_name else self.section
        if section is None:
            raise RenderError(f"ref({target!r}): no section {section_name!r} in this build")
        if name in section.figures:
            return f"图 {section.figures[name].number}"
        if name in section.tables:
            return f"表 {section.tables[name].number}"
        raise RenderError(f"ref({target!r}): {section.name!r} has no figure or table {name!r}")

    def sec(self, name: str) -> str:
        number = self.lookup[name].number if name in self.lookup else self.numbers.get(name)
        if number is None:
            raise RenderError(f"sec({name!r}): no such section (known: {', '.join(self.numbers)})")
        return f"第 {number} 节"

    def tex(self, latex: str) -> Markup:
        return Markup(self.renderer.macros.formula(self.renderer.formulas.render(latex, True, self.for_print)))

    def itex(self, latex: str) -> Markup:
        return Markup(self.renderer.macros.formula(self.renderer.formulas.render(latex, False, self.for_print)))

    def stat(self, value: Any, what: str) -> Markup:
        return Markup(self.macros.stat(value, what))

    def claim(self, condition: str, caller) -> Markup:
        sentence = caller()
        self.record_claim(condition, sentence)
        return Markup(sentence)

    def prose(self, heading: str | None = None, paragraphs: int | None = None) -> Markup:
        """The section's prose under `heading` (None: before its first heading), for the notes."""
        if self.for_print:
            return Markup("")
        return notes_from(self.section.body, heading, paragraphs, where=self.section.name)


def label(section: SectionView) -> str:
    return f"{section.number} {section.title}"


_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
_LINK = re.compile(r'<a class="anchor"[^>]*>.*?</a>|<a\b[^>]*>|</a>', re.S)  # the anchor "#" goes, a link keeps its text
_TAG = re.compile(r"<[^>]+>")


@dataclass
class Block:
    tag: str
    classes: list[str]
    html: str


class _Blocks(HTMLParser):
    """The top-level elements of a fragment, with their source text. Not a tree builder: the build's
    own HTML keeps a display formula (a <div>) inside its paragraph, where an HTML5 parser would
    close the paragraph before it."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=False)
        self.source, self.blocks, self.depth, self.start, self.opening = html, [], 0, 0, ("", [])
        self.lines = [0]
        for line in html.splitlines(keepends=True):
            self.lines.append(self.lines[-1] + len(line))
        self.feed(html)
        self.close()

    def _offset(self) -> int:
        line, column = self.getpos()
        return self.lines[line - 1] + column

    def handle_starttag(self, tag, attrs):
        if self.depth == 0:
            self.start, self.opening = self._offset(), (tag, (dict(attrs).get("class") or "").split())
        if tag not in _VOID:
            self.depth += 1
        elif self.depth == 0:
            self._close_block(self._offset() + len(self.get_starttag_text()))

    def handle_startendtag(self, tag, attrs):
        if self.depth == 0:
            self.start, self.opening = self._offset(), (tag, (dict(attrs).get("class") or "").split())
            self._close_block(self._offset() + len(self.get_starttag_text()))

    def handle_endtag(self, tag):
        self.depth -= 1
        if self.depth == 0:
            end = self.source.index(">", self._offset()) + 1
            self._close_block(end)

    def _close_block(self, end: int) -> None:
        self.blocks.append(Block(self.opening[0], self.opening[1], self.source[self.start:end]))


# Figures, tables and code (listings, folded or not) are never notes; they do not nest, and cut out
# first they spare the parser the thousands of tags of highlighted code.
_NOT_PROSE = re.compile(r"<(figure|details)\b.*?</\1>", re.S)


@lru_cache(maxsize=64)
def _blocks(body: str) -> list[Block]:
    """A section's body is parsed once for all the notes its slides take from it."""
    return _Blocks(_NOT_PROSE.sub("", body)).blocks


def notes_from(body: str, heading: str | None, paragraphs: int | None = None, where: str = "") -> Markup:
    """The paragraphs, lists and display formulas of a section's rendered body that follow `heading`
    (an <h3>'s text; None: before the first), up to the next heading; not its figures, tables or code.
    Links into the page become their text. An unknown heading is an error: a heading renamed in the
    prose cannot leave a slide without its notes."""
    blocks = _blocks(str(body))

    def text(block: Block) -> str:
        return " ".join(html_unescape(_TAG.sub("", _LINK.sub("", block.html))).split())
    headings = [text(b) for b in blocks if b.tag in ("h3", "h4")]
    if heading is not None and heading not in headings:
        raise RenderError(f"prose({heading!r}) in the slides of {where!r}: the section has no such heading "
                          f"(it has: {', '.join(headings) or 'none'})")
    current, kept = None, []
    for block in blocks:
        if block.tag in ("h3", "h4"):
            current = text(block)
        elif current == heading and (block.tag in ("p", "ul", "ol") or "equation" in block.classes):
            kept.append(block.html)
    if paragraphs is not None:
        kept = kept[:paragraphs]
    return Markup("\n".join(_LINK.sub("", html) for html in kept))


class SlideRenderer:
    def __init__(self, renderer: PageRenderer):
        self.renderer = renderer

    def deck(self, sections: list[SectionView], numbers: dict[str, str], book: Any, for_print: bool = False) -> Deck:
        """The deck for the built sections. The browser's render (not `for_print`) records the slides'
        claims with the renderer, beside the sections' own, and needs the sections' site bodies."""
        lookup = {s.name: s for s in walk(sections)}
        numbers = {**numbers, **{s.name: s.number for s in lookup.values()}}
        deck = Deck([Slide("cover", "", "", book.title, notes=Markup(""))])
        for top in sections:
            title_notes = Markup("") if for_print else notes_from(top.body, None, where=top.name)
            deck.slides.append(Slide("title", top.name, top.number, top.title, notes=title_notes))
            for section in walk([top]):
                deck.slides += self._section_slides(section, lookup, numbers, for_print)
        return deck

    def _section_slides(self, section: SectionView, lookup: dict[str, SectionView], numbers: dict[str, str],
                        for_print: bool) -> list[Slide]:
        name = f"slides/{section.name}.html"
        data = dict(m=section.m, sections=Lookup(lookup, "section (in this build)"))

        def record_claim(condition: str, sentence: str) -> None:
            if not for_print:
                self.renderer.claims.append(claims.declare(
                    self.renderer.compile_condition, f"{section.number} {section.name} (slides)", condition,
                    sentence, data))
        helpers = SlideHelpers(self.renderer, section, lookup, numbers, for_print, record_claim)
        try:
            template = self.renderer.env.get_template(name)
        except TemplateNotFound:
            return []  # a section without slides: its title slide (top level) stands for it
        try:
            template.render(**data, slide=helpers.slide, figure=helpers.figure, table=helpers.table,
                            ref=helpers.ref, sec=helpers.sec, tex=helpers.tex, itex=helpers.itex,
                            stat=helpers.stat, claim=helpers.claim, prose=helpers.prose)
        except (RenderError, FormulaError, TemplateError, claims.ClaimError) as exc:
            raise RenderError(f"templates/{name}: {exc}") from exc
        return helpers.slides


def prepare(renderer: PageRenderer, sections: list[SectionView], numbers: dict[str, str], book: Any) -> Deck:
    """The browser's deck, rendered while the sections still carry the site's prose (the notes quote
    it) and before the site's math font is cut (the deck's formulas use it too)."""
    return SlideRenderer(renderer).deck(sections, numbers, book)


def write_deck(deck: Deck, renderer: PageRenderer, book: Any, site_dir: Path, pdf: bool) -> None:
    """slides.html and the reveal.js files it loads; nothing is fetched from elsewhere."""
    html = renderer.page("slides.html", book=book, slides=deck.slides, width=WIDTH, height=HEIGHT,
                         css=renderer.page("slides.css", font=None, width=WIDTH, height=HEIGHT),
                         pdf_file=PDF if pdf else None)
    (site_dir / DECK).write_text(html, encoding="utf-8")
    (site_dir / "reveal").mkdir(exist_ok=True)
    for name in REVEAL_FILES:
        shutil.copyfile(REVEAL_DIR / name, site_dir / "reveal" / name)


def print_html(renderer: PageRenderer, sections: list[SectionView], numbers: dict[str, str], book: Any,
               font: CjkFont) -> str:
    """The deck for WeasyPrint: the same content with formulas as SVG, one page per slide. One document:
    drawing the figures costs ~10 s of CPU, and split into parts for two cores it cost ~5 s more
    (each process loads WeasyPrint and the fonts, each part embeds its own font subset)."""
    deck = SlideRenderer(renderer).deck(sections, numbers, book, for_print=True)
    css = renderer.page("slides.css", font=font, width=WIDTH, height=HEIGHT)
    return renderer.page("slides_print.html", book=book, slides=deck.slides, first=1, total=len(deck), css=css,
                         font=font, width=WIDTH, height=HEIGHT)


def write_pdf(html: str, parts: PartRenderer, site_dir: Path) -> int:
    """slides.pdf from `print_html`, rendered (or taken from the cache) like a handout part: a prose
    edit, which changes only the notes, renders nothing. Untagged: read on screen or on paper.
    The number of pages."""
    from report.pdf_fonts import write_small  # pikepdf: only when a PDF is made

    (part,) = parts.render([html], tagged=False)
    write_small(part.pdf, site_dir / PDF)
    return part.pages
