"""Which sections of a page an open tab of `build.py --serve` swaps in, and when it must reload."""
from __future__ import annotations

from pathlib import Path

from report.preview_patch import changed_sections, page_changes, split_sections

PAGE = """<!DOCTYPE html><html><head><title>t</title></head><body>
<nav class="toc"><a href="#a">A</a><a href="#b">B</a></nav>
<main>
<section id="a" class="section level-1"><h2>A</h2><p>{a}</p>
  <section class="exercises"><p>练习</p></section>
  <section id="a_tip" class="section level-2"><p>tip</p></section>
</section>
<section id="b" class="section level-1"><h2>B</h2><p>{b}</p></section>
</main>
<footer>{footer}</footer>
</body></html>
"""


def page(a="一", b="二", footer="脚注") -> str:
    return PAGE.format(a=a, b=b, footer=footer)


def test_top_level_sections_are_cut_out_with_what_they_hold():
    frame, sections = split_sections(page())
    assert list(sections) == ["a", "b"], "nested sections belong to the one around them"
    assert "<p>tip</p>" in sections["a"] and sections["a"].endswith("</section>")
    assert "练习" not in frame and "<footer>脚注</footer>" in frame


def test_an_edit_inside_a_section_changes_that_section_only():
    assert changed_sections(page(), page(b="改过")) == ["b"]
    assert changed_sections(page(), page(a="改过", b="也改过")) == ["a", "b"]
    assert changed_sections(page(), page()) == []


def test_an_edit_outside_the_sections_reloads():
    assert changed_sections(page(), page(footer="新脚注")) is None
    assert changed_sections(page(), page().replace("<title>t</title>", "<title>u</title>")) is None
    assert changed_sections(page(), page().replace('id="b"', 'id="c"')) is None, "a section came or went"


def test_tags_that_do_not_nest_or_repeated_ids_reload():
    assert split_sections("<section id='a'><p></p>") is None
    assert split_sections("</section><section id='a'></section>") is None
    assert split_sections("<section id='a'></section><section id='a'></section>") is None


def site(root: Path, html: str, css: str = "body{}") -> Path:
    (root / "figures").mkdir(parents=True)
    (root / "figures" / "f.svg").write_text("<svg/>")
    (root / "figures" / "f.print.svg").write_text("<svg print/>")
    (root / "index.html").write_text(html, encoding="utf-8")
    (root / "slides.html").write_text("<section><p>slide</p></section>", encoding="utf-8")
    (root / "style.css").write_text(css)
    return root


def test_page_changes_name_each_pages_sections(tmp_path):
    published, staging = site(tmp_path / "site", page()), site(tmp_path / "staging", page(a="改过"))
    (published / "figures" / "f.print.svg").unlink()  # made for the PDF, deleted once it is
    (published / "handout.pdf").write_bytes(b"%PDF")  # not made yet in staging: not a page
    assert page_changes(published, staging) == {"index.html": ["a"], "slides.html": []}
    (staging / "slides.html").write_text("<section><p>new slide</p></section>")
    assert page_changes(published, staging) == {"index.html": ["a"], "slides.html": None}, "the deck reloads"


def test_a_changed_stylesheet_or_figure_reloads_every_page(tmp_path):
    published = site(tmp_path / "site", page())
    assert page_changes(published, site(tmp_path / "css", page(), css="body{color:red}")) is None
    staging = site(tmp_path / "figure", page())
    (staging / "figures" / "f.svg").write_text("<svg other/>")
    assert page_changes(published, staging) is None
    staging = site(tmp_path / "new page", page())
    (staging / "answers.html").write_text("<p></p>")
    assert page_changes(published, staging) is None
    assert page_changes(tmp_path / "none yet", published) is None
