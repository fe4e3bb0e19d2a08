"""The handout assembled from parts: page numbers, links across parts, bookmarks, caching."""
from __future__ import annotations

import subprocess
import textwrap

import pytest
from pypdf import PdfReader

from report.handout import HandoutError, HandoutSource, drawn_indentation, write_handout
from report.pdf import PartRenderer, PdfReport

CSS = "@page { size: A6; margin: 15mm; } section { break-before: page; } h2 { bookmark-level: 1; }"


def chapter(name: str, paragraphs: int, link: str = "") -> str:
    body = "".join(f"<p>第 {i} 段：神经网络。</p>" for i in range(paragraphs))
    more = f'<p><a href="#{link}">见另一章</a></p>' if link else ""
    return f'<html lang="zh-CN"><style>{CSS}</style><section id="{name}"><h2>{name} 章</h2>{more}{body}</section></html>'


def front(pages: dict[str, int]) -> str:
    entries = "".join(f'<li><a href="#{name}">{name} …… {page}</a></li>' for name, page in sorted(pages.items()))
    return f'<html lang="zh-CN"><style>{CSS}</style><h1>封面</h1><ol style="break-before: page">{entries}</ol></html>'


def footer(count: int) -> str:
    pages = "".join('<div style="break-after: page"></div>' for _ in range(count - 1)) + "<div></div>"
    return (f'<html><style>@page {{ size: A6; margin: 15mm; @bottom-center {{ content: "第 " counter(page) " 页 / 共 " '
            f'counter(pages) " 页"; font-family: "Noto Sans CJK SC"; }} }} '
            f'@page :first {{ @bottom-center {{ content: none; }} }}</style>{pages}</html>')


def source(chapters: list[str]) -> HandoutSource:
    return HandoutSource(chapters, front, footer, {"/Title": "讲义", "/Author": "编写组"})


@pytest.fixture
def handout(tmp_path):
    def write(chapters: list[str], name: str = "handout.pdf"):
        with PartRenderer(tmp_path, tmp_path / "cache", jobs=2) as parts:
            write_handout(source(chapters), parts, tmp_path / name)
        return PdfReport(parts.rendered, len(parts.used)), PdfReader(tmp_path / name)
    return write


def test_parts_become_one_book_with_page_numbers_contents_and_bookmarks(handout):
    report, pdf = handout([chapter("one", 30, link="two"), chapter("two", 3, link="one")])
    assert report.rendered == report.parts == 4  # front, two chapters, page numbers
    text = [page.extract_text() for page in pdf.pages]
    n = len(pdf.pages)
    assert "第" not in text[0], "the cover has no page number"
    assert all(f"第 {i + 1} 页 / 共 {n} 页" in text[i] for i in range(1, n))
    starts = {item.title: pdf.get_destination_page_number(item) for item in pdf.outline}
    assert starts["one 章"] == 2 and starts["two 章"] > starts["one 章"] + 1
    assert f"one …… {starts['one 章'] + 1}" in text[1] and f"two …… {starts['two 章'] + 1}" in text[1]
    assert pdf.metadata.title == "讲义" and pdf.trailer["/Root"]["/Lang"] == "zh-CN"


def test_links_between_parts_lead_to_the_right_page(handout):
    _, pdf = handout([chapter("one", 30, link="two"), chapter("two", 3, link="one")])
    starts = {item.title: pdf.get_destination_page_number(item) for item in pdf.outline}

    def link_targets(page_number: int) -> list[int]:
        annotations = [a.get_object() for a in pdf.pages[page_number].get("/Annots", [])]
        return [pdf.get_page_number(a["/Dest"][0]) for a in annotations if a.get("/Subtype") == "/Link"]

    assert link_targets(1) == sorted([starts["one 章"], starts["two 章"]])  # the contents
    assert link_targets(starts["one 章"]) == [starts["two 章"]]
    assert link_targets(starts["two 章"]) == [starts["one 章"]]


def test_editing_one_chapter_renders_only_that_part(handout, tmp_path):
    handout([chapter("one", 30), chapter("two", 3)], "a.pdf")
    report, _ = handout([chapter("one", 30), chapter("two", 4)], "b.pdf")
    assert report.rendered == 1
    report, _ = handout([chapter("one", 30), chapter("two", 4)], "c.pdf")
    assert report.rendered == 0
    assert len(list((tmp_path / "cache").glob("book-*.pdf"))) == 1, "one assembled book is kept, not one per edit"


def test_a_longer_chapter_renumbers_the_contents_and_the_footer(handout):
    _, before = handout([chapter("one", 3), chapter("two", 3)], "a.pdf")
    _, after = handout([chapter("one", 60), chapter("two", 3)], "b.pdf")
    assert len(after.pages) > len(before.pages)
    n = len(after.pages)
    assert f"共 {n} 页" in after.pages[-1].extract_text()
    two = next(item for item in after.outline if item.title == "two 章")
    assert f"two …… {after.get_destination_page_number(two) + 1}" in after.pages[1].extract_text()


def test_a_link_to_nowhere_is_an_error(handout):
    with pytest.raises(HandoutError, match="#nowhere"):
        handout([chapter("one", 1, link="nowhere")])


def test_the_same_parts_give_the_same_bytes(handout, tmp_path):
    handout([chapter("one", 5, link="two"), chapter("two", 3)], "a.pdf")
    handout([chapter("one", 5, link="two"), chapter("two", 3)], "b.pdf")
    assert (tmp_path / "a.pdf").read_bytes() == (tmp_path / "b.pdf").read_bytes()


def test_a_truncated_part_in_the_cache_is_rendered_again(handout, tmp_path):
    handout([chapter("one", 5), chapter("two", 3)], "a.pdf")
    parts = [p for p in (tmp_path / "cache").glob("*.pdf") if not p.name.startswith("book-")]
    part = max(parts, key=lambda p: p.stat().st_size)
    part.write_bytes(part.read_bytes()[:1000])
    report, _ = handout([chapter("one", 5), chapter("two", 3)], "b.pdf")
    assert report.rendered == 1
    assert (tmp_path / "a.pdf").read_bytes() == (tmp_path / "b.pdf").read_bytes()


def test_a_truncated_book_in_the_cache_is_assembled_again(handout, tmp_path):
    handout([chapter("one", 5), chapter("two", 3)], "a.pdf")
    (book,) = (tmp_path / "cache").glob("book-*.pdf")
    book.write_bytes(book.read_bytes()[:1000])
    report, _ = handout([chapter("one", 5), chapter("two", 3)], "b.pdf")
    assert report.rendered == 0
    assert (tmp_path / "a.pdf").read_bytes() == (tmp_path / "b.pdf").read_bytes()


CODE = '''def train(x, epochs=3):
    """一个缩进的文档字符串。"""
    total = 0
    for epoch in range(epochs):
        if epoch % 2 == 0:  # 偶数轮
            total += x * epoch
    return total
'''


def code_chapter(name: str) -> str:
    from report.highlight import highlight

    style = "pre { font-family: 'DejaVu Sans Mono'; font-size: 8.6pt; white-space: pre-wrap; }"
    return (f'<html lang="zh-CN"><style>{CSS} {style}</style><section id="{name}"><h2>{name} 章</h2>'
            f'<p>代码：</p>{highlight(CODE, "python")}</section></html>')


def listing_text(text: str) -> str:
    start = text.index("def train")
    return textwrap.dedent(text[start - len(text[:start].rsplit("\n", 1)[-1]):text.index("return total") + 12])


def test_code_copied_from_the_handout_keeps_its_indentation(handout):
    """WeasyPrint does not draw a box of spaces: the indentation before a coloured token used to vanish."""
    _, pdf = handout([code_chapter("one")])
    page = next(p for p in pdf.pages if "def train" in p.extract_text())
    copied = listing_text(page.extract_text())
    assert copied.splitlines() == CODE.strip().splitlines()
    compile(copied, "copied.py", "exec")
    # Not poppler: `pdftotext` writes no leading white space whatever glyph is drawn (U+0020, U+00A0,
    # U+2007, U+3000 tried), and `pdftotext -layout` guesses columns from positions, one short after CJK.


def test_drawn_indentation_moves_spaces_into_the_next_token_only_in_code():
    html = '<p>  <b>x</b></p><pre><code><span class="k">if</span> x:\n    <span class="k">return</span>\n    y\n</code></pre>'
    assert drawn_indentation(html) == ('<p>  <b>x</b></p><pre><code><span class="k">if</span> x:\n'
                                       '<span class="k">    return</span>\n    y\n</code></pre>')
    spaced = '<pre><span class="p">:</span>  <span class="c1"># 注释</span></pre>'
    assert drawn_indentation(spaced) == '<pre><span class="p">:</span><span class="c1">  # 注释</span></pre>'


def struct_text(path) -> str:
    return subprocess.run(["pdfinfo", "-struct-text", str(path)], capture_output=True, text=True, check=True).stdout


def test_the_book_has_one_structure_tree_that_reaches_all_page_content(handout, tmp_path):
    import pikepdf

    from report.book_tags import content_mcids, marked_content

    handout([chapter("one", 30, link="two"), code_chapter("two")])
    with pikepdf.open(tmp_path / "handout.pdf") as pdf:
        assert pdf.Root.MarkInfo.Marked and str(pdf.Root.Lang) == "zh-CN"
        (document,) = pdf.Root.StructTreeRoot.K
        assert document.S == "/Document" and [kid.S for kid in document.K] == ["/Part"] * 3
        reached = {(page.objgen, mcid) for _, page, mcid in marked_content(pdf.Root.StructTreeRoot)}
        drawn = {(page.obj.objgen, mcid) for page in pdf.pages for mcid in content_mcids(page)}
        assert drawn and reached == drawn, "every piece of marked content is in the tree, and nothing else"
        parents = pdf.Root.StructTreeRoot.ParentTree.Nums
        for element, page, mcid in marked_content(pdf.Root.StructTreeRoot):
            assert parents[2 * page.StructParents + 1][mcid].objgen == element.objgen
        for page in pdf.pages:  # the page numbers, drawn last, are an artifact
            tail = pikepdf.parse_content_stream(page)[-5:]
            assert [str(op) for _, op in tail] == ["BDC", "q", "Do", "Q", "EMC"] and tail[0][0][0] == "/Artifact"
    text = struct_text(tmp_path / "handout.pdf")
    assert text.index("封面") < text.index("one 章") < text.index("第 29 段") < text.index("two 章")
    assert '"    for"' in text  # the listing, indented, in the tree too

