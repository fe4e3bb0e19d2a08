"""`python build.py --quick` on the real project, checked the way a reader would meet it."""
from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest
from pypdf import PdfReader

from report.discover import discover

REPO = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


class PageIndex(HTMLParser):
    def __init__(self):
        super().__init__()
        self.lang, self.ids, self.targets, self.images = None, set(), [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "html":
            self.lang = attrs.get("lang")
        if "id" in attrs:
            self.ids.add(attrs["id"])
        for key in ("src", "href"):
            if attrs.get(key):
                self.targets.append(attrs[key])
        if tag == "img":
            self.images.append(attrs)


@pytest.fixture(scope="module")
def site(quick_site) -> Path:
    return quick_site


def test_html_is_chinese_and_every_link_resolves(site):
    page = PageIndex()
    page.feed((site / "index.html").read_text(encoding="utf-8"))
    assert page.lang == "zh-CN"
    assert (site / ".nojekyll").exists()
    for target in page.targets:
        if target.startswith("#"):
            assert target[1:] in page.ids, f"dangling anchor {target}"
        else:
            assert "://" not in target, f"external request {target}"
            assert (site / target).is_file(), f"missing {target}"
    assert all(img.get("alt") for img in page.images), "every image has alt text"
    assert any(t.endswith(".svg") and t.startswith("figures/") for t in page.targets)


def test_the_build_prints_no_warnings(site):
    """WeasyPrint and matplotlib warnings are defects (a rule dropped, a glyph missing), not noise."""
    log = (site.parent / "build.log").read_text(encoding="utf-8")
    assert "built " in log
    # Claims a quick build's small sizes do not bear out are listed by design; nothing else may warn.
    other = [line for line in log.splitlines() if "warning" in line.lower()
             and not line.startswith("warning (quick build): §")]
    assert not other, log


def test_every_section_is_on_the_site_and_in_the_pdf(site):
    html = (site / "index.html").read_text(encoding="utf-8")
    text = "".join(page.extract_text() for page in PdfReader(site / "handout.pdf").pages)
    for experiment in discover():
        assert experiment.title in html
        assert experiment.title in text, f"{experiment.title} missing from the PDF text"


def test_pdf_embeds_a_subset_cjk_font_with_bold(site):
    reader = PdfReader(site / "handout.pdf")
    fonts = set()
    for page in reader.pages:
        for font in page["/Resources"].get("/Font", {}).values():
            font = font.get_object()
            descendant = font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
            descriptor = descendant.get("/FontDescriptor")
            embedded = descriptor is not None and any(k in descriptor.get_object() for k in
                                                      ("/FontFile", "/FontFile2", "/FontFile3"))
            fonts.add((str(font["/BaseFont"]), embedded))
    cjk = {name for name, embedded in fonts if "CJK" in name and embedded}
    assert any("+" in name for name in cjk), f"no embedded subset CJK font in {fonts}"
    assert any("Bold" in name for name in cjk), f"no bold CJK face in {fonts}"
    width, height = (float(v) for v in reader.pages[0].mediabox.upper_right)
    assert (round(width), round(height)) == (595, 842), "A4 pages"


def test_a_forced_rebuild_gives_byte_identical_output(site, tmp_path):
    """Every experiment re-run (Keras included) must reproduce the same pages, figures and PDF."""
    import subprocess
    import sys

    from test_pipeline import tree_digest

    again = tmp_path / "site"
    result = subprocess.run([sys.executable, "build.py", "--quick", "--force", "--out", str(again)], cwd=REPO,
                            capture_output=True, text=True, timeout=1800)
    assert result.returncode == 0, result.stderr
    first, second = tree_digest(site), tree_digest(again)
    assert first.keys() == second.keys()
    assert [name for name in first if first[name] != second[name]] == []
