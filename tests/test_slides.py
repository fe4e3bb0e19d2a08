"""The slides (report/slides.py): slide templates, notes from the prose, the deck and its PDF."""
from __future__ import annotations

import functools
import re
import shutil
import threading
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from report import claims, slides
from report.discover import Experiment
from report.formulas import FormulaRenderer
from report.model import Figure, Result, Table
from report.render import PageRenderer, RenderError, build_views
from report.runner import Outcome

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass
class FakeBook:
    title: str = "书名"
    subtitle: str = "副标题"
    kicker: str = "讲义"
    date: str = "2026 年 1 月 1 日"


def outcome(name: str, order: tuple[int, ...], result: Result) -> Outcome:
    exp = Experiment(name, f"标题{name}", order, (), Path(f"{name}.py"))
    return Outcome(exp, "ran", result=result, directory=Path("/nonexistent"))


def outcomes() -> list[Outcome]:
    first = Result(figures=[Figure("a", None, "甲图", "alt 甲", "a.svg", (600, 300)),
                            Figure("b", None, "乙图", "alt 乙", "b.svg", (400, 400))],
                   tables=[Table("t", ["x", "y"], [["1", "2"]], "表题")], metrics={"acc": 0.9734, "n": 8})
    second = Result(figures=[Figure("c", None, "丙图", "alt 丙", "c.svg", (600, 200))], metrics={"gain": 2.0})
    return [outcome("one", (1,), first), outcome("two", (2,), second), outcome("sub", (2, 1), Result())]


SECTIONS = {
    "one": '<p>开头的话，见{{ ref("two.c") }}。</p>{{ figure("a") }}{{ figure("b") }}'
           '<h3>结果</h3><p>准确率 {{ m.acc | pct }}。</p>{{ table("t") }}<ul><li>要点</li></ul><h3>别的</h3><p>别处。</p>',
    "two": '<p>第二节 {{ tex(r"\\frac{a}{b}") }} 的话。</p>{{ figure("c") }}',
    "sub": '<p>子节。</p>',
}
SLIDES = {
    "one": '{% call slide("结果一览", notes=prose("结果")) %}{{ figure("b") }}'
           '{% call claim("m.acc > 0.9") %}{{ stat(m.acc | pct, "准确率") }}{% endcall %}{{ table("t") }}{% endcall %}'
           '{% call slide("公式", layout="side") %}{{ tex(r"\\frac{a}{b}") }} 见 {{ ref("two.c") }} 与 {{ sec("two") }}{% endcall %}',
    "sub": '{% call slide("子节的图") %}{{ figure("c") if false else "" }}{{ sections.two.m.gain }}{% endcall %}',
}


def project(tmp_path: Path, slide_templates: dict[str, str]) -> Path:
    root = tmp_path / "proj"
    (root / "templates" / "sections").mkdir(parents=True)
    (root / "templates" / "slides").mkdir(parents=True)
    for name, text in SECTIONS.items():
        (root / "templates" / "sections" / f"{name}.html").write_text(text, encoding="utf-8")
    for name, text in slide_templates.items():
        (root / "templates" / "slides" / f"{name}.html").write_text(text, encoding="utf-8")
    return root


def make_deck(tmp_path: Path, slide_templates: dict[str, str] = SLIDES, for_print: bool = False):
    renderer = PageRenderer(FormulaRenderer(tmp_path / "math"), project(tmp_path, slide_templates))
    sections = build_views(outcomes())
    renderer.render_sections(sections)
    deck = slides.SlideRenderer(renderer).deck(sections, {}, FakeBook(), for_print=for_print)
    return deck, renderer, sections


def test_a_figure_fits_its_box_with_its_proportions():
    assert slides.fit((600, 300), (1180, 430)) == (860, 430)
    assert slides.fit((600, 100), (1180, 430)) == (1180, 197)
    assert slides.fit(None, (700, 440)) == (700, 440)


def test_a_deck_has_a_cover_a_title_per_section_and_the_templates_slides(tmp_path):
    deck, _, _ = make_deck(tmp_path)
    assert [(s.kind, s.title) for s in deck.slides] == [
        ("cover", "书名"), ("title", "标题one"), ("content", "结果一览"), ("content", "公式"),
        ("title", "标题two"), ("content", "子节的图")]
    assert deck.slides[-1].label == "2.1 标题sub"  # a subsection has no title slide: its slides say where they are


def test_figures_and_tables_on_slides_are_the_pages_own_with_the_same_numbers(tmp_path):
    deck, _, sections = make_deck(tmp_path)
    results = deck.slides[2].body
    assert "图 2" in results and 'src="figures/one/b.svg"' in results and "乙图" in results
    assert "表 1" in results and "表题" in results
    assert sections[0].figures["b"].number == 2
    formula = deck.slides[3].body
    assert "<math" in formula and "图 3" in formula and "第 2 节" in formula
    assert "0.02" not in formula and "97.3%" in results  # metrics through the same filters as the prose


def test_a_figure_is_as_large_as_its_layout_allows(tmp_path):
    deck, _, _ = make_deck(tmp_path, {"one": '{% call slide("宽") %}{{ figure("a") }}{% endcall %}'
                                             '{% call slide("旁", layout="side") %}{{ figure("b") }}{% endcall %}'
                                             '{% call slide("矮") %}{{ figure("b", box="low") }}{% endcall %}'})
    sizes = [re.search(r'width="(\d+)" height="(\d+)"', s.body).groups() for s in deck.slides[2:5]]
    assert sizes == [("860", "430"), ("440", "440"), ("250", "250")]


def test_the_notes_are_the_sections_prose_under_the_heading_without_figures_tables_or_links(tmp_path):
    deck, _, _ = make_deck(tmp_path)
    notes = str(deck.slides[2].notes)
    assert "准确率 97.3%" in notes and "<li>要点</li>" in notes
    assert "表题" not in notes and "<figure" not in notes and "别处" not in notes
    assert "<a" not in notes and "#" not in notes  # heading anchors dropped, references kept as text
    title_notes = str(deck.slides[1].notes)
    assert "开头的话，见图 3。" in title_notes and "准确率" not in title_notes
    assert deck.slides[3].notes == ""


def test_notes_from_an_unknown_heading_fail_naming_the_headings_there_are(tmp_path):
    with pytest.raises(RenderError, match=r"templates/slides/one.html.*'结局'.*结果, 别的"):
        make_deck(tmp_path, {"one": '{% call slide("x", notes=prose("结局")) %}{% endcall %}'})


def test_display_formulas_stay_in_their_paragraph_in_the_notes():
    body = ('<p>甲 <div class="equation scroll-x" tabindex="0"><math><mi>x</mi></math></div> 乙</p>'
            '<figure class="listing"><pre>code</pre></figure><h3 id="s-1">下<a class="anchor" href="#s-1">#</a></h3>'
            '<p>丙<br><img src="x.svg" alt=""></p>')
    assert slides.notes_from(body, None) == ('<p>甲 <div class="equation scroll-x" tabindex="0"><math><mi>x</mi>'
                                             '</math></div> 乙</p>')
    assert slides.notes_from(body, "下") == '<p>丙<br><img src="x.svg" alt=""></p>'


@pytest.mark.parametrize("template, message", [
    ('{% call slide("x") %}{{ figure("zzz") }}{% endcall %}', r"figure 'zzz' is not in the result of 'one'"),
    ('{% call slide("x") %}{{ m.nope }}{% endcall %}', r"metric 'nope' is not defined"),
    ('{% call slide("x", layout="wide") %}{% endcall %}', r"layout 'wide'"),
    ('{% call slide("x") %}{{ figure("a", box="huge") }}{% endcall %}', r"box 'huge'"),
    ('{% call slide("x") %}{{ ref("three.a") }}{% endcall %}', r"no section 'three'"),
])
def test_slide_template_mistakes_are_errors_naming_the_template(tmp_path, template, message):
    with pytest.raises(RenderError, match=r"templates/slides/one\.html: .*" + message):
        make_deck(tmp_path, {"one": template})


def test_claims_on_slides_are_checked_with_the_prose(tmp_path):
    _, renderer, _ = make_deck(tmp_path, {"one": '{% call slide("x") %}{% call claim("m.acc > 0.99") %}'
                                                 '准确率很高{% endcall %}{% endcall %}'})
    (claim,) = renderer.claims
    assert not claim.holds and "(slides)" in claim.section and claim.sentence == "准确率很高"
    with pytest.raises(claims.ClaimError, match="准确率很高"):
        claims.check(renderer.claims, strict=True)


def test_the_print_render_uses_the_print_figures_and_formula_images_and_no_notes(tmp_path):
    deck, renderer, _ = make_deck(tmp_path, for_print=True)
    body = deck.slides[2].body + deck.slides[3].body
    assert 'src="figures/one/b.print.svg"' in body and 'url(math/' in body and "<math" not in body
    assert all(s.notes == "" for s in deck.slides)
    assert renderer.claims == []  # checked once, on the browser's render


def test_a_section_without_a_slide_template_has_its_title_slide_only(tmp_path):
    deck, _, _ = make_deck(tmp_path, {})
    assert [s.kind for s in deck.slides] == ["cover", "title", "title"]


def test_the_deck_loads_only_local_files_and_is_the_same_each_time(tmp_path):
    deck, renderer, _ = make_deck(tmp_path)
    site = tmp_path / "site"
    site.mkdir()
    slides.write_deck(deck, renderer, FakeBook(), site, pdf=True)
    html = (site / "slides.html").read_text(encoding="utf-8")
    assert html.count('<div class="frame') == len(deck) == 6
    assert html.count('<aside class="notes">') == 3  # two sections' openings, one slide's heading
    assert sorted(p.name for p in (site / "reveal").iterdir()) == ["LICENSE", "notes.js", "reveal.css", "reveal.js"]
    assert "MIT" in (site / "reveal" / "LICENSE").read_text()
    for url in re.findall(r'(?:src|href)="([^"]+)"', html):
        assert "//" not in url and not url.startswith("/"), url
    assert 'href="slides.pdf"' in html
    slides.write_deck(deck, renderer, FakeBook(), site, pdf=False)
    assert "slides.pdf" not in (site / "slides.html").read_text(encoding="utf-8")
    slides.write_deck(deck, renderer, FakeBook(), site, pdf=True)
    assert (site / "slides.html").read_text(encoding="utf-8") == html


def test_the_vendored_reveal_is_the_pinned_version():
    assert "reveal.js 6.0.2" in (slides.REVEAL_DIR / "VERSION.txt").read_text()
    assert "`6.0.2`" in (slides.REVEAL_DIR / "reveal.js").read_text()  # the VERSION constant of the file itself


# --- the real tutorial, built once with --quick (slow) ---------------------------------------------------

def slide_count(site: Path) -> int:
    return (site / "slides.html").read_text(encoding="utf-8").count('<div class="frame')


@pytest.mark.slow
def test_the_pdf_has_one_16_9_page_per_slide(quick_site: Path):
    from pypdf import PdfReader

    pages = PdfReader(quick_site / "slides.pdf").pages
    assert len(pages) == slide_count(quick_site) >= 20
    for page in pages:
        assert float(page.mediabox.width) / float(page.mediabox.height) == pytest.approx(16 / 9)


@pytest.mark.slow
def test_every_figure_on_a_slide_has_its_number_on_the_page(quick_site: Path):
    label = re.compile(r'<img src="(figures/[^"]+)".*?<span class="label">(图 \d+)</span>', re.S)
    page = dict(label.findall((quick_site / "index.html").read_text(encoding="utf-8")))
    deck = label.findall((quick_site / "slides.html").read_text(encoding="utf-8"))
    assert len(deck) >= 15
    assert all(page[src] == number for src, number in deck)


@pytest.mark.slow
def test_the_site_header_links_the_deck(quick_site: Path):
    assert '<a class="pdf-link slides-link" href="slides.html">幻灯片</a>' in \
        (quick_site / "index.html").read_text(encoding="utf-8")


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (make test installs it)")
def test_the_deck_in_chromium(quick_site: Path):
    """No console error, no request leaves the server, → moves on, every slide's images load."""
    from playwright.sync_api import sync_playwright

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(quick_site)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    server = f"http://127.0.0.1:{httpd.server_address[1]}/"
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            problems, requests = [], []
            page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
                    if m.type in ("error", "warning") else None)
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on("response", lambda r: problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)
            page.on("request", lambda r: requests.append(r.url))
            page.goto(server + "slides.html", wait_until="networkidle")
            total = page.evaluate("Reveal.getTotalSlides()")
            assert total == slide_count(quick_site) >= 20
            assert page.evaluate("Reveal.getIndices().h") == 0
            page.keyboard.press("ArrowRight")
            page.wait_for_function("Reveal.getIndices().h === 1")
            broken = []
            for index in range(total):
                page.evaluate(f"Reveal.slide({index})")
                broken += page.evaluate("""Promise.all([...Reveal.getCurrentSlide().querySelectorAll('img')].map(
                    img => img.decode().then(() => img.naturalWidth > 0 ? null : img.src, () => img.src)))""")
            page.keyboard.press("o")
            assert page.evaluate("Reveal.isOverview()")
            browser.close()
    finally:
        httpd.shutdown()
    assert [b for b in broken if b] == []
    assert [u for u in requests if not u.startswith(server)] == []
    assert problems == []


@pytest.mark.slow
def test_a_build_writes_the_deck_and_a_16_9_pdf_page_per_slide_the_same_each_time(project):
    from pypdf import PdfReader

    project.simple("alpha", 1, "第一节")
    project.simple("beta", 2, "第二节")
    (project.root / "templates" / "slides").mkdir()
    (project.root / "templates" / "slides" / "alpha.html").write_text(
        '{% call slide("数值") %}{{ stat(m.value, "数值") }}{% endcall %}', encoding="utf-8")
    report = project.build(pdf=True)
    site = project.root / "site"
    pages = PdfReader(site / "slides.pdf").pages
    assert len(pages) == slide_count(site) == 4  # cover, two titles, one slide
    assert all(float(p.mediabox.width) / float(p.mediabox.height) == pytest.approx(16 / 9) for p in pages)
    assert "pdf" in report.stages
    assert not (site / "math").exists()  # the formula images WeasyPrint read are not published
    first = {name: (site / name).read_bytes() for name in ("slides.html", "slides.pdf")}
    shutil.rmtree(project.root / ".cache" / "pdf")
    project.build(pdf=True)
    assert {name: (site / name).read_bytes() for name in first} == first
