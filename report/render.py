"""Turn experiment results into the pages: numbering, template helpers, Jinja2 rendering.

Section templates call helpers (figure, table, ref, tex, ...) that return markup made by
the macros in templates/macros.html; Python supplies the data, templates the HTML.
"""
from __future__ import annotations

import traceback
from functools import lru_cache, partial
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import re

from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateError, select_autoescape
from jinja2.ext import Extension
from markupsafe import Markup

from report import claims
from report.discover import ROOT
from report.figures import phone_variant, print_variant, svg_size
from report.formulas import FormulaError, FormulaRenderer
from report.exercises import NOTEBOOK, PRINT, SITE, ExerciseError, ExerciseHelpers, ExerciseSet
from report.highlight import highlight
from report.model import Listing, Result
from report.runner import Outcome
from report.typography import typeset

TEMPLATES_DIR = ROOT / "templates"


class RenderError(Exception):
    pass


class Lookup:
    """Attribute access for templates (m.name, sections.name); an unknown name is a RenderError
    that says what exists, never an empty string in the output."""

    def __init__(self, values: dict[str, Any], what: str):
        self._values, self._what = values, what

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return self._values[name]
        except KeyError:
            known = ", ".join(sorted(self._values)) or "none"
            raise RenderError(f"{self._what} {name!r} is not defined (known: {known})") from None

    __getitem__ = __getattr__


@dataclass
class FigureView:
    number: int
    anchor: str
    src: str  # path inside the site
    source: Path  # exported SVG in the cache
    print_src: str  # the copy with real text, for the PDF only
    caption: str
    alt: str
    # CSS pixels: the browser keeps room for a lazily loaded figure, so a link into the page
    # lands on its target before the figures above it have loaded (Safari has no scroll anchoring)
    size: tuple[int, int] | None
    phone_src: str = ""  # panels stacked in one column, larger text: what narrow screens load
    phone_size: tuple[int, int] | None = None


@dataclass
class TableView:
    number: int
    anchor: str
    header: list[str]
    rows: list[list[str]]
    caption: str


@dataclass
class SectionView:
    name: str
    title: str
    number: str
    level: int
    m: Lookup
    result: Result
    figures: dict[str, FigureView]
    tables: dict[str, TableView]
    children: list["SectionView"] = field(default_factory=list)
    body: Markup = Markup("")
    notebook: str = ""  # path inside the site of the section's notebook (top-level sections), set by the writer
    notebook_link: str = ""  # what the heading's 「下载 Notebook」 points to; "" shows no link
    colab_link: str = ""  # 「在 Colab 中打开」 (report/notebooks.py), when the site is on GitHub Pages


def build_views(outcomes: list[Outcome]) -> list[SectionView]:
    """Number figures and tables (图 1, 表 1, ...) in reading order; nest subsections."""
    views, top = [], []
    figure_no = table_no = 0
    for outcome in outcomes:
        e, result = outcome.experiment, outcome.result
        figures, tables = {}, {}
        for f in result.figures:
            figure_no += 1
            phone = phone_variant(f.path)
            figures[f.name] = FigureView(figure_no, f"fig-{e.name}-{f.name}", f"figures/{e.name}/{f.path}",
                                         outcome.directory / f.path,
                                         f"figures/{e.name}/{print_variant(f.path)}", f.caption, f.alt, f.size,
                                         f"figures/{e.name}/{phone}", svg_size(outcome.directory / phone))
        for t in result.tables:
            table_no += 1
            tables[t.name] = TableView(table_no, f"tab-{e.name}-{t.name}", t.header, t.rows, t.caption)
        view = SectionView(e.name, e.title, e.number, len(e.order), Lookup(result.metrics, f"{e.name}: metric"),
                           result, figures, tables)
        views.append(view)
        parent = next((v for v in reversed(top) if v.number == str(e.order[0])), None)
        if view.level > 1 and parent is not None:
            parent.children.append(view)
        else:
            top.append(view)
    return top


def walk(sections: list[SectionView]):
    for s in sections:
        yield s
        yield from walk(s.children)


class RawTexStrings(Extension):
    """Lets templates write tex(r"\frac{a}{b}"): Jinja has no raw strings and would read \f as an escape."""

    PATTERN = re.compile(r'\b(i?tex)\(\s*r(["\'])(.*?)\2\s*\)', re.DOTALL)

    def preprocess(self, source: str, name: str | None, filename: str | None = None) -> str:
        def escape(match: re.Match) -> str:
            return f'{match[1]}({match[2]}{match[3].replace(chr(92), chr(92) * 2)}{match[2]})'
        return self.PATTERN.sub(escape, source)


def fixed(value: float, digits: int = 2) -> str:
    return f"{value:.{digits}f}".replace("-", "−")


def pct(value: float, digits: int = 1) -> str:
    return f"{value * 100:.{digits}f}%".replace("-", "−")


def sci(value: float, digits: int = 2) -> Markup:
    mantissa, exponent = f"{value:.{digits}e}".split("e")
    return Markup(f"{mantissa.replace('-', '−')} × 10<sup>{int(exponent)}</sup>".replace("<sup>-", "<sup>−"))


def integer(value: float) -> str:
    return f"{round(value):,}".replace("-", "−")


@lru_cache(maxsize=None)
def environment(root: Path) -> Environment:
    """One per project and process: a rebuild in the same process (build.py --serve) compiles only
    the templates that changed since the last one (Jinja checks each file's mtime), not all of them."""
    env = Environment(loader=FileSystemLoader([root / "templates", TEMPLATES_DIR]), undefined=StrictUndefined,
                      autoescape=select_autoescape(["html"]), extensions=[RawTexStrings], trim_blocks=True, lstrip_blocks=True,
                      keep_trailing_newline=True)
    env.filters.update(fixed=fixed, pct=pct, sci=sci, int=integer)
    return env


@lru_cache(maxsize=None)
def compiled_condition(env: Environment, condition: str):
    return env.compile_expression(condition, undefined_to_none=False)


class PageRenderer:
    def __init__(self, formulas: FormulaRenderer, root: Path = ROOT):
        self.formulas = formulas
        self.env = environment(root)
        self.macros = self.env.get_template("macros.html").module
        self.claims: list[claims.Claim] = []  # declared by the sections of the last render for the site
        self.exercise_sets: list[ExerciseSet] = []  # the last print render's exercises, answers included
        self.answers_file: str | None = None  # the site links its exercises to answers.pdf when it is built
        self.compile_condition = partial(compiled_condition, self.env)

    def render_sections(self, sections: list[SectionView], numbers: dict[str, str] | None = None,
                        for_print: bool = False) -> None:
        """`numbers` names every discovered section, so sec() can mention one that --only left out;
        `for_print` points figures at their copies made for the PDF."""
        lookup = {s.name: s for s in walk(sections)}
        if not for_print:  # the handout shows the same sentences: their claims are checked once
            self.claims = []
        else:
            self.exercise_sets = []
        numbers = {**(numbers or {}), **{s.name: s.number for s in lookup.values()}}
        for section in lookup.values():
            section.body = self._render_section(section, lookup, numbers, for_print)

    def notebook_sections(self, sections: list[SectionView], numbers: dict[str, str] | None = None) -> dict[str, str]:
        """Each section's prose for a notebook (report/notebooks.py), keyed by name: formulas as $…$,
        references as plain text (图 3, 第 4 节), and markers (NOTEBOOK_MARK) where a figure, table,
        log or listing goes. Claims are not recorded again; `section.body` is left alone."""
        lookup = {s.name: s for s in walk(sections)}
        numbers = {**(numbers or {}), **{s.name: s.number for s in lookup.values()}}
        return {s.name: str(self._render_section(s, lookup, numbers, for_print=False, for_notebook=True))
                for s in lookup.values()}

    def page(self, template: str, **context: Any) -> str:
        return self.env.get_template(template).render(**context)

    def _render_section(self, section: SectionView, lookup: dict[str, SectionView], numbers: dict[str, str],
                        for_print: bool, for_notebook: bool = False) -> Markup:
        name = f"sections/{section.name}.html"
        data = dict(m=section.m, sections=Lookup(lookup, "section (in this build)"))
        def declare(condition: str, sentence: str) -> None:
            if not for_print and not for_notebook:
                self.claims.append(claims.declare(self.compile_condition, f"{section.number} {section.name}",
                                                  condition, sentence, data))
        helpers = (_NotebookHelpers if for_notebook else _SectionHelpers)(
            section, lookup, numbers, self.macros, self.formulas, declare, for_print)
        ex = helpers.exercises = ExerciseHelpers(section.name, section.number, section.title, section.level, self.macros,
                                                 NOTEBOOK if for_notebook else PRINT if for_print else SITE, self.answers_file)
        try:
            html = self.env.get_template(name).render(
                **data, figure=helpers.figure, table=helpers.table, listing=helpers.listing, log=helpers.log,
                ref=helpers.ref, sec=helpers.sec, tex=helpers.tex, itex=helpers.itex, claim=helpers.claim,
                exercises=ex.exercises, exercise=ex.exercise, answer=ex.answer)
            helpers.check_all_placed()
        except (RenderError, FormulaError, TemplateError, claims.ClaimError, ExerciseError) as exc:
            raise RenderError(f"templates/{name}{_template_line(exc, name)}: {exc}") from exc
        if for_print and ex.set.items:
            self.exercise_sets.append(ex.set)
        if for_notebook:  # Markdown: no anchors, no typesetting spans
            return Markup(html)
        return Markup(typeset(anchor_headings(html, section.name)))


_HEADING = re.compile(r"<h([3-6])>(.*?)</h\1>", re.DOTALL)


def anchor_headings(html: str, section: str) -> str:
    """Give every heading a template writes an id and a link to itself (#), like section titles."""
    count = 0

    def anchor(match: re.Match) -> str:
        nonlocal count
        count += 1
        anchor_id = f"{section}-{count}"
        return (f'<h{match[1]} id="{anchor_id}">{match[2]}'
                f'<a class="anchor" href="#{anchor_id}" aria-label="本段链接">#</a></h{match[1]}>')
    return _HEADING.sub(anchor, html)


def _template_line(exc: Exception, name: str) -> str:
    lines = [f.lineno for f in traceback.extract_tb(exc.__traceback__) if f.filename.endswith(name)]
    lineno = getattr(exc, "lineno", None) or (lines[-1] if lines else None)
    return f", line {lineno}" if lineno else ""


class _SectionHelpers:
    """The functions a section template calls; they also check each item is placed once."""

    def __init__(self, section: SectionView, lookup: dict[str, SectionView], numbers: dict[str, str],
                 macros, formulas: FormulaRenderer, declare, for_print: bool = False):
        self.section, self.lookup, self.macros, self.formulas = section, lookup, macros, formulas
        self.for_print = for_print
        self.numbers = numbers  # every discovered section's number, built or not
        self.placed: list[tuple[str, str]] = []  # (kind, name): names are unique per kind
        self.declare = declare  # records a claim with the PageRenderer
        self.exercises: ExerciseHelpers | None = None  # set by the PageRenderer

    def _place(self, kind: str, name: str, items: dict) -> Any:
        if name not in items:
            raise RenderError(f"{kind} {name!r} is not in the result of {self.section.name!r} "
                              f"(it has: {', '.join(items) or 'none'})")
        if (kind, name) in self.placed:
            raise RenderError(f"{kind} {name!r} is placed twice")
        self.placed.append((kind, name))
        return items[name]

    def figure(self, name: str) -> Markup:
        view = self._place("figure", name, self.section.figures)
        return Markup(self.macros.figure(view, view.print_src if self.for_print else view.src, self.for_print))

    def table(self, name: str) -> Markup:
        return Markup(self.macros.table(self._place("table", name, self.section.tables)))

    def listing(self, name: str, folded: bool = False) -> Markup:
        """`folded`: code that ran for speed rather than to teach, shown closed under 本次构建实际运行的代码."""
        listings = {item.name: item for item in self.section.result.listings}
        item: Listing = self._place("listing", name, listings)
        if folded and self.for_print:  # pages of code that ran for speed: the site shows it, the handout says where
            return Markup(self.macros.folded_note(item))
        return Markup(self.macros.listing(item, highlight(item.code, item.language), folded))

    def log(self, name: str) -> Markup:
        return Markup(self.macros.log(name, self._place("log", name, self.section.result.logs)))

    def ref(self, target: str) -> Markup:
        return Markup(self.macros.ref(*self._referenced(target)))

    def _referenced(self, target: str) -> tuple[str, FigureView | TableView]:
        """The figure or table that `target` ("name" or "section.name") names, and its label 图 or 表."""
        section_name, _, name = target.rpartition(".")
        section = self.lookup.get(section_name) if section_name else self.section
        if section is None:
            raise RenderError(f"ref({target!r}): no section {section_name!r} in this build")
        if name in section.figures:
            return "图", section.figures[name]
        if name in section.tables:
            return "表", section.tables[name]
        raise RenderError(f"ref({target!r}): {section.name!r} has no figure or table {name!r}")

    def sec(self, name: str) -> Markup:
        """A link to a built section; plain text for one left out by --only; an error for a typo."""
        if name in self.lookup:
            return Markup(self.macros.sec(self.lookup[name]))
        if name in self.numbers:
            return Markup(self.macros.sec_unbuilt(self.numbers[name]))
        raise RenderError(f"sec({name!r}): no such section (known: {', '.join(self.numbers)})")

    def tex(self, latex: str) -> Markup:
        return Markup(self.macros.formula(self.formulas.render(latex, display=True, for_print=self.for_print)))

    def itex(self, latex: str) -> Markup:
        return Markup(self.macros.formula(self.formulas.render(latex, display=False, for_print=self.for_print)))

    def claim(self, condition: str, caller) -> Markup:
        """{% call claim("m.a > m.b") %}sentence{% endcall %}: the sentence, with its condition recorded."""
        sentence = caller()
        self.declare(condition, sentence)
        if self.exercises is not None:
            self.exercises.note_claim()
        return Markup(sentence)

    def check_all_placed(self) -> None:
        """Every figure and table appears once, in the order the experiment returned them."""
        for kind, items in (("figure", self.section.figures), ("table", self.section.tables)):
            placed = [n for k, n in self.placed if k == kind]
            if placed != list(items):
                missing = [n for n in items if n not in placed]
                problem = f"not placed: {', '.join(missing)}" if missing else \
                    f"placed in the order {placed}, but numbered in the order {list(items)}"
                raise RenderError(f"{kind}s {problem}")


# Where a figure, table, log or listing goes in a section's notebook prose: \ue000kind:name\ue001.
# Private-use characters, so no template text can contain one by accident.
NOTEBOOK_MARK = re.compile("\ue000(figure|table|log|listing|folded|exercise|exercise_end):(\\w+)\ue001")


class _NotebookHelpers(_SectionHelpers):
    """The same helpers for a notebook's Markdown: items become markers the notebook writer turns
    into cells, formulas stay LaTeX, references become the text a reader sees (图 3, 第 4 节)."""

    def _mark(self, kind: str, name: str) -> Markup:
        return Markup(f"\ue000{kind}:{name}\ue001")

    def figure(self, name: str) -> Markup:
        self._place("figure", name, self.section.figures)
        return self._mark("figure", name)

    def table(self, name: str) -> Markup:
        self._place("table", name, self.section.tables)
        return self._mark("table", name)

    def listing(self, name: str, folded: bool = False) -> Markup:
        self._place("listing", name, {item.name: item for item in self.section.result.listings})
        return self._mark("folded" if folded else "listing", name)

    def log(self, name: str) -> Markup:
        self._place("log", name, self.section.result.logs)
        return self._mark("log", name)

    def ref(self, target: str) -> Markup:
        label, item = self._referenced(target)
        return Markup(f"{label} {item.number}")

    def sec(self, name: str) -> Markup:
        number = self.lookup[name].number if name in self.lookup else self.numbers.get(name)
        if number is None:
            raise RenderError(f"sec({name!r}): no such section (known: {', '.join(self.numbers)})")
        return Markup(f"第 {number} 节")

    def tex(self, latex: str) -> Markup:
        return Markup(f"\ue004{latex}\ue005")  # the writer makes $$…$$ of it, $…$ of an inline one

    def itex(self, latex: str) -> Markup:
        return Markup(f"\ue002{latex}\ue003")
