"""Formulas, typeset at build time from LaTeX, twice over.

The site gets MathML (latex2mathml, tidied for MathML Core): browsers typeset it natively, so a
formula can be found, copied and read by a screen reader, and it follows the text's colour. The
handout gets SVG (ziamath), because WeasyPrint does not render MathML; each SVG is typeset once and
kept on disk. Both routes also give a plain linear reading of the formula ("a(1 − a)") that the
handout lays invisibly over the image, so text extracted from the PDF is not missing it."""
from __future__ import annotations

import hashlib
import io
import json
import math
import os
import re
import unicodedata
import xml.etree.ElementTree as ET
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from pathlib import Path

from markupsafe import Markup

SIZE = 20.0  # ziamath's units per em; the image is then sized in em to follow the text
TEXT_SIZES = 24  # font sizes per octave for the text laid over a formula
STYLE = "one-path-1"  # part of each SVG's cache name: change it when the output changes
_DIMENSIONS = re.compile(r'width="([\d.]+)" height="([\d.]+)"')
_UNKNOWN_COMMAND = re.compile(r">(\\[A-Za-z]+)<")  # latex2mathml keeps what it cannot parse as text


def _code_version() -> str:
    """Part of each MathML cache name: this file (the tidying) and the converter's version."""
    from importlib.metadata import version

    return hashlib.sha256(Path(__file__).read_bytes() + version("latex2mathml").encode()).hexdigest()[:16]


_CODE = _code_version()
_XMLNS = ' xmlns="http://www.w3.org/1998/Math/MathML"'


class FormulaError(ValueError):
    pass


@dataclass(frozen=True)
class Formula:
    latex: str
    display: bool
    text: str  # linear reading, e.g. "σ′(z) = σ(z)(1 − σ(z))": the PDF's extractable text
    mathml: tuple[Markup, ...] = ()  # site: <math> elements; a display formula's parts may wrap apart
    file: str = ""  # handout: name of the SVG under math/
    width_em: float = 0.0
    height_em: float = 0.0
    baseline_em: float = 0.0  # distance of the baseline below the image's bottom edge (negative)

    @property
    def text_size_em(self) -> float:
        """A font size at which `text` (in the handout's sans serif) is no wider than the image: text
        sticking out over the words after it gets them mixed up when a PDF's text is extracted.
        Rounded down to one of a few sizes, each 3% smaller than the next: Pango looks up fonts (and
        the fallbacks for Greek and math signs) once per size, and a size of its own for each of
        ~200 formulas cost 3.5 ms a line, a third of answers.pdf. Not coarser: text much smaller
        than the line's is taken for a line of its own by text extractors (pdftotext)."""
        estimate = sum(0.3 if c in " ()[]{},.;:|′/" else 0.62 for c in self.text)  # ems, on the wide side
        fitting = min(1.0, self.width_em / estimate) if estimate else 1.0
        return 2 ** (math.floor(math.log2(fitting) * TEXT_SIZES + 1e-9) / TEXT_SIZES) if fitting > 0 else 1.0


class FormulaRenderer:
    def __init__(self, cache_dir: Path):
        self.cache_dir = cache_dir
        self.used: dict[str, Path] = {}  # file name -> cached SVG the handout shows, for the writer to copy
        self.characters: set[str] = set()  # what the site's MathML shows: the math font keeps these
        self.ahead: Executor | None = None
        self.typesetting: dict[Path, Future] = {}

    def typeset_ahead(self, executor: Executor) -> None:
        """Typeset the handout's SVGs in `executor` as soon as the site's render meets their formulas,
        and subset the math font there (math_font): in a cold build, ziamath's ~3.5 s and fontTools'
        ~1.3 s of CPU then run beside the site's writing (on the PDF processes, idle until their parts
        come) instead of holding up the handout's render."""
        self.ahead = executor

    def render(self, latex: str, display: bool, for_print: bool = False) -> Formula:
        """MathML for the site; with `for_print`, an SVG for the handout."""
        parts, text, characters = self._mathml(latex, display)
        if not for_print:
            self.characters.update(characters)
            if self.ahead is not None:
                self._typeset_ahead(latex, display)
            return Formula(latex, display, text, tuple(map(Markup, parts)))
        svg_path, meta_path = self._svg_paths(latex, display)
        if svg_path in self.typesetting:
            self.typesetting.pop(svg_path).result()  # its FormulaError, if any, is raised here
        elif not (svg_path.exists() and meta_path.exists()):
            typeset_svg(latex, display, svg_path, meta_path)
        width, height, yofst = map(float, meta_path.read_text().split())
        self.used[svg_path.name] = svg_path
        return Formula(latex, display, text, (), svg_path.name, width / SIZE, height / SIZE, yofst / SIZE)

    def _svg_paths(self, latex: str, display: bool) -> tuple[Path, Path]:
        """Where the handout's SVG of a formula and its size are cached."""
        digest = hashlib.sha256(f"{STYLE}:{display}:{latex}".encode()).hexdigest()[:16]
        return self.cache_dir / f"{digest}.svg", self.cache_dir / f"{digest}.txt"

    def _typeset_ahead(self, latex: str, display: bool) -> None:
        svg_path, meta_path = self._svg_paths(latex, display)
        if svg_path not in self.typesetting and not (svg_path.exists() and meta_path.exists()):
            self.typesetting[svg_path] = self.ahead.submit(typeset_svg, latex, display, svg_path, meta_path)

    def _mathml(self, latex: str, display: bool) -> tuple[list[str], str, str]:
        """The MathML parts, the linear text and the characters shown, kept on disk like the SVGs
        (the site and the handout each ask for every formula; a rebuild should not convert again)."""
        digest = hashlib.sha256(f"{_CODE}:{display}:{latex}".encode()).hexdigest()[:16]
        path = self.cache_dir / f"{digest}.json"
        if path.exists():
            return tuple(json.loads(path.read_text(encoding="utf-8")))
        elements = to_mathml(latex, display)
        parts = [ET.tostring(e, encoding="unicode") for e in elements]
        text = " ".join(linear_text(e) for e in elements)
        characters = "".join(sorted({c for e in elements for node in e.iter() for c in node.text or ""}))
        _write_whole(path, json.dumps([parts, text, characters], ensure_ascii=False))
        return parts, text, characters

    def math_font(self) -> Future:
        """STIX Two Math (SIL OFL 1.1, shipped with ziamath) cut down to the characters the site's
        formulas use, as WOFF2 (~1.5 MB to tens of kB): phones without a math font of their own
        (most Android) still get stretchy brackets and proper fraction layout, with the site offline.
        A Future of its path: with typeset_ahead, the ~1.5 s of subsetting run in that executor
        while this process writes the pages."""
        characters = "".join(sorted(self.characters | set(_ALWAYS)))
        digest = hashlib.sha256(f"{FONT_STYLE}:{characters}".encode()).hexdigest()[:16]
        path = self.cache_dir / f"font-{digest}.woff2"
        if self.ahead is not None and not path.exists():
            return self.ahead.submit(_subset_font, characters, path)
        done = Future()
        done.set_result(path if path.exists() else _subset_font(characters, path))
        return done


def typeset_svg(latex: str, display: bool, svg_path: Path, meta_path: Path) -> None:
    """The handout's SVG of a formula and its size, into the cache (in this or another process)."""
    import ziamath

    from report import ziamath_rows

    ziamath_rows.apply()
    # Plain paths instead of <symbol>/<use>: WeasyPrint resolves every <use> by searching
    # the document, which made formulas a fifth of the PDF's rendering time.
    ziamath.config.svg2 = False
    try:
        laid_out = ziamath.Latex(latex, size=SIZE, inline=not display)
        svg = ET.tostring(one_path(laid_out.svgxml()), encoding="unicode")
    except Exception as exc:  # ziamath raises assorted errors on bad LaTeX
        raise FormulaError(f"cannot typeset {latex!r}: {type(exc).__name__} {exc}") from exc
    width, height = map(float, _DIMENSIONS.search(svg).groups())
    _write_whole(svg_path, svg)  # first: the formula is typeset once both are there
    _write_whole(meta_path, f"{width} {height} {laid_out.getyofst()}")


def _write_whole(path: Path, content: str | bytes) -> None:
    """Written under another name, then renamed: a reader (or another process) never sees half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp-{os.getpid()}")
    tmp.write_bytes(content.encode() if isinstance(content, str) else content)
    tmp.replace(path)


_MOVE_THEN_SAME_POINT = re.compile(r"(M (\S+ \S+) )L \2 ")  # ziamath starts every outline so: a line of length 0


def one_path(svg: ET.Element) -> ET.Element:
    """The formula's glyphs as one <path>, drawn over whatever else it has (fraction bars): WeasyPrint
    draws an SVG in Python, node by node, and a node costs about as much as the points of a glyph.
    The glyphs come from one font, their outlines all turn the same way: filled together under
    the nonzero rule, where two glyphs overlap stays filled, as when each is filled on its own."""
    outlines: list[str] = []

    def take_glyphs(parent: ET.Element, fill: str | None) -> None:
        for child in list(parent):
            if child.tag == "g" and set(child.attrib) <= {"fill"}:
                take_glyphs(child, child.get("fill", fill))
                if not len(child):
                    parent.remove(child)
            elif child.tag == "path" and set(child.attrib) <= {"d", "fill"} and child.get("fill", fill) == "black":
                outlines.append(_MOVE_THEN_SAME_POINT.sub(r"\1", child.get("d", "")))
                parent.remove(child)

    take_glyphs(svg, None)
    if outlines:
        ET.SubElement(svg, "path", {"d": "".join(outlines).strip(), "fill": "black"})
    return svg


FONT_FAMILY = "Lecture Math"  # a modified (subset) font may not carry the original's name
FONT_STYLE = "stix2-subset-3"  # part of the font's cache name: change it when the subset changes
# ASCII, and the mathematical italic letters browsers substitute for one-letter <mi> (text-transform: math-auto)
_ALWAYS = "".join(map(chr, [*range(0x20, 0x7F), 0x210E, 0x221A, *range(0x1D434, 0x1D468), *range(0x1D6E2, 0x1D71C)]))


def _subset_font(characters: str, path: Path) -> Path:
    from fontTools import subset
    from fontTools.ttLib import TTFont
    import ziamath

    source = Path(ziamath.__file__).parent / "fonts" / "STIXTwoMath-Regular.ttf"
    options = subset.Options()
    options.hinting = False  # browsers on screens of today hardly use TrueType hints
    options.layout_features = ["*"]  # ssty (script-size glyphs) and the rest
    options.name_IDs = [0, 1, 2, 3, 4, 5, 6, 13, 14]  # keep the copyright and licence
    font = TTFont(source, recalcTimestamp=False)  # the same bytes from every build
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=characters)
    subsetter.subset(font)
    for record in font["name"].names:  # OFL: a modified version goes by another name
        if record.nameID in (1, 3, 4, 6, 16):
            record.string = FONT_FAMILY.replace(" ", "") if record.nameID == 6 else FONT_FAMILY
    font.flavor = "woff2"
    woff2 = io.BytesIO()
    font.save(woff2)
    _write_whole(path, woff2.getvalue())
    return path


# --- LaTeX to MathML Core -------------------------------------------------------------------------

FUNCTIONS = {"log", "ln", "exp", "tanh", "sinh", "cosh", "sin", "cos", "tan", "max", "min", "arg", "softplus",
             "det", "sup", "inf", "lim"}
_QQUAD = "2em"  # the width latex2mathml gives \qquad: where a display formula may wrap
DISPLAY_UNBROKEN = 40  # characters of linear text up to which a display formula's part stays whole
_RELATIONS = set("=≈")
INLINE_UNBROKEN = 20  # characters of linear text up to which an inline formula is kept in one piece
_BREAK_AFTER = set("=<>≤≥≈∼∈⟹→+−")
_PRIMES = {"′", "″", "‴"}
_LARGE = {"∑", "∏", "∫", "⋃", "⋂"}
_ROWS = {"math", "mrow", "mstyle", "mtd", "msqrt"}  # elements whose children sit side by side
_OPENING = {"(", "[", "{", "|", "‖", "⟨"}
_CLOSING = {")", "]", "}", "|", "‖", "⟩"}
_FENCES = _OPENING | _CLOSING


def to_mathml(latex: str, display: bool) -> list[ET.Element]:
    """One <math> element per part: a display formula is cut at its top-level \\qquad so that its
    parts can wrap onto lines of their own on a narrow screen; an inline formula is one part."""
    from latex2mathml.converter import convert

    try:
        source = convert(latex, display="inline")
    except Exception as exc:  # latex2mathml raises assorted errors on bad LaTeX
        raise FormulaError(f"cannot typeset {latex!r}: {type(exc).__name__} {exc}".rstrip()) from exc
    unknown = _UNKNOWN_COMMAND.findall(source)
    if unknown:
        raise FormulaError(f"cannot typeset {latex!r}: unknown command {', '.join(unknown)}")
    root = ET.fromstring(source.replace(_XMLNS, ""))
    tidy(root, display)
    children = list(root[0]) if len(root) == 1 and root[0].tag == "mrow" else list(root)
    if display:
        groups, continued = [], []  # continued: a piece carries on the line of the one before, no gap
        for group in _split_at_qquad(children):
            pieces = _split_before_relations(group) if len(_row_text(group)) > DISPLAY_UNBROKEN else [group]
            groups += pieces
            continued += [False] + [True] * (len(pieces) - 1)
    elif len(linear_text(root)) > INLINE_UNBROKEN:
        groups = _split_after_operators(children)
    else:
        groups = [children]
    parts = []
    for index, group in enumerate(groups):
        part = ET.Element("math", {"displaystyle": "true"} if display else {})
        if display and continued[index]:
            part.set("class", "continued")
        row = ET.SubElement(part, "mrow") if len(group) > 1 else part
        row.extend(group)
        parts.append(part)
    return parts


def _split_after_operators(children: list[ET.Element]) -> list[list[ET.Element]]:
    """A long inline formula may break after a top-level relation or binary operator, as TeX
    breaks one in a paragraph: a <math> does not break inside, and a phone column is ~20 em."""
    groups: list[list[ET.Element]] = [[]]
    for index, child in enumerate(children):
        groups[-1].append(child)
        operator = child.tag == "mo" and (child.text or "") in _BREAK_AFTER
        unary = index == 0 or children[index - 1].tag == "mo"
        if operator and not unary and index < len(children) - 1:
            groups.append([])
    return groups


def _row_text(children: list[ET.Element]) -> str:
    row = ET.Element("mrow")
    row.extend(children)
    return linear_text(row)


def _split_before_relations(children: list[ET.Element]) -> list[list[ET.Element]]:
    """A long chain "a = b = c" in display may go on the next line before an "=", as TeX's
    multi-line displays break it: on a phone the chain then wraps instead of scrolling."""
    groups: list[list[ET.Element]] = [[]]
    for index, child in enumerate(children):
        if index > 0 and child.tag == "mo" and (child.text or "") in _RELATIONS \
                and (len(groups) > 1 or len(_row_text(groups[0])) > 4):  # "L" is not a line of its own
            groups.append([])
        groups[-1].append(child)
    return groups


def _split_at_qquad(children: list[ET.Element]) -> list[list[ET.Element]]:
    groups: list[list[ET.Element]] = [[]]
    for child in children:
        if child.tag == "mspace" and child.get("width") == _QQUAD:
            groups.append([])
        else:
            groups[-1].append(child)
    groups = [g for g in groups if g]
    merged: list[list[ET.Element]] = []
    for group in groups:  # a lone "⟹" between two \qquad belongs with what it leads to
        if merged and len(merged[-1]) == 1 and merged[-1][0].tag == "mo":
            merged[-1].extend(group)
        else:
            merged.append(group)
    return merged


def tidy(element: ET.Element, display: bool = False) -> None:
    """What latex2mathml writes that MathML Core renders badly or reads out oddly."""
    for parent in list(element.iter()):
        children = list(parent)
        _merge_upright_letters(parent, children)
        children = list(parent)
        for index, child in enumerate(children):
            text = child.text or ""
            if child.tag == "msup" and len(child) == 2 and (child[1].text or "") in _PRIMES:
                # σ' comes as σ with a superscript ′, but ′ is already a raised glyph: Chromium set it
                # twice as high. A prime beside the letter is how TeX sets it.
                child.tag, child.attrib = "mrow", {}
                child[1].tag, child[1].attrib = "mi", {}
                continue
            if child.tag in ("msubsup", "msub", "msup") and child[0].tag == "mo" and (child[0].text or "") in _LARGE:
                child[0].set("form", "prefix")  # ∑ after "1/m" would count as infix and stay small
                if display and child.tag == "msubsup":  # limits under and over ∑, as TeX sets them
                    child.tag = "munderover"
            if child.tag == "mi" and text == "~":  # \sim
                child.tag, child.text = "mo", "∼"
            elif child.tag == "mi" and len(text) == 1 and unicodedata.category(text) == "Sm":  # \Longrightarrow
                child.tag = "mo"
            elif child.tag == "mo" and text in ("∂", "⊤"):  # ordinary symbols, not operators
                child.tag = "mi"
                child.attrib.clear()
            elif child.tag == "mo" and text.isalpha() and len(text) > 1:  # \max, \operatorname
                child.tag = "mi"
                child.attrib.clear()
            elif child.tag == "mover" and len(child) == 2 and child[1].tag == "mo":  # \hat, \tilde, \bar
                child.set("accent", "true")
                child[1].set("stretchy", "false")
                child[1].text = {"^": "\u02c6", "~": "\u02dc", "\u00af": "\u00af"}.get(child[1].text, child[1].text)
        if parent.tag in _ROWS:
            _space_function_names(parent)


def _merge_upright_letters(parent: ET.Element, children: list[ET.Element]) -> None:
    """\\mathrm{ReLU} comes as four upright one-letter <mi>: one <mi>ReLU</mi> reads as a word."""
    run: list[ET.Element] = []

    def flush() -> None:
        if len(run) > 1:
            first = run[0]
            first.text = "".join(e.text or "" for e in run)
            first.attrib.pop("mathvariant", None)  # several letters are upright anyway
            for extra in run[1:]:
                parent.remove(extra)
        run.clear()

    for child in children:
        if child.tag == "mi" and child.get("mathvariant") == "normal" and len(child.text or "") == 1 \
                and (child.text or "").isalpha():
            run.append(child)
        else:
            flush()
    flush()


def _space_function_names(parent: ET.Element) -> None:
    """TeX puts a thin space between "log" and its argument ("log a", not "loga") unless a
    bracket follows, and between a preceding term and the name."""
    children = list(parent)
    for index in reversed(range(len(children))):
        child = children[index]
        if child.tag != "mi" or (child.text or "") not in FUNCTIONS:
            continue
        after = children[index + 1] if index + 1 < len(children) else None
        if after is not None and not (after.tag == "mo" and (after.text or "") in _OPENING) and after.tag != "mspace" \
                and (after.text or "") not in _PRIMES:
            parent.insert(index + 1, ET.Element("mspace", width="0.167em"))
        before = children[index - 1] if index > 0 else None
        if before is not None and before.tag != "mspace" and not (before.tag == "mo" and (before.text or "") not in _CLOSING):
            parent.insert(index, ET.Element("mspace", width="0.167em"))


# --- a linear reading ------------------------------------------------------------------------------

_SPACED = set("=<>≤≥≈∼∈+−×·⊙→←⟹⇒")


def linear_text(element: ET.Element) -> str:
    """The formula as one line of text, in the spirit of UnicodeMath: "e^(−z)", "(a − y)/m"."""
    return unicodedata.normalize("NFC", re.sub(r"\s+", " ", _linear(element)).strip())  # ẑ as one character


def _linear(el: ET.Element) -> str:
    tag, kids = el.tag, list(el)
    if tag in ("mi", "mn", "mtext"):
        return (el.text or "").replace("\u00a0", " ")
    if tag == "mo":
        text = el.text or ""
        return f" {text} " if text in _SPACED else (f"{text} " if text == "," else text)
    if tag == "mspace":
        return " "
    if tag == "mfrac":
        return f"{_grouped(kids[0])}/{_grouped(kids[1])}"
    if tag == "msqrt":
        return f"√{_grouped_row(kids)}"
    if tag == "msup":
        return _base(kids[0]) + _superscript(kids[1])
    if tag == "msub":
        return f"{_base(kids[0])}_{_grouped(kids[1])}"
    if tag in ("msubsup", "munderover"):
        return f"{_base(kids[0])}_{_grouped(kids[1])}{_superscript(kids[2])} "
    if tag == "munder":
        return f"{_base(kids[0])}_{_grouped(kids[1])}"
    if tag == "mover":
        mark = {"\u02c6": "\u0302", "\u02dc": "\u0303", "\u00af": "\u0304"}.get(kids[1].text or "")
        return _linear(kids[0]) + mark if mark else f"{_base(kids[0])}^{_grouped(kids[1])}"
    if tag == "mtable":
        return "; ".join(_linear(row) for row in kids)
    if tag == "mtr":
        return " ".join(_linear(cell) for cell in kids)
    text = ""  # math, mrow, mstyle, mtd
    for before, kid in zip([None] + kids, kids):
        juxtaposed = before is not None and {before.tag, kid.tag} & _SCRIPTED and {before.tag, kid.tag} <= _TERMS \
            and not {before.text, kid.text} & _FENCES \
            and not (len(kid) and (kid[0].text or "") in _CLOSING)  # not before the ")" latex2mathml makes the base of "(a − b)^2"
        text += (" " if juxtaposed else "") + _linear(kid)  # "β_1 m_t", not "β_1m_t"
    return text


_SCRIPTED = {"msub", "msup", "msubsup", "munderover", "mfrac", "msqrt"}
_TERMS = _SCRIPTED | {"mi", "mn", "mover"}
_TOKEN = re.compile(r"[\w.′∂∑⊤\u0300-\u036f]+")


def _superscript(el: ET.Element) -> str:
    text = linear_text(el)
    return text if text in ("′", "″") else f"^{_grouped(el)}"


def _base(el: ET.Element) -> str:
    text = linear_text(el)
    return text if _TOKEN.fullmatch(text) or el.tag == "mo" or _enclosed(text) else f"({text})"


def _grouped(el: ET.Element) -> str:
    text = linear_text(el)
    return text if _TOKEN.fullmatch(text) or _enclosed(text) else f"({text})"


def _enclosed(text: str) -> bool:
    """Whether the first "(" is closed by the last ")": "(1 − a)" but not "(a)(b)"."""
    depth = 0
    for index, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0:
            return index == len(text) - 1 and index > 0
    return False


def _grouped_row(kids: list[ET.Element]) -> str:
    row = ET.Element("mrow")
    row.extend(kids)
    return _grouped(row)
