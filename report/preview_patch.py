"""What an open tab of `build.py --serve` must change after a prose edit: which sections of a page.

Reloading the whole page (11,000 elements, figures, formulas) takes the browser longer than the
builder takes to make it. After an edit to one section's template, only that section's HTML is
different; the tab can fetch the page and swap that one element in. This module finds out which
sections differ between the site being served and the one about to replace it, and says when
nothing short of a reload will do (the head, the table of contents or any text outside a section,
a stylesheet, a script or a figure changed).

A "section" is a <section> with an id that is not inside another <section>: the page's chapters.
They are found with a regular expression over the tags rather than a parser: the build writes
this HTML itself, and parsing 400 kB with html.parser would cost the preview a tenth of a second.
"""
from __future__ import annotations

import re
from pathlib import Path

SECTION_TAG = re.compile(r"<(/?)section\b[^>]*>", re.IGNORECASE)
ID_ATTRIBUTE = re.compile(r"""\sid\s*=\s*["']([^"']+)["']""")
# Read by no open tab (downloads, or made for the PDFs): they may differ without the tab knowing.
NOT_SHOWN = ("notebooks", "math")
PRINT_ONLY = ".print.svg"  # report.figures.print_variant: the PDF's copy of a figure


def split_sections(html: str) -> tuple[str, dict[str, str]] | None:
    """The page with every top-level section (one that has an id) cut out and marked by its id,
    and those sections' HTML by id; None when the tags do not nest or an id repeats."""
    frame, sections = [], {}
    depth, start, ident, last = 0, -1, "", 0
    for tag in SECTION_TAG.finditer(html):
        if tag[1]:  # </section>
            depth -= 1
            if depth < 0:
                return None
            if depth == 0 and start >= 0:
                if ident in sections:
                    return None
                sections[ident] = html[start:tag.end()]
                frame += [html[last:start], f"\0{ident}\0"]
                last, start = tag.end(), -1
            continue
        if depth == 0:
            found = ID_ATTRIBUTE.search(tag[0])
            start, ident = (tag.start(), found[1]) if found else (-1, "")
        depth += 1
    if depth:
        return None
    frame.append(html[last:])
    return "".join(frame), sections


def changed_sections(old: str, new: str) -> list[str] | None:
    """The ids of the sections that differ, in the new page's order; None: the page must reload."""
    if old == new:
        return []
    before, after = split_sections(old), split_sections(new)
    if before is None or after is None or before[0] != after[0]:
        return None  # the frame includes every section's marker: same ids, same order
    return [ident for ident, html in after[1].items() if before[1][ident] != html]


def page_changes(published: Path, staging: Path) -> dict[str, list[str] | None] | None:
    """For every HTML page at the top of `staging`, the sections that differ from the page
    `published` serves (None: a tab showing it reloads; the deck's slides have no ids). None for
    all of them when a tab must reload whatever it shows: a page came or went, or a file the pages
    load (stylesheet, script, figure, font) is not the same. Figures are compared by
    size: the caller asks only when the experiments' results are the ones of the last build."""
    if not published.is_dir():
        return None
    pages = {}
    for path in sorted(staging.rglob("*")):
        relative = path.relative_to(staging)
        if path.is_dir() or relative.parts[0] in NOT_SHOWN or path.name.endswith(PRINT_ONLY):
            continue
        old = published / relative
        if not old.is_file():
            return None
        if path.suffix == ".html" and len(relative.parts) == 1:
            pages[path.name] = changed_sections(old.read_text(encoding="utf-8"), path.read_text(encoding="utf-8"))
        elif len(relative.parts) == 1 and old.read_bytes() != path.read_bytes():
            return None
        elif old.stat().st_size != path.stat().st_size:
            return None
    pages_before = {p.name for p in published.glob("*.html")}
    return pages if pages_before == set(pages) else None
