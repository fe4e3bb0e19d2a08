"""Code lines in the handout carry their own text, leading spaces included, as /ActualText.

The indentation of a code line is drawn (report/handout.py drawn_indentation moves it into a text
box), but most extractors rebuild spaces from the gaps between glyphs and drop those at the start
of a line: poppler's plain `pdftotext` gives `return x` for `    return x`. A marked-content
sequence whose /ActualText is its own text, spaces and all, is copied as that text by poppler.
(PDFium, Chrome's viewer, ignores /ActualText whose characters the font can draw, and collapses
runs of spaces: its copies stay unindented.)

Which sequences: WeasyPrint's tagged output draws every text box as one `/Span <</MCID n>> BDC …
EMC` sequence. Only preformatted text can start a line with a space (elsewhere white space at the
start of a line collapses), so the sequences that start a line (a baseline of their own) with a
space are the indented lines of code. Their ActualText is what they show, without trailing spaces
(poppler adds the gap to the next token itself; `pdftotext -layout` would add one more), and a thin
space reads as a space: the CJK fonts draw both with one glyph, whose ToUnicode entry says one of
them for the whole part, and code has no thin spaces (report/typography.py adds them to prose).
"""
from __future__ import annotations

import re

import pikepdf
from pikepdf import Pdf

from report.pdf_fonts import parse_to_unicode
from report.typography import THIN_SPACE

SEQUENCE = re.compile(rb"/Span\n<</MCID (\d+)>>\nBDC\n(.*?)\nEMC\n", re.S)
SHOW = re.compile(rb"/([^\s/]+) [-\d.]+ Tf|\[([^\]]*)\] TJ")
GLYPHS = re.compile(rb"<([0-9a-fA-F]*)>")
MATRIX = re.compile(rb"1 0 0 -1 [-\d.]+ ([-\d.]+) Tm")  # WeasyPrint places each text box so: y is its baseline


def spell_out_code_lines(pdf: Pdf) -> int:
    """Wraps each line that starts with spaces (its run of sequences) in a /Span with the line's
    text as /ActualText; returns how many lines."""
    count = 0
    maps: dict[tuple[int, int], dict[int, str]] = {}
    for page in pdf.pages:
        fonts = page.obj.get("/Resources", {}).get("/Font", {})
        content = page.obj.get("/Contents")
        if not isinstance(content, pikepdf.Stream) or not fonts:
            continue
        data = content.read_bytes()

        def text_of(body: bytes) -> str | None:
            """What the sequence shows, by its fonts' ToUnicode maps; None if a glyph has no text."""
            chars, unicode = [], {}
            for show in SHOW.finditer(body):
                if show.group(1) is not None:
                    font = fonts.get("/" + show.group(1).decode("latin-1"))
                    if font is None or "/ToUnicode" not in font:
                        return None
                    if font.objgen not in maps:
                        maps[font.objgen] = parse_to_unicode(font.ToUnicode.read_bytes())
                    unicode = maps[font.objgen]
                    continue
                for hexes in GLYPHS.findall(show.group(2)):
                    for i in range(0, len(hexes), 4):
                        char = unicode.get(int(hexes[i:i + 4], 16))
                        if char is None:
                            return None
                        chars.append(char)
            return "".join(chars).replace(THIN_SPACE, " ")

        lines: list[list[re.Match]] = []  # runs of adjacent sequences on one baseline, from its start
        previous_y, previous_end, open_line = None, None, False
        for match in SEQUENCE.finditer(data):
            position = MATRIX.search(match.group(2))
            if position is None or b"BDC" in match.group(2):  # no text, or nested marked content
                open_line = False
                continue
            y = position.group(1)
            if y != previous_y:
                lines.append([match])
                open_line = True
            elif open_line and match.start() == previous_end:
                lines[-1].append(match)
            else:
                open_line = False
            previous_y, previous_end = y, match.end()
        pieces, done = [], 0
        for line in lines:
            texts = [text_of(match.group(2)) for match in line]
            if None in texts or not texts[0].startswith(" ") or not "".join(texts).strip():
                continue
            actual = (b"\xfe\xff" + "".join(texts).rstrip(" ").encode("utf-16-be")).hex().encode()
            pieces += [data[done:line[0].start()], b"/Span <</ActualText <%s>>> BDC\n" % actual,
                       data[line[0].start():line[-1].end()], b"EMC\n"]
            done = line[-1].end()
            count += 1
        if done:
            content.write(b"".join(pieces) + data[done:])
    return count
