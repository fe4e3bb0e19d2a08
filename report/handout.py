"""The print handout, put together from parts: the front matter, one part per chapter, page numbers.

WeasyPrint needs ~8 s, on one core, for the whole 31-page book. Chapters start on a new page
and are laid out independently, so each chapter is a WeasyPrint document of its own, cached by
what it shows (report/pdf.py): editing one section's prose re-renders one chapter, and a cold
build renders the chapters on every core. What depends on the whole book is added here: the
page numbers in the contents (the front part is rendered once the chapters' lengths are
known), the footer 「第 N 页 / 共 M 页」 (an overlay rendered for M pages), links from one part
to another, and the metadata. The price: each part embeds its own subset of the CJK fonts, so
the PDF is several times larger than a single document's.
"""
from __future__ import annotations

import hashlib
import json
import re
import shutil
from contextlib import ExitStack
from io import BytesIO
from collections.abc import Callable
from typing import TYPE_CHECKING
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from report.pdf import PartRenderer, RenderedPart, digest

LANG = "zh-CN"
if TYPE_CHECKING:
    from pypdf import PdfWriter

FRONT_PAGES_GUESS = 2  # cover and one page of contents; corrected if the contents run longer


@dataclass
class HandoutSource:
    chapters: list[str]  # HTML, one document per top-level section
    front: Callable[[dict[str, int]], str]  # cover and contents, given the page of every anchor
    footer: Callable[[int], str]  # the page-number overlay for a book of n pages
    info: dict[str, str]  # PDF metadata: /Title, /Author, ...


@dataclass
class HandoutReport:
    rendered: int  # parts WeasyPrint had to render; 0: all came from the cache
    parts: int


class HandoutError(RuntimeError):
    pass


def write_handout(source: HandoutSource, site_dir: Path, target: Path, cache_dir: Path, jobs: int) -> HandoutReport:
    with PartRenderer(site_dir, cache_dir, jobs) as parts:
        book, footer = render_book(source, parts)
    shutil.copyfile(assemble_cached(book, footer, source.info, cache_dir), target)
    return HandoutReport(parts.rendered, len(book) + 1)


def render_book(source: HandoutSource, parts: PartRenderer) -> tuple[list[RenderedPart], RenderedPart]:
    """The front matter and the chapters, in order, and the page numbers for all of them."""
    chapters = parts.render([drawn_indentation(chapter) for chapter in source.chapters])
    front_pages = FRONT_PAGES_GUESS
    for _ in range(3):  # the contents' length hardly depends on the numbers in it: settles at once
        (front,) = parts.render([source.front(page_numbers(chapters, front_pages + 1))])
        if front.pages == front_pages:
            break
        front_pages = front.pages
    (footer,) = parts.render([source.footer(front.pages + sum(c.pages for c in chapters))], tagged=False)
    return [front, *chapters], footer


PRE = re.compile(r"<pre\b.*?</pre>", re.S)
SPACES_BEFORE_TAGS = re.compile(r"(^|>)( +)((?:<[^>]*>)+)(?=[^<\n])", re.M)  # spaces alone, tags, then text


def drawn_indentation(html: str) -> str:
    """Code copied from the PDF keeps its indentation. WeasyPrint draws no text box that is only
    white space, and the highlighter makes a line's indentation a box of its own when a coloured
    token follows it: the spaces were laid out but never written, so no extractor can find them.
    Moved into the next token's box (`    <span>if</span>` -> `<span>    if</span>`), they are drawn
    as the font's space glyphs, which extract as U+0020; so are the spaces between tokens.
    Print only: the site copies from the DOM."""
    return PRE.sub(lambda pre: SPACES_BEFORE_TAGS.sub(r"\1\3\2", pre.group(0)), html)


def assemble_cached(book: list[RenderedPart], footer: RenderedPart, info: dict[str, str], cache_dir: Path) -> Path:
    """The parts are the cache; one whole book is kept besides, for rebuilds that change nothing."""
    assembled = cache_dir / f"book-{assembly_key(book, footer, info)}.pdf"
    checksum = assembled.with_suffix(".sha256")
    if not (checksum.is_file() and checksum.read_text() == digest(assembled)):
        for old in cache_dir.glob("book-*"):
            old.unlink()
        assemble(book, footer, info, assembled)
        checksum.write_text(digest(assembled))
    return assembled


def page_numbers(chapters: list[RenderedPart], first_page: int) -> dict[str, int]:
    """The page (1-based, in the whole book) of every anchor in the chapters."""
    pages, start = {}, first_page
    for chapter in chapters:
        pages.update({name: start + page for name, (page, _, _) in chapter.anchors.items()})
        start += chapter.pages
    return pages


def assembly_key(parts: list[RenderedPart], footer: RenderedPart, info: dict[str, str]) -> str:
    h = hashlib.sha256(json.dumps([[p.pdf.name for p in parts], footer.pdf.name, info], ensure_ascii=False).encode())
    h.update(f'{metadata.version("pypdf")} {metadata.version("pikepdf")}'.encode())
    return h.hexdigest()[:24]


def assemble(parts: list[RenderedPart], footer: RenderedPart, info: dict[str, str], target: Path) -> None:
    """pypdf joins the pages, bookmarks and links; pikepdf then joins the structure trees and
    draws the page numbers (report/book_tags.py)."""
    import pikepdf

    from report.book_tags import join_structure, overlay_artifacts

    writer, starts = join_pages(parts, info)
    pages = BytesIO()
    writer.write(pages)
    with ExitStack() as stack:
        book = stack.enter_context(pikepdf.open(pages))
        sources = [stack.enter_context(pikepdf.open(part.pdf)) for part in parts]
        join_structure(book, sources, starts, LANG)
        overlay_artifacts(book, stack.enter_context(pikepdf.open(footer.pdf)))
        book.save(target, deterministic_id=True, object_stream_mode=pikepdf.ObjectStreamMode.generate)


def join_pages(parts: list[RenderedPart], info: dict[str, str]) -> tuple[PdfWriter, list[int]]:
    """Every part's pages, bookmarks and links; and the book's page index where each part starts."""
    from pypdf import PdfWriter
    from pypdf.annotations import Link
    from pypdf.generic import Fit, NameObject, TextStringObject

    writer = PdfWriter()
    starts = []
    for part in parts:  # pages, bookmarks and the links within each part
        starts.append(len(writer.pages))
        writer.append(str(part.pdf))
    anchors = {name: (start + page, x, y)
               for part, start in zip(parts, starts) for name, (page, x, y) in part.anchors.items()}
    for part, start in zip(parts, starts):
        for link in part.links:
            if link.target not in anchors:
                raise HandoutError(f"a link on page {start + link.page + 1} points to #{link.target}, "
                                   "which is nowhere in the handout")
            page, x, y = anchors[link.target]
            writer.add_annotation(start + link.page, Link(rect=link.rect, target_page_index=page, fit=Fit.xyz(x, y, 0)))
    writer.add_metadata(info)
    writer.root_object[NameObject("/Lang")] = TextStringObject(LANG)
    return writer, starts
