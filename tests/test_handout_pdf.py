"""The printed handout's structure: outline, table of contents, metadata, fonts."""
from __future__ import annotations

import html
import re
import subprocess
import unicodedata
from pathlib import Path

import pytest
from pypdf import PdfReader

from report.discover import discover

pytestmark = pytest.mark.slow
TOC_LINE = re.compile(r"^(\d+(?:\.\d+)*)\s+(.+?)\s*\.{3,}\s*(\d+)\s*$")


@pytest.fixture(scope="module")
def pdf(quick_site: Path) -> PdfReader:
    return PdfReader(quick_site / "handout.pdf")


def outline(reader: PdfReader) -> dict[str, int]:
    """Bookmark title -> 1-based page number, for the whole tree."""
    found = {}

    def walk(items):
        for item in items:
            if isinstance(item, list):
                walk(item)
            else:
                found[item.title] = reader.get_destination_page_number(item) + 1
    walk(reader.outline)
    return found


def toc(reader: PdfReader) -> dict[str, int]:
    text = "\n".join(page.extract_text() for page in reader.pages[1:4])
    return {f"{m[1]} {m[2]}": int(m[3]) for line in text.splitlines() if (m := TOC_LINE.match(line.strip()))}


def test_every_section_has_a_bookmark_and_a_toc_entry_with_the_right_page(pdf):
    bookmarks, contents = outline(pdf), toc(pdf)
    for e in discover():
        label = f"{e.number} {e.title}"
        assert label in bookmarks, f"no bookmark for {label}: {sorted(bookmarks)}"
        assert contents.get(label) == bookmarks[label], f"TOC says {contents.get(label)}, section starts on {bookmarks[label]}"
        assert e.title in pdf.pages[bookmarks[label] - 1].extract_text()


def test_metadata_title_language_and_page_footer(pdf):
    assert pdf.metadata.title == "神经网络实现详解"
    assert pdf.trailer["/Root"]["/Lang"] == "zh-CN"
    pages = len(pdf.pages)
    assert pages >= len(discover()) + 2, "cover, contents, and a page per section at least"
    assert f"第 {pages} 页 / 共 {pages} 页" in pdf.pages[-1].extract_text()


def test_code_listings_are_highlighted_in_colour(pdf):
    """The Pygments keyword colour is a fill colour on a page that shows code."""
    from pygments.styles import get_style_by_name
    from pygments.token import Keyword

    from report.highlight import LIGHT_STYLE

    hex_colour = get_style_by_name(LIGHT_STYLE).style_for_token(Keyword)["color"]
    keyword = tuple(int(hex_colour[i:i + 2], 16) for i in (0, 2, 4))
    page = next(p for p in pdf.pages if "def " in p.extract_text())
    content = page.get_contents().get_data().decode("latin-1")
    fills = {tuple(round(float(v) * 255) for v in m) for m in re.findall(r"([\d.]+) ([\d.]+) ([\d.]+) rg", content)}
    assert keyword in fills, f"keyword colour #{hex_colour} not used on the page with code"


def test_the_contents_link_to_every_section_and_the_cover_is_bare(pdf):
    bookmarks = outline(pdf)
    links = [a.get_object() for page in pdf.pages[1:3] for a in page.get("/Annots", [])]
    targets = {pdf.get_page_number(link["/Dest"][0]) + 1 for link in links if "/Dest" in link}
    assert targets == {bookmarks[f"{e.number} {e.title}"] for e in discover()} | {bookmarks["术语表"]}
    assert "页" not in pdf.pages[0].extract_text(), "no header or page number on the cover"


def test_the_handout_is_tagged_with_one_tree_that_reaches_every_page(quick_site: Path):
    import pikepdf

    from report.book_tags import content_mcids, marked_content, walk

    path = quick_site / "handout.pdf"
    assert "Tagged:          yes" in subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True).stdout
    subprocess.run(["qpdf", "--check", str(path)], check=True, capture_output=True)
    with pikepdf.open(path) as pdf:
        (document,) = pdf.Root.StructTreeRoot.K
        parts = list(document.K)
        assert len(parts) >= 3 and all(part.S == "/Part" for part in parts), "the front, the chapters, the glossary"
        reached = {(page.objgen, mcid) for _, page, mcid in marked_content(pdf.Root.StructTreeRoot)}
        drawn = {(page.obj.objgen, mcid) for page in pdf.pages for mcid in content_mcids(page)}
        assert reached == drawn  # WeasyPrint 70 leaves some links' words out: book_tags.adopt_orphans
        reached_list = [(page.objgen, mcid) for _, page, mcid in marked_content(pdf.Root.StructTreeRoot)]
        assert len(reached_list) == len(reached), "no text is read twice"
        per_part = [[kid for _, kid in walk(part) if isinstance(kid, pikepdf.Dictionary) and kid.get("/S") == "/H2"]
                    for part in parts]
        assert len(per_part[0]) == 2, "the front: the contents' title and the notebooks'"
        assert all(len(h) == 1 for h in per_part[1:]), "one H2 per chapter and for the glossary"
        headings = [h for hs in per_part for h in hs]
        pages = [pdf.pages.index(pikepdf.Page(h.Pg)) for h in headings]
        assert pages == sorted(pages), "the chapters' headings come in page order"


def listings(site_dir: Path) -> list[str]:
    """The printed listings' source, as the site shows it (folded listings are not printed)."""
    site = (site_dir / "index.html").read_text(encoding="utf-8")
    site = re.sub(r'<details class="listing folded">.*?</details>', "", site, flags=re.S)
    return [html.unescape(re.sub(r"<[^>]+>", "", pre)) for pre in re.findall(r'<div class="highlight"><pre>(.*?)</pre>', site, re.S)]


def test_code_lines_keep_their_indentation(pdf, quick_site: Path):
    """Every indented listing line short enough not to wrap is found, spaces and all, in the text
    that poppler's plain `pdftotext` (report/actual_text.py) and pypdf extract."""
    lines = {line.rstrip() for listing in listings(quick_site) for line in listing.splitlines()}
    indented = {line for line in lines if line.startswith("    ") and columns(line) <= 80}
    plain = subprocess.run(["pdftotext", str(quick_site / "handout.pdf"), "-"], capture_output=True, text=True,
                           check=True).stdout
    found = {line.rstrip() for line in plain.splitlines()}
    assert indented and indented <= found, sorted(indented - found)[:5]
    assert any(not line.isascii() for line in indented), "lines with Chinese comments are among them"
    found = {line.rstrip() for page in pdf.pages for line in page.extract_text().splitlines()}
    ascii_lines = {line for line in indented if line.isascii()}  # pypdf spaces CJK text its own way
    assert ascii_lines <= found, sorted(ascii_lines - found)[:5]


def columns(line: str) -> int:
    """Width in monospace columns: Chinese characters take two."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in line)


def test_listings_copied_with_pdftotext_compile(quick_site: Path):
    """A listing that is not cut by a page break or a wrapped line comes out of plain `pdftotext`
    whole, and Python compiles it."""
    plain = subprocess.run(["pdftotext", str(quick_site / "handout.pdf"), "-"], capture_output=True, text=True,
                           check=True).stdout
    whole = [listing for listing in listings(quick_site) if listing.strip() in plain]
    assert len([listing for listing in whole if "\n    " in listing]) >= 3, "indented listings found whole"
    for listing in whole:
        compile(listing, "listing.py", "exec")


def test_one_font_program_per_face_under_unique_tags_and_a_small_file(quick_site: Path):
    """ISO 32000-1 §9.6.4: a subset tag names one program (report/pdf_fonts.py); 2.0 MB is the
    size of the handout as one WeasyPrint document."""
    import pikepdf

    from report.pdf_fonts import font_resources

    path = quick_site / "handout.pdf"
    with pikepdf.open(path) as book:
        fonts = {font.objgen: font for fonts in font_resources(book) for font in fonts.values()}
        names = sorted(str(font.BaseFont)[1:] for font in fonts.values())
        programs = {(font.DescendantFonts[0].FontDescriptor.get("/FontFile3")
                     or font.DescendantFonts[0].FontDescriptor.FontFile2).objgen for font in fonts.values()}
    faces = [name.split("+")[1] for name in names]
    assert len(set(faces)) == len(faces) == len(programs), names
    assert len({name.split("+")[0] for name in names}) == len(names)
    listing = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    assert len(listing.splitlines()) - 2 == len(names), listing
    assert path.stat().st_size <= 2_000_000, f"{path.stat().st_size:,} bytes"
