"""One font program per face in the assembled handout: tags, glyphs, and pages that do not change."""
from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import pikepdf
import pytest

import report.pdf_fonts as pdf_fonts
from report.handout import HandoutSource, write_handout
from report.pdf import PartRenderer
from report.pdf_fonts import parse_to_unicode, subset_tag, to_unicode_cmap, width_array

CSS = ('@page { size: A6; margin: 12mm; } section { break-before: page; } '
       'h2 { font-family: "Noto Sans CJK SC"; font-weight: bold; } pre { font-family: "DejaVu Sans Mono"; }')


def chapter(name: str, words: str) -> str:
    return (f'<html lang="zh-CN"><style>{CSS}</style><section id="{name}"><h2>{name}：{words[:4]}</h2>'
            f'<p>{words}</p><pre>def {name}(x):\n    return x  # {words[:3]}</pre></section></html>')


def front(pages: dict[str, int]) -> str:
    return f'<html lang="zh-CN"><style>{CSS}</style><h1>讲义封面</h1></html>'


def footer(count: int) -> str:
    pages = '<div style="break-after: page"></div>' * (count - 1) + "<div></div>"
    return (f'<html><style>@page {{ size: A6; margin: 12mm; @bottom-center {{ content: "第 " counter(page) " 页"; '
            f'font-family: "Noto Sans CJK SC"; }} }}</style>{pages}</html>')


# Different characters in each chapter: each part's subsets differ, under the same WeasyPrint tags.
CHAPTERS = [chapter("alpha", "神经网络从零实现，前向传播与反向传播。"),
            chapter("beta", "梯度消失：深层网络的激活函数与初始化。")]


def write(tmp_path: Path, name: str = "book.pdf") -> Path:
    source = HandoutSource(CHAPTERS, front, footer, {"/Title": "讲义"})
    with PartRenderer(tmp_path, tmp_path / f"cache-{name}", jobs=1) as parts:
        write_handout(source, parts, tmp_path / name)
    return tmp_path / name


@pytest.fixture(scope="module")
def books(tmp_path_factory) -> tuple[Path, Path]:
    """The same book assembled without sharing (as before this module) and with it."""
    tmp_path = tmp_path_factory.mktemp("fonts")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pdf_fonts, "share_fonts", lambda book: None)
        unshared = write(tmp_path, "unshared.pdf")
    shutil.copytree(tmp_path / "cache-unshared.pdf", tmp_path / "cache-shared.pdf",
                    ignore=shutil.ignore_patterns("book-*"))  # the same parts, assembled again
    return unshared, write(tmp_path, "shared.pdf")


def type0_fonts(path: Path) -> list[tuple[str, tuple[int, int]]]:
    """(BaseFont, font program object) of every Type0 font the pages use."""
    with pikepdf.open(path) as pdf:
        found = {}
        for fonts in pdf_fonts.font_resources(pdf):
            for font in fonts.values():
                descriptor = font.DescendantFonts[0].FontDescriptor
                program = descriptor.get("/FontFile3") or descriptor.get("/FontFile2")
                found[font.objgen] = (str(font.BaseFont)[1:], program.objgen)
        return sorted(found.values())


def test_before_sharing_the_parts_repeat_tags_for_different_programs(books):
    """What the module fixes, so the test below can fail: WeasyPrint's tags name the description."""
    fonts = type0_fonts(books[0])
    assert len({program for _, program in fonts}) > len({name for name, _ in fonts})


def test_each_face_has_one_program_under_a_tag_of_its_own(books):
    fonts = type0_fonts(books[1])
    names = [name for name, _ in fonts]
    assert len(set(names)) == len(names) == len({program for _, program in fonts}) >= 3
    tags = [name.split("+")[0] for name in names]
    assert all(len(tag) == 6 and tag.isupper() and tag.isalpha() for tag in tags) and len(set(tags)) == len(tags)
    faces = {name.split("+")[1] for name in names}
    assert {"NotoSansCJKsc-Regular", "NotoSansCJKsc-Bold", "DejaVuSansMono"} <= faces
    listing = subprocess.run(["pdffonts", str(books[1])], capture_output=True, text=True, check=True).stdout
    rows = [line.split() for line in listing.splitlines()[2:]]
    assert len(rows) == len(names) and all(row[-5:-3] == ["yes", "yes"] for row in rows), listing  # emb, sub


def test_a_cjk_face_keeps_only_the_glyphs_the_book_uses_found_by_their_cids(books):
    from fontTools.cffLib import CFFFontSet

    with pikepdf.open(books[1]) as pdf:
        for fonts in pdf_fonts.font_resources(pdf):
            for font in fonts.values():
                if "NotoSansCJKsc-Regular" in str(font.BaseFont):
                    descendant = font.DescendantFonts[0]
                    program = descendant.FontDescriptor.FontFile3
                    used = set(pdf_fonts.widths(descendant))
                    cff = CFFFontSet()
                    cff.decompile(io.BytesIO(program.read_bytes()), None)
    assert program.Subtype == "/CIDFontType0C"
    charset = cff[cff.fontNames[0]].charset
    assert {int(name[3:]) for name in charset[1:]} == used - {0}, "CID = the glyph id WeasyPrint wrote"


def test_sharing_changes_neither_the_pages_nor_their_text(books, tmp_path):
    unshared, shared = books
    assert shared.stat().st_size < unshared.stat().st_size * 0.6
    for path in books:
        subprocess.run(["pdftoppm", "-r", "50", "-png", str(path), str(tmp_path / path.stem)], check=True)
    pages = sorted(tmp_path.glob("unshared-*.png"))
    assert pages
    for page in pages:
        assert page.read_bytes() == (tmp_path / page.name.replace("unshared", "shared")).read_bytes(), page.name
    text = [subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
            for path in books]
    assert text[0] == text[1] and "梯度消失" in text[1]
    subprocess.run(["qpdf", "--check", str(shared)], check=True, capture_output=True)


def test_a_font_not_installed_as_the_parts_used_it_keeps_its_programs_under_tags_of_their_own(books, tmp_path):
    with pikepdf.open(books[0]) as pdf, pytest.MonkeyPatch.context() as patch:
        patch.setattr(pdf_fonts, "installed_fonts", lambda: {})
        with pytest.warns(UserWarning, match="delete .cache/pdf"):
            pdf_fonts.share_fonts(pdf)
        pdf.save(tmp_path / "retagged.pdf")
    fonts = type0_fonts(tmp_path / "retagged.pdf")
    by_name = {}
    for name, program in fonts:
        by_name.setdefault(name, set()).add(program)
    assert all(len(programs) == 1 for programs in by_name.values()), "one tag, one program"


def test_subset_tags_come_from_the_program_and_never_repeat():
    taken = set()
    first = subset_tag(b"program", taken)
    assert first == subset_tag(b"program", set()) and len(first) == 6 and first.isupper()
    assert subset_tag(b"program", taken) != first, "a tag already in the book is not given twice"


def test_widths_and_unicode_maps_round_trip():
    text = {1: " ", 2: "网", 300: "络", 301: "ﬁ"}
    assert parse_to_unicode(to_unicode_cmap(text)) == text
    assert [int(x) if not isinstance(x, pikepdf.Array) else [int(v) for v in x]
            for x in width_array({1: 500, 2: 600, 7: 1000})] == [1, [500, 600], 7, [1000]]
    assert pdf_fonts.widths(pikepdf.Dictionary(W=pikepdf.Array([1, 3, 500, 9, [250.5]]))) == {
        1: 500, 2: 500, 3: 500, 9: 250.5}


def test_a_character_no_font_has_is_named_not_blamed_on_the_font_version(tmp_path):
    """U+10FFFD is in no font: Pango draws the CJK font's .notdef, with a width of its own."""
    source = HandoutSource([chapter("gamma", "缺字\U0010FFFD在此。")], front, footer, {"/Title": "讲义"})
    with pytest.warns(UserWarning, match=r"no glyph in any installed font") as caught, \
            PartRenderer(tmp_path, tmp_path / "cache", jobs=1) as parts:
        write_handout(source, parts, tmp_path / "book.pdf")
    assert not [w for w in caught if "not the one" in str(w.message)]
