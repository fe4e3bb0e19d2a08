"""book_tags.adopt_orphans: the links' words WeasyPrint leaves out of the structure tree join it again."""
from __future__ import annotations

import io

import pikepdf
import pytest
from pikepdf import Array, Dictionary, Name

from report.book_tags import adopt_orphans, content_mcids, marked_content, walk


def reading_order(pdf: pikepdf.Pdf) -> list[int]:
    return [mcid for _, _, mcid in marked_content(pdf.Root.StructTreeRoot)]


@pytest.fixture
def tagged_paragraph() -> pikepdf.Pdf:
    weasyprint = pytest.importorskip("weasyprint")
    pdf = weasyprint.HTML(string='<html lang="zh"><p>前文 <a href="#t">链接</a> 后文</p><h2 id="t">目标</h2></html>').write_pdf(pdf_tags=True)
    return pikepdf.open(io.BytesIO(pdf))


def orphan_the_element_of(pdf: pikepdf.Pdf, mcid: int) -> None:
    """What WeasyPrint 70 does to some of a link's words: their element (its MCID listed twice) hangs
    in a /NonStruct whose parent, the /Document, does not list it."""
    element = next(e for e, _, m in marked_content(pdf.Root.StructTreeRoot) if m == mcid)
    parent = element.P
    parent.K = Array([kid for kid in (parent.K if isinstance(parent.K, pikepdf.Array) else [parent.K])
                      if not (isinstance(kid, pikepdf.Dictionary) and kid.objgen == element.objgen)])
    document = pdf.Root.StructTreeRoot.K[0] if isinstance(pdf.Root.StructTreeRoot.K, pikepdf.Array) else pdf.Root.StructTreeRoot.K
    holder = pdf.make_indirect(Dictionary(Type=Name.StructElem, S=Name.NonStruct, P=document, K=Array([element])))
    element.P = holder
    element.K = Array([mcid, mcid])


def test_an_orphaned_element_is_read_again_where_it_was_drawn(tagged_paragraph):
    pdf = tagged_paragraph
    before = reading_order(pdf)
    drawn = {(page.obj.objgen, m) for page in pdf.pages for m in content_mcids(page)}
    middle = before[len(before) // 2]
    orphan_the_element_of(pdf, middle)
    assert middle not in reading_order(pdf)

    assert adopt_orphans(pdf) == 1
    assert reading_order(pdf) == before, "in its place, once"
    assert {(page.objgen, m) for _, page, m in marked_content(pdf.Root.StructTreeRoot)} == drawn
    assert all(kid.P.objgen == parent.objgen for parent, kid in walk(pdf.Root.StructTreeRoot)
               if isinstance(kid, pikepdf.Dictionary) and "/P" in kid and parent is not pdf.Root.StructTreeRoot)


def test_a_whole_tree_is_left_alone(tagged_paragraph):
    before = reading_order(tagged_paragraph)
    assert adopt_orphans(tagged_paragraph) == 0
    assert reading_order(tagged_paragraph) == before
