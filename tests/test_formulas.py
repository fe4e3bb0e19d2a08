import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from report.formulas import FONT_FAMILY, FormulaError, FormulaRenderer, linear_text, to_mathml

REPO = Path(__file__).resolve().parent.parent
# The elements and attributes of MathML Core (https://w3c.github.io/mathml-core/), what Chromium renders
CORE_ELEMENTS = {"math", "mrow", "mi", "mn", "mo", "mtext", "mspace", "ms", "mfrac", "msqrt", "mroot", "msub",
                 "msup", "msubsup", "munder", "mover", "munderover", "mmultiscripts", "mprescripts", "mtable",
                 "mtr", "mtd", "mpadded", "mphantom", "mstyle", "merror", "semantics", "annotation"}
CORE_ATTRIBUTES = {"display", "displaystyle", "scriptlevel", "mathvariant", "form", "fence", "separator",
                   "lspace", "rspace", "stretchy", "symmetric", "maxsize", "minsize", "largeop", "movablelimits",
                   "accent", "accentunder", "width", "height", "depth", "linethickness", "columnspan", "rowspan",
                   "columnalign", "class"}  # columnalign: not Core, but style.css aligns the cells it marks


def template_formulas() -> list[tuple[str, bool]]:
    """Every tex()/itex() call in the section templates with a literal argument."""
    calls = re.compile(r'\b(i?tex)\(r"((?:[^"\\]|\\.)*)"\)')
    found = {}
    for path in sorted((REPO / "templates" / "sections").glob("*.html")):
        for match in calls.finditer(path.read_text(encoding="utf-8")):
            found.setdefault(match[2], match[1] == "tex")
    return list(found.items())


def test_every_template_formula_becomes_mathml_core(tmp_path):
    formulas = template_formulas()
    assert len(formulas) > 100
    renderer = FormulaRenderer(tmp_path)
    for latex, display in formulas:
        formula = renderer.render(latex, display)
        assert formula.mathml and not formula.file and formula.text, latex
        for part in formula.mathml:
            math = ET.fromstring(str(part))
            assert math.tag == "math" and (math.get("displaystyle") == "true") == display
            for element in math.iter():
                assert element.tag in CORE_ELEMENTS, (latex, element.tag)
                assert set(element.attrib) <= CORE_ATTRIBUTES, (latex, element.attrib)
                assert "\\" not in (element.text or ""), latex  # a command latex2mathml did not know
    assert not list(tmp_path.glob("*.svg"))  # the site route typesets no image
    assert {"σ", "∑", "∂"} <= renderer.characters


def test_mathml_is_kept_on_disk_and_read_back(tmp_path):
    first = FormulaRenderer(tmp_path).render(r"\frac{1}{1 + e^{-x}}", display=True)
    cached = list(tmp_path.glob("*.json"))
    assert len(cached) == 1
    mtime = cached[0].stat().st_mtime_ns
    again = FormulaRenderer(tmp_path)
    assert again.render(r"\frac{1}{1 + e^{-x}}", display=True) == first
    assert cached[0].stat().st_mtime_ns == mtime and "∑" not in again.characters and "e" in again.characters


def test_print_route_is_still_an_svg_typeset_once_and_sized_in_em(tmp_path):
    renderer = FormulaRenderer(tmp_path)
    first = renderer.render(r"\frac{1}{1 + e^{-x}}", display=True, for_print=True)
    assert not first.mathml and first.text == "1/(1 + e^(− x))"
    assert first.height_em > 1.5 and first.width_em > first.height_em
    assert (tmp_path / first.file).read_text().startswith("<svg")
    mtime = (tmp_path / first.file).stat().st_mtime_ns
    assert renderer.render(r"\frac{1}{1 + e^{-x}}", display=True, for_print=True) == first
    assert (tmp_path / first.file).stat().st_mtime_ns == mtime
    inline = renderer.render("x^2", display=False, for_print=True)
    assert inline.baseline_em < 0 and inline.file != first.file
    assert set(renderer.used) == {first.file, inline.file}
    assert 0 < inline.text_size_em <= 1


def test_the_text_over_a_formula_takes_few_sizes_and_stays_narrower_than_the_image():
    """Pango looks fonts up once per size: a size of its own for every formula cost ~3 ms a line."""
    import math

    from report.formulas import TEXT_SIZES, Formula

    sizes = set()
    for width in [0.05 * n for n in range(1, 80)]:
        size = Formula("", False, "abcd", width_em=width).text_size_em  # ~0.62 em a letter, on the wide side
        fitting = min(1.0, width / 2.48)
        step = math.log2(size) * TEXT_SIZES
        assert abs(step - round(step)) < 1e-6, "one of the sizes"
        assert size <= fitting + 1e-9 and size > fitting * 2 ** (-1 / TEXT_SIZES), width
        sizes.add(size)
    assert len(sizes) < 50 and max(sizes) == 1.0


def test_a_formula_is_drawn_as_one_path_over_its_bars(tmp_path):
    """WeasyPrint draws an SVG node by node: one path for all glyphs, the fraction bar kept (a <rect>)."""
    import xml.etree.ElementTree as ET

    renderer = FormulaRenderer(tmp_path)
    formula = renderer.render(r"\frac{\partial L}{\partial w_1} = \hat{y} - y", display=True, for_print=True)
    svg = ET.fromstring((tmp_path / formula.file).read_text())
    assert [child.tag.rpartition("}")[2] for child in svg] == ["rect", "path"], "bars first, the glyphs drawn over them"
    d = svg[1].get("d")
    assert d.count("M ") >= 8 and svg[1].get("fill") == "black"
    assert not re.search(r"M (\S+ \S+) L \1 ", d), "no line of length 0 after a move"


@pytest.mark.parametrize("for_print", [False, True])
@pytest.mark.parametrize("latex, message", [(r"\frac{1}{", "cannot typeset"), (r"\notacommand{x}", r"\notacommand")])
def test_bad_latex_is_an_error_not_garbage(tmp_path, latex, message, for_print):
    with pytest.raises(FormulaError, match=re.escape(message)):
        FormulaRenderer(tmp_path).render(latex, display=True, for_print=for_print)


def test_formulas_typeset_ahead_in_other_processes_are_those_typeset_here(tmp_path):
    from concurrent.futures import ProcessPoolExecutor

    latex = r"\frac{\partial L}{\partial W^{(l)}} = \delta^{(l)} a^{(l-1)}"
    ahead = FormulaRenderer(tmp_path / "ahead")
    with ProcessPoolExecutor(1) as pool:
        ahead.typeset_ahead(pool)
        ahead.render(latex, display=True)  # the site's render hands it to the pool
        ahead.render(latex, display=True)  # once
        assert len(ahead.typesetting) == 1
        printed = ahead.render(latex, display=True, for_print=True)
    here = FormulaRenderer(tmp_path / "here").render(latex, display=True, for_print=True)
    assert printed == here and not ahead.typesetting
    assert (tmp_path / "ahead" / printed.file).read_bytes() == (tmp_path / "here" / here.file).read_bytes()
    assert not list((tmp_path / "ahead").glob("*.tmp*"))


def test_a_formula_that_fails_ahead_fails_where_the_handout_asks_for_it(tmp_path, monkeypatch):
    from concurrent.futures import ThreadPoolExecutor

    import ziamath

    def broken(*args, **kwargs):
        raise ValueError("no glyph")

    monkeypatch.setattr(ziamath, "Latex", broken)
    renderer = FormulaRenderer(tmp_path)
    with ThreadPoolExecutor(1) as pool:
        renderer.typeset_ahead(pool)
        renderer.render("x^2", display=False)  # the site needs no SVG: no error yet
        with pytest.raises(FormulaError, match=r"cannot typeset 'x\^2': ValueError no glyph"):
            renderer.render("x^2", display=False, for_print=True)


def mathml(latex: str, display: bool = False) -> list[str]:
    return [ET.tostring(part, encoding="unicode") for part in to_mathml(latex, display)]


def test_a_display_formula_wraps_at_qquad_and_an_arrow_goes_with_what_follows():
    parts = mathml(r"a = 1, \qquad b = 2 \qquad\Longrightarrow\qquad c = 3", display=True)
    assert len(parts) == 3
    assert parts[2].startswith('<math displaystyle="true"><mrow><mo>⟹</mo>')
    assert len(mathml(r"a = 1, \qquad b = 2")) == 1  # an inline formula stays whole


def test_a_long_display_chain_may_go_on_before_an_equals_sign_but_no_short_left_side_stands_alone(tmp_path):
    from report.render import PageRenderer

    latex = (r"\frac{\partial L}{\partial z} = \frac{\partial L}{\partial a}\,\sigma'(z) = "
             r"\frac{1}{m}\cdot\frac{a - y}{a(1 - a)}\cdot a(1 - a) = \frac{a - y}{m}")
    parts = mathml(latex, display=True)
    assert len(parts) == 4
    assert all(p.startswith('<math displaystyle="true" class="continued"><mrow><mo>=</mo>') for p in parts[1:])
    renderer = PageRenderer(FormulaRenderer(tmp_path))
    html = str(renderer.macros.formula(renderer.formulas.render(latex, display=True)))
    assert html.count('<wbr><math displaystyle="true" class="continued">') == 3  # joined without a gap
    long_left = r"L = -\frac{1}{m}\sum_{k=1}^{m}\left[ y_k \log a_k + (1 - y_k)\log(1 - a_k) \right]"
    assert len(mathml(long_left, display=True)) == 1


def test_a_long_inline_formula_may_break_after_a_relation_or_operator_like_tex():
    parts = mathml(r"\partial L / \partial W = a^{\top} \delta - \bar a^{\top} \sum_i \delta_i")
    assert len(parts) == 3 and parts[0].endswith("<mo>=</mo></mrow></math>") and "<mo>−</mo></mrow>" in parts[1]
    assert len(mathml(r"-a = b")) == 1  # short: whole


def test_tidying_for_mathml_core():
    assert "<mi>σ</mi><mi>′</mi>" in mathml(r"\sigma'(z)")[0]  # a prime beside the letter, not raised again
    assert "<mi>ReLU</mi>" in mathml(r"\mathrm{ReLU}(z)")[0]  # one word, not four letters
    assert '<munderover><mo form="prefix">∑</mo>' in mathml(r"\frac1m \sum_{i=1}^m z_i", display=True)[0]
    assert '<msubsup><mo form="prefix">∑</mo>' in mathml(r"\frac1m \sum_{i=1}^m z_i")[0]
    assert '<mover accent="true"><mi>a</mi><mo stretchy="false">˜</mo>' in mathml(r"\tilde a")[0]
    assert "<mo>∼</mo>" in mathml(r"m \sim p")[0]
    assert '<mi>log</mi><mspace width="0.167em" /><mi>a</mi>' in mathml(r"\log a")[0]
    assert "<mi>max</mi><mo" in mathml(r"\max(0, z)")[0]
    assert "<mi>∂</mi>" in mathml(r"\partial L")[0]


@pytest.mark.parametrize("latex, text", [
    (r"a(1-a)", "a(1 − a)"),
    (r"\tfrac12 (a - y)^2", "1/2(a − y)^2"),
    (r"\sigma'(z) = \sigma(z)\,\bigl(1 - \sigma(z)\bigr)", "σ′(z) = σ(z) (1 − σ(z))"),
    (r"\delta^{(l)} = \partial L / \partial z^{(l)}", "δ^(l) = ∂L/∂ z^(l)"),
    (r"\Vert W_t - W_0 \Vert / \Vert W_0 \Vert", "‖W_t − W_0‖/‖W_0‖"),
    (r"\hat z_i = \frac{z_i - \mu_B}{\sqrt{\sigma_B^2 + \epsilon}}", "ẑ_i = (z_i − μ_B)/(√(σ_B^2 + ϵ))"),
    (r"\beta_1 m_{t-1}", "β_1 m_(t − 1)"),
])
def test_linear_text_reads_like_the_formula(latex, text):
    assert " ".join(linear_text(part) for part in to_mathml(latex, False)) == text


def test_math_font_is_a_renamed_subset_with_its_math_table(tmp_path):
    from fontTools.ttLib import TTFont

    renderer = FormulaRenderer(tmp_path)
    renderer.render(r"\sum_{i=1}^m \left( \frac{\partial L}{\partial z_i} \right)", display=True)
    path = renderer.math_font().result()
    assert path.read_bytes()[:4] == b"wOF2" and 10_000 < path.stat().st_size < 120_000
    font = TTFont(path)
    assert "MATH" in font and font["name"].getDebugName(1) == FONT_FAMILY
    assert "OFL" in font["name"].getDebugName(13)
    cmap = font.getBestCmap()
    assert all(ord(c) in cmap for c in "∑∂()") and ord("𝑧") in cmap and ord("∫") not in cmap
    assert renderer.math_font().result() == path  # cached by the characters it holds


def test_the_math_font_subset_ahead_in_another_process_is_the_one_made_here(tmp_path):
    from concurrent.futures import ProcessPoolExecutor

    made = {}
    for where in ("ahead", "here"):
        renderer = FormulaRenderer(tmp_path / where)
        renderer.render(r"\sqrt{\frac{6}{n_\text{in} + n_\text{out}}}", display=False)
        with ProcessPoolExecutor(1) as pool:
            if where == "ahead":
                renderer.typeset_ahead(pool)
            font = renderer.math_font()
            assert font.done() == (where == "here")
            made[where] = font.result()
    assert made["ahead"].name == made["here"].name and made["ahead"].read_bytes() == made["here"].read_bytes()
    assert not list((tmp_path / "ahead").glob("*.tmp*"))


def test_macro_writes_mathml_for_the_site_and_an_image_with_text_for_print(tmp_path):
    from report.render import PageRenderer

    renderer = PageRenderer(FormulaRenderer(tmp_path))
    formulas = renderer.formulas
    site = str(renderer.macros.formula(formulas.render(r"a = 1, \qquad b = 2", display=True)))
    assert site.startswith('<div class="equation scroll-x" tabindex="0"><math displaystyle="true">')
    assert "<img" not in site and site.count("<math") == 2
    inline = str(renderer.macros.formula(formulas.render(r"a(1-a)", display=False)))
    assert inline.startswith("<math><mrow><mi>a</mi>")
    printed = str(renderer.macros.formula(formulas.render(r"a(1-a)", display=False, for_print=True)))
    # drawn as the box's background: an <img> would be a figure without a description in the tagged PDF
    assert re.search(r"background: url\(math/\w+\.svg\)", printed) and "<img" not in printed and "<math" not in printed
    assert re.search(r'<span class="math-text" style="[^"]*color: transparent">a\(1 − a\)</span>', printed)


@pytest.mark.slow
def test_every_formula_has_a_box_and_fits_or_scrolls_on_a_phone(quick_site):
    """Chromium typesets the MathML: nothing empty, nothing cut off at 375 px, no SVG shipped."""
    from tests.test_site_in_browser import CHROMIUM, CHROMIUM_ARGS, QuietHandler
    import functools
    import threading
    from http.server import ThreadingHTTPServer

    if CHROMIUM is None:
        pytest.skip("Chromium is not installed")
    from playwright.sync_api import sync_playwright

    assert not (quick_site / "math").exists() and (quick_site / "math.woff2").exists()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(quick_site)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 375, "height": 800})
            page.goto(f"http://127.0.0.1:{httpd.server_address[1]}/", wait_until="load")
            page.evaluate("document.fonts.ready")
            assert page.evaluate("document.fonts.check('16px \"Lecture Math\"')")
            boxes = page.evaluate("""() => [...document.querySelectorAll('math')].map(m => {
                const box = m.getBoundingClientRect(), scroller = m.closest('.scroll-x');
                const column = (scroller || m.closest('main') || document.body).getBoundingClientRect();
                return {text: m.textContent, width: box.width, height: box.height,
                        inside: box.left >= column.left - 1 && box.right <= column.right + 1,
                        scrolls: !!scroller && getComputedStyle(scroller).overflowX !== 'visible'};
            })""")
            browser.close()
    finally:
        httpd.shutdown()
    assert len(boxes) > 50
    empty = [b["text"] for b in boxes if not (b["width"] > 0 and b["height"] > 0)]
    assert not empty
    cut = [b["text"] for b in boxes if not b["inside"] and not b["scrolls"]]
    assert not cut
