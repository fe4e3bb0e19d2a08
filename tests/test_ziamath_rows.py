import pytest

from report import formulas, ziamath_rows
from tests.test_formulas import template_formulas

# Where a row's measured height matters: stretchy fences and bars, inside scripts, fractions and
# roots, several rows deep; tables and line breaks; operators named by letters; and fixed sizes.
HARD = [r"\left( \frac{a}{b} \right)", r"\left[ \sum_{i=1}^{n} x_i \right]^2", r"\left\| W^{(l)} \right\|_F",
        r"\left. \frac{d}{dx} f \right|_{x=0}", r"\left( a \middle| \frac{b}{c} \right)",
        r"x^{\left(\frac{1}{2}\right)}", r"\frac{\left( 1 + \frac{1}{n} \right)}{2}",
        r"\sqrt{\left( \frac{6}{n_\text{in} + n_\text{out}} \right)}", r"\max_{i} \left\{ z_i \right\}",
        r"\begin{pmatrix} 1 & \frac{1}{2} \\ 3 & 4 \end{pmatrix}", r"a = b \\ \left| \frac{c}{d} \right|",
        r"\Big( x_k \Big) + \big[ y \big]", r"|x| + \| y \|", r"\lim_{n \to \infty} \sin \frac{1}{n}",
        r"\overbrace{a + b}^{n} \underbrace{x}_{y} \hat{y} \vec{x} \bar{x}",
        # a nested row's measuring pass reads the outer row's measurement (found in review)
        r"\frac{\Vert w \Vert^2}{2}", r"\sqrt{\lvert x \rvert^2}", r"\frac{1}{2} \left( \vert x \vert^2 \right)",
        r"q = \left( \frac{\Vert \delta \Vert^2}{2} \right)"]


def typeset_all(cases, tmp_path, name):
    out = []
    for k, (latex, display) in enumerate(cases):
        svg, meta = tmp_path / f"{name}{k}.svg", tmp_path / f"{name}{k}.txt"
        formulas.typeset_svg(latex, display, svg, meta)
        out.append((latex, svg.read_text(), meta.read_text()))
    return out


@pytest.fixture(scope="module")
def cases():
    return template_formulas() + [(latex, display) for latex in HARD for display in (True, False)]


def test_the_installed_ziamath_is_the_version_checked():
    assert ziamath_rows.apply(), "re-check report/ziamath_rows.py against this ziamath, then update CHECKED_VERSION"


def test_skipping_the_measuring_pass_leaves_every_formula_byte_identical(cases, tmp_path, monkeypatch):
    from ziamath.nodes.mrow import Mrow

    ziamath_rows.apply()
    fast = typeset_all(cases, tmp_path, "fast")
    monkeypatch.setattr(Mrow, "_get_height_nostretch", Mrow._get_height_nostretch.measure_always)
    assert typeset_all(cases, tmp_path, "always") == fast


def test_the_comparison_sees_a_skip_where_the_height_is_read(cases, tmp_path, monkeypatch):
    ziamath_rows.apply()
    right = typeset_all(cases, tmp_path, "right")
    monkeypatch.setattr(ziamath_rows, "reads_row_height", lambda elements: False)
    wrong = typeset_all(cases, tmp_path, "wrong")
    changed = {a[0] for a, b in zip(right, wrong) if a != b}
    assert {r"\left( \frac{a}{b} \right)", r"\frac{\left( 1 + \frac{1}{n} \right)}{2}",
            r"\begin{pmatrix} 1 & \frac{1}{2} \\ 3 & 4 \end{pmatrix}"} <= changed
