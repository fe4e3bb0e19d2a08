"""Template helpers: numbering, placement checks, filters and clear errors."""
from __future__ import annotations

from pathlib import Path

import pytest

from report.discover import Experiment
from report.formulas import FormulaRenderer
from report.model import Figure, Result, Table
from report.render import PageRenderer, RenderError, build_views, fixed, integer, pct, sci
from report.runner import Outcome


def outcome(name: str, order: tuple[int, ...], result: Result) -> Outcome:
    exp = Experiment(name, f"标题{name}", order, (), Path(f"{name}.py"))
    return Outcome(exp, "ran", result=result, directory=Path("/nonexistent"))


def two_sections() -> list[Outcome]:
    first = Result(figures=[Figure("a", None, "甲", "alt", "a.svg"), Figure("b", None, "乙", "alt", "b.svg")],
                   tables=[Table("t", ["x"], [["1"]], "表题")], metrics={"acc": 0.9734})
    second = Result(figures=[Figure("c", None, "丙", "alt", "c.svg")])
    return [outcome("one", (1,), first), outcome("two", (2,), second), outcome("sub", (2, 1), Result())]


def render(tmp_path: Path, templates: dict[str, str]) -> dict[str, str]:
    root = tmp_path / "proj"
    (root / "templates" / "sections").mkdir(parents=True)
    for name, text in templates.items():
        (root / "templates" / "sections" / f"{name}.html").write_text(text, encoding="utf-8")
    renderer = PageRenderer(FormulaRenderer(tmp_path / "math"), root)
    sections = build_views(two_sections())
    renderer.render_sections(sections)
    flat = sections + [c for s in sections for c in s.children]
    return {s.name: str(s.body) for s in flat}


GOOD = {
    "one": '{{ figure("a") }}{{ figure("b") }}见{{ ref("two.c") }}。{{ table("t") }}准确率 {{ m.acc | pct }}',
    "two": '{{ figure("c") }}回到{{ ref("one.t") }}和{{ sec("one") }}',
    "sub": '子节引用 {{ sections.one.m.acc | fixed(3) }}',
}


def test_numbers_follow_reading_order_across_sections(tmp_path):
    html = render(tmp_path, GOOD)
    assert "图 1" in html["one"] and "图 2" in html["one"] and "表 1" in html["one"]
    assert 'href="#fig-two-c">图 3</a>' in html["one"]
    assert 'href="#tab-one-t">表 1</a>' in html["two"]
    assert "准确率 97.3%" in html["one"]
    assert "子节引用 0.973" in html["sub"]


def test_subsections_nest_under_their_section(tmp_path):
    sections = build_views(two_sections())
    assert [s.name for s in sections] == ["one", "two"]
    assert [c.name for c in sections[1].children] == ["sub"]


@pytest.mark.parametrize("one, message", [
    ('{{ figure("a") }}{{ table("t") }}{{ m.nope }}', "one: metric 'nope' is not defined"),
    ('{{ figure("a") }}{{ table("t") }}', "figures not placed: b"),
    ('{{ figure("b") }}{{ figure("a") }}{{ table("t") }}', "placed in the order"),
    ('{{ figure("a") }}{{ figure("a") }}', "figure 'a' is placed twice"),
    ('{{ ref("zzz") }}', "has no figure or table 'zzz'"),
    ('{{ undefined_name }}', "undefined_name"),
])
def test_template_mistakes_are_errors_naming_the_template(tmp_path, one, message):
    with pytest.raises(RenderError) as info:
        render(tmp_path, {**GOOD, "one": one})
    assert "templates/sections/one.html" in str(info.value)
    assert message in str(info.value)


def test_raw_latex_strings_survive_jinja(tmp_path):
    html = render(tmp_path, {**GOOD, "sub": r'{{ tex(r"\frac{1}{1 + e^{-x}}") }}{{ itex(r"\sigma") }}'})
    assert "<mfrac><mrow><mn>1</mn></mrow>" in html["sub"] and "<math><mi>σ</mi></math>" in html["sub"]


def test_filters_format_for_chinese_text():
    assert pct(0.5) == "50.0%"
    assert fixed(-0.1234, 2) == "−0.12"
    assert str(sci(0.0000123, 2)) == "1.23 × 10<sup>−5</sup>"
    assert integer(12345.4) == "12,345"


def test_names_are_unique_per_kind_and_sec_survives_only(tmp_path):
    root = tmp_path / "proj"
    (root / "templates" / "sections").mkdir(parents=True)
    (root / "templates" / "sections" / "one.html").write_text(
        '{{ figure("a") }}{{ figure("b") }}{{ table("t") }}{{ log("a") }}见{{ sec("later") }}', encoding="utf-8")
    result = two_sections()[0].result
    result.logs = {"a": "输出"}
    renderer = PageRenderer(FormulaRenderer(tmp_path / "math"), root)
    sections = build_views([outcome("one", (1,), result)])
    renderer.render_sections(sections, {"later": "5"})
    assert "见第 5 节" in str(sections[0].body)
    with pytest.raises(RenderError, match="no such section"):
        (root / "templates" / "sections" / "one.html").write_text('{{ sec("typo") }}', encoding="utf-8")
        renderer.env.cache.clear()
        renderer.render_sections(build_views([outcome("one", (1,), Result())]), {"later": "5"})


def test_headings_written_in_templates_get_anchors(tmp_path):
    html = render(tmp_path, {**GOOD, "sub": "<h3>小标题</h3><p>正文</p><h4>更小</h4>"})["sub"]
    assert '<h3 id="sub-1">小标题<a class="anchor" href="#sub-1"' in html
    assert '<h4 id="sub-2">更小' in html


def test_a_folded_listing_is_closed_under_its_own_summary(tmp_path):
    from report.model import listing_of

    result = Result(listings=[listing_of(fixed, "fast", "快速版本"), listing_of(pct, "plain", "教学版本")])
    sections = build_views([outcome("one", (1,), result)])
    root = tmp_path / "proj"
    (root / "templates" / "sections").mkdir(parents=True)
    (root / "templates" / "sections" / "one.html").write_text(
        '{{ listing("plain") }}{{ listing("fast", folded=True) }}', encoding="utf-8")
    PageRenderer(FormulaRenderer(tmp_path / "math"), root).render_sections(sections)
    html = str(sections[0].body)
    plain, fast = html.index("教学版本"), html.index("快速版本")
    assert '<figure class="listing" style="--lines: ' in html[:plain]  # its height, before it is laid out
    assert '<details class="listing folded">' in html[plain:fast] and "<summary>本次构建实际运行的代码" in html[plain:fast]
    assert '<span class="nf">fixed</span>' in html[fast:] and "<details open" not in html


def test_the_handout_names_a_folded_listing_instead_of_printing_it(tmp_path):
    from report.model import listing_of

    sections = build_views([outcome("one", (1,), Result(listings=[listing_of(fixed, "fast", "快速版本")]))])
    root = tmp_path / "proj"
    (root / "templates" / "sections").mkdir(parents=True)
    (root / "templates" / "sections" / "one.html").write_text('{{ listing("fast", folded=True) }}', encoding="utf-8")
    PageRenderer(FormulaRenderer(tmp_path / "math"), root).render_sections(sections, for_print=True)
    html = str(sections[0].body)
    assert "快速版本" in html and "未印出" in html and "highlight" not in html


def test_a_figure_links_to_its_full_size_and_offers_phones_a_stacked_copy(tmp_path):
    site = render(tmp_path, GOOD)["one"]
    assert '<a class="figure-open" href="figures/one/a.svg">' in site
    assert '<source media="(max-width: 640px)" srcset="figures/one/a.phone.svg">' in site  # no file: no size
    assert '<img src="figures/one/a.svg" alt="alt"' in site and "打开原尺寸图 1" in site


def test_the_handout_prints_the_figure_without_link_or_phone_copy(tmp_path):
    root = tmp_path / "proj"
    (root / "templates" / "sections").mkdir(parents=True)
    for name, text in GOOD.items():
        (root / "templates" / "sections" / f"{name}.html").write_text(text, encoding="utf-8")
    sections = build_views(two_sections())
    PageRenderer(FormulaRenderer(tmp_path / "math"), root).render_sections(sections, for_print=True)
    html = str(sections[0].body)
    assert '<figure class="figure" id="fig-one-a">\n  <img src="figures/one/a.print.svg" alt="alt" loading="lazy">' in html
    assert "<picture" not in html and "figure-open" not in html and "phone" not in html
