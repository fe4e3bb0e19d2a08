"""The handout assembled from parts: page numbers, links across parts, bookmarks, caching."""
from __future__ import annotations

import pytest
from pypdf import PdfReader

from report.handout import HandoutError, HandoutSource, write_handout

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
        report = write_handout(source(chapters), tmp_path, tmp_path / name, tmp_path / "cache", jobs=2)
        return report, PdfReader(tmp_path / name)
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
