"""The print handout, put together from parts: the front matter, one part per chapter, page numbers.

WeasyPrint needs ~8 s, on one core, for the whole 31-page book. Chapters start on a new page
and are laid out independently, so each chapter is a WeasyPrint document of its own, cached by
what it shows (report/pdf.py): editing one section's prose re-renders one chapter, and a cold
build renders the chapters on every core. What depends on the whole book is added here: the
page numbers in the contents (the front part is rendered once the chapters' lengths are
known), the footer 「第 N 页 / 共 M 页」 (an overlay rendered for M pages), links from one part
to another, the metadata, and the fonts: each part embeds its own subsets of the same fonts,
which report/pdf_fonts.py replaces by one subset per face for the whole book.
"""
from __future__ import annotations

import hashlib
import json
import re
import shutil
import warnings
from contextlib import ExitStack
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from report.pdf import PartRenderer, RenderedPart, digest, source_of

LANG = "zh-CN"
FRONT_PAGES_GUESS = 2  # cover and one page of contents; corrected if the contents run longer


@dataclass
class HandoutSource:
    chapters: list[str]  # HTML, one document per top-level section
    front: Callable[[dict[str, int]], str]  # cover and contents, given the page of every anchor
    footer: Callable[[int], str]  # the page-number overlay for a book of n pages
    info: dict[str, str]  # PDF metadata: /Title, /Author, ...


class HandoutError(RuntimeError):
    pass


def write_handout(source: HandoutSource, parts: PartRenderer, target: Path) -> None:
    book, footer = render_book(source, parts)
    shutil.copyfile(assemble_cached(book, footer, source.info, parts.cache_dir), target)


def chapter_documents(source: HandoutSource) -> list[str]:
    """The chapters as WeasyPrint renders them: what a build can start rendering first."""
    return [drawn_indentation(chapter) for chapter in source.chapters]


def render_book(source: HandoutSource, parts: PartRenderer) -> tuple[list[RenderedPart], RenderedPart]:
    """The front matter and the chapters, in order, and the page numbers for all of them. The
    footer for the guessed length renders beside the front matter; it is wasted only when the
    contents run to another page."""
    chapters = parts.render(chapter_documents(source))
    front_pages = FRONT_PAGES_GUESS
    for _ in range(3):  # the contents' length hardly depends on the numbers in it: settles at once
        parts.start([(source.footer(front_pages + sum(c.pages for c in chapters)), False)])
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
    for package in ("pikepdf", "uharfbuzz"):  # the fonts are subset again from the installed ones
        h.update(metadata.version(package).encode())
    h.update(source_of("handout.py", "book_tags.py", "pdf_fonts.py"))  # what puts the parts together
    return h.hexdigest()[:24]


def assemble(parts: list[RenderedPart], footer: RenderedPart, info: dict[str, str], target: Path) -> None:
    """With pikepdf (qpdf): the parts' pages, named destinations and bookmarks, the links from one
    part to another, one structure tree (report/book_tags.py), the page numbers, and one font
    program per face (report/pdf_fonts.py)."""
    import pikepdf

    from report.book_tags import join_structure, overlay_artifacts
    from report.pdf_fonts import share_fonts

    with ExitStack() as stack:
        book = stack.enter_context(pikepdf.new())
        sources = [stack.enter_context(pikepdf.open(part.pdf)) for part in parts]
        starts = []
        for source in sources:  # qpdf remembers each copied page: what points at it later finds the copy
            starts.append(len(book.pages))
            with warnings.catch_warnings():  # pikepdf ≥ 10 warns that named destinations are not copied:
                warnings.simplefilter("ignore", pikepdf.PageCopyWarning)  # join_destinations does that below
                book.pages.extend(source.pages)
        join_destinations(book, sources)
        join_outlines(book, sources)
        add_links(book, parts, starts)
        join_structure(book, sources, starts, LANG)
        overlay_artifacts(book, stack.enter_context(pikepdf.open(footer.pdf)))
        share_fonts(book)
        book.docinfo = book.make_indirect(pikepdf.Dictionary({key: pikepdf.String(v) for key, v in info.items()}))
        book.save(target, deterministic_id=True, object_stream_mode=pikepdf.ObjectStreamMode.generate)


def join_destinations(book, sources: list) -> None:
    """The anchors each part's own links go to (WeasyPrint names them), in one name tree."""
    import pikepdf

    tree = pikepdf.NameTree.new(book)
    for source in sources:
        dests = source.Root.get("/Names", {}).get("/Dests")
        for name, dest in (pikepdf.NameTree(dests).items() if dests is not None else []):
            tree[name] = _copy_direct(book, dest)
    book.Root.Names = pikepdf.Dictionary(Dests=tree.obj)


def join_outlines(book, sources: list) -> None:
    """The parts' bookmarks, one after another."""
    from pikepdf import OutlineItem

    def copy(item):
        new = OutlineItem(item.title, destination=_copy_direct(book, item.destination))
        new.is_closed = item.is_closed
        new.children.extend(copy(child) for child in item.children)
        return new

    with book.open_outline() as outline:
        for source in sources:
            with source.open_outline() as theirs:
                outline.root.extend(copy(item) for item in theirs.root)


def add_links(book, parts: list[RenderedPart], starts: list[int]) -> None:
    """Links to anchors in other parts, which WeasyPrint could not resolve in a part alone."""
    from pikepdf import Array, Dictionary, Name

    anchors = {name: (start + page, x, y)
               for part, start in zip(parts, starts) for name, (page, x, y) in part.anchors.items()}
    for part, start in zip(parts, starts):
        for link in part.links:
            if link.target not in anchors:
                raise HandoutError(f"a link on page {start + link.page + 1} points to #{link.target}, "
                                   "which is nowhere in the handout")
            page, x, y = anchors[link.target]
            annotation = book.make_indirect(Dictionary(
                Type=Name.Annot, Subtype=Name.Link, Rect=Array(link.rect), Border=Array([0, 0, 0]),
                Dest=Array([book.pages[page].obj, Name.XYZ, x, y, 0])))
            source = book.pages[start + link.page]
            if "/Annots" not in source:
                source.obj.Annots = Array()
            source.obj.Annots.append(annotation)


def _copy_direct(book, obj):
    """A destination (a direct array naming a page) from a part, its page now the book's."""
    import pikepdf

    if isinstance(obj, pikepdf.Array) and not obj.is_indirect:
        return pikepdf.Array([_copy_direct(book, item) for item in obj])
    if isinstance(obj, pikepdf.Object) and obj.is_indirect:
        return book.copy_foreign(obj)
    return obj
