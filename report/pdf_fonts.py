"""One font program per face in the assembled handout, each under a subset tag of its own.

Every part of the handout is a WeasyPrint document that embeds its own subsets of the same fonts
under the same tags (WeasyPrint derives a tag from the font's description, not from the glyphs it
keeps): the book would carry ~50 programs for 8 faces, and one tag naming several programs, which
ISO 32000-1 §9.6.4 forbids. WeasyPrint keeps the fonts' glyph ids as character codes
(Identity-H, CID = glyph id), so the codes of every part already agree: here the union of the
glyphs that the parts use is subset once from the original font file (HarfBuzz, ~0.1 s for a CJK
face), and every part's font resources are pointed at one font dictionary per face.

CJK faces (CID-keyed CFF) are embedded as bare CFF (FontFile3 /CIDFontType0C) holding only the used
glyphs, found through the CFF charset by their original CIDs; WeasyPrint's own subsets keep an
empty slot for every glyph id below the highest one used (~60,000 for a CJK face). TrueType
faces keep their glyph ids (Identity CIDToGIDMap): they are small. A face whose installed font
is not the one the cached parts were made with (its advances differ) keeps its parts' programs,
each under a tag of its own.
"""
from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pikepdf
from pikepdf import Array, Dictionary, Name, Pdf

# What WeasyPrint drops from its subsets (weasyprint/pdf/fonts.py), and the vertical metrics: the
# handout is set horizontally and a bare CFF cannot carry them anyway.
DROPPED_TABLES = ("BASE", "DSIG", "EBDT", "EBLC", "EBSC", "GPOS", "GSUB", "JSTF", "LTSH", "PCLT", "SVG ",
                  "VORG", "vhea", "vmtx")
FIXED_PITCH = 1  # FontDescriptor /Flags bit 1
NUMBER_OR_BRACKET = re.compile(rb"\[|\]|[-+\d.]+")
BFCHAR_BLOCK = re.compile(rb"beginbfchar(.*?)endbfchar", re.S)
BFCHAR = re.compile(rb"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]*)>")


@dataclass
class Face:
    """The fonts of the book that draw with one font program, and what they use of it."""
    postscript_name: str
    fonts: list[Dictionary] = field(default_factory=list)  # Type0 font dictionaries, in book order
    widths: dict[int, float] = field(default_factory=dict)  # glyph id -> advance (1/1000 em), first wins
    # glyph id -> Unicode text, first wins: one glyph can stand for two characters (the CJK fonts
    # draw U+0020 and the thin space U+2009 alike) and a ToUnicode map can name only one.
    text: dict[int, str] = field(default_factory=dict)


def share_fonts(book: Pdf) -> None:
    """Each face's fonts become one font dictionary, its program subset once for the whole book."""
    resources = list(font_resources(book))
    unique = {font.objgen: font for fonts in resources for font in fonts.values()
              if isinstance(font, pikepdf.Dictionary) and font.is_indirect}
    names: dict[str, str] = {}  # WeasyPrint's BaseFont -> PostScript name: one program read per name
    faces: dict[str, Face] = {}
    for _, font in sorted(unique.items()):
        if _is_vector_type0(font):
            base_font = str(font.BaseFont)
            if base_font not in names:
                names[base_font] = _postscript_name(_program(font))
            name = names[base_font]
            faces.setdefault(name, Face(name)).fonts.append(font)
    shared, tags = {}, set()
    for name in sorted(faces):
        face = faces[name]
        for font in face.fonts:
            _collect(face, font)
        if 0 in face.widths:
            warnings.warn(f"{name}: some characters have no glyph in any installed font and print as empty boxes "
                          "(.notdef); on Debian/Ubuntu `make site` installs the fonts the handout needs")
        original = _original(face)
        if original is None:
            _retag(face, tags)
            continue
        new = _shared_font(book, face, original, tags)
        for font in face.fonts:
            shared[font.objgen] = new
    for fonts in resources:
        for key, font in list(fonts.items()):
            if isinstance(font, pikepdf.Dictionary) and font.objgen in shared:
                fonts[key] = shared[font.objgen]


def write_small(part: Path, target: Path) -> None:
    """A document rendered in one part (answers, slides) with its fonts as small as the book's: its
    CJK subsets would keep a slot for every glyph id too (halves answers.pdf and slides.pdf). Made
    once per part and version of this module, kept beside the part in the cache."""
    code = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]
    small = part.with_name(f"{part.stem}.fonts-{code}.pdf")
    if not small.is_file():
        with pikepdf.open(part) as pdf:
            share_fonts(pdf)
            pdf.save(small.with_suffix(".tmp"), deterministic_id=True,
                     object_stream_mode=pikepdf.ObjectStreamMode.generate)
        small.with_suffix(".tmp").replace(small)
    shutil.copyfile(small, target)


def font_resources(book: Pdf) -> Iterator[Dictionary]:
    """Every /Font resource dictionary in the book: of the pages, and of the forms they draw
    (the page-number overlay, figures), however deeply nested."""
    seen: set[tuple[int, int]] = set()
    stack = [page.obj for page in book.pages]
    while stack:
        holder = stack.pop()
        if holder.is_indirect:
            if holder.objgen in seen:
                continue
            seen.add(holder.objgen)
        resources = holder.get("/Resources")
        if not isinstance(resources, pikepdf.Dictionary):
            continue
        fonts = resources.get("/Font")
        if isinstance(fonts, pikepdf.Dictionary):
            yield fonts
        for kind in ("/XObject", "/Pattern"):
            stack += [x for x in resources.get(kind, {}).values() if isinstance(x, (pikepdf.Dictionary, pikepdf.Stream))]


def _is_vector_type0(font) -> bool:
    if not isinstance(font, pikepdf.Dictionary) or font.get("/Subtype") != Name.Type0:
        return False
    descriptor = font.DescendantFonts[0].get("/FontDescriptor", {})
    return "/FontFile2" in descriptor or "/FontFile3" in descriptor


def _program(font: Dictionary) -> bytes:
    descriptor = font.DescendantFonts[0].FontDescriptor
    return (descriptor.get("/FontFile3") or descriptor.FontFile2).read_bytes()


def _postscript_name(program: bytes) -> str:
    import uharfbuzz as hb

    name = hb.Face(program).get_name(hb.OTNameIdPredefined.POSTSCRIPT_NAME)
    if not name:
        raise FontError("a font embedded by WeasyPrint has no PostScript name: cannot tell which font it is")
    return name


def _collect(face: Face, font: Dictionary) -> None:
    """The font's widths and Unicode text, added to the face's (what an earlier part said stays)."""
    for gid, width in widths(font.DescendantFonts[0]).items():
        face.widths.setdefault(gid, width)
    if "/ToUnicode" in font:
        for gid, text in parse_to_unicode(font.ToUnicode.read_bytes()).items():
            face.text.setdefault(gid, text)


def widths(cid_font: Dictionary) -> dict[int, float]:
    """glyph id -> advance of a CIDFont's /W array (both forms: `first [w …]`, `first last w`)."""
    tokens = NUMBER_OR_BRACKET.findall(cid_font.get("/W", Array()).unparse())[1:-1]
    found, i = {}, 0
    while i < len(tokens):
        first = int(tokens[i])
        if tokens[i + 1] == b"[":
            end = tokens.index(b"]", i + 2)
            found.update((first + offset, float(width)) for offset, width in enumerate(tokens[i + 2:end]))
            i = end + 1
        else:
            found.update((gid, float(tokens[i + 2])) for gid in range(first, int(tokens[i + 1]) + 1))
            i += 3
    return found


def parse_to_unicode(cmap: bytes) -> dict[int, str]:
    """glyph id -> text of a ToUnicode CMap made of bfchar entries, as WeasyPrint writes them."""
    if b"beginbfrange" in cmap:
        raise FontError("a ToUnicode CMap with bfrange entries: not one WeasyPrint wrote")
    return {int(gid, 16): bytes.fromhex(text.decode()).decode("utf-16-be", errors="replace")
            for block in BFCHAR_BLOCK.findall(cmap) for gid, text in BFCHAR.findall(block)}


class FontError(RuntimeError):
    pass


def font_file(postscript_name: str) -> tuple[str, int] | None:
    """The installed font file (and face index in a collection) with this PostScript name, as
    fontconfig, which Pango asked, finds it; None if there is none."""
    return installed_fonts().get(postscript_name)


@cache
def installed_fonts() -> dict[str, tuple[str, int]]:
    """PostScript name -> (file, index) of every font fontconfig knows: one call, ~0.05 s."""
    result = subprocess.run(["fc-list", "--format", "%{postscriptname}\t%{file}\t%{index}\n"],
                            capture_output=True, text=True, check=True)
    found: dict[str, tuple[str, int]] = {}
    for line in sorted(result.stdout.splitlines()):
        name, path, index = line.split("\t")
        found.setdefault(name, (path, int(index or 0)))
    return found


def _original(face: Face):
    """The HarfBuzz face of the installed font this face was subset from, or None if it cannot be
    found or its advances differ from what the parts were set with (another version of the font)."""
    import uharfbuzz as hb

    located = font_file(face.postscript_name)
    if located is None:
        return None
    original = hb.Face(hb.Blob.from_file_path(located[0]), located[1])
    font = hb.Font(original)
    scale = 1000 / original.upem
    for gid, width in face.widths.items():  # not .notdef: Pango sizes the box of a missing character itself
        if 0 < gid < original.glyph_count and abs(font.get_glyph_h_advance(gid) * scale - width) > 1:
            return None
    return original


def subset_program(original, glyphs: set[int]) -> tuple[bytes, bool]:
    """(program, is_cff): a CFF font's bare CID-keyed CFF table with only these glyphs (their CIDs
    kept in its charset), or a TrueType font with these glyphs at their original ids."""
    import uharfbuzz as hb

    cff = "CFF " in original.table_tags
    subset = hb.SubsetInput()
    subset.glyph_set.update(sorted(gid for gid in glyphs | {0} if gid < original.glyph_count))
    flags = hb.SubsetFlags.PASSTHROUGH_UNRECOGNIZED | hb.SubsetFlags.DESUBROUTINIZE | hb.SubsetFlags.NO_HINTING
    subset.flags = flags if cff else flags | hb.SubsetFlags.RETAIN_GIDS
    for tag in DROPPED_TABLES:
        subset.drop_table_tag_set.add(int.from_bytes(tag.encode(), "big"))
    result = hb.subset(original, subset)
    if result is None:
        raise FontError("HarfBuzz could not subset a font of the handout")
    return (result.reference_table("CFF ").data if cff else result.blob.data), cff


def subset_tag(program: bytes, taken: set[str]) -> str:
    """Six capital letters from the program's digest: the same program gets the same tag, two
    programs in one book never share one (ISO 32000-1 §9.6.4)."""
    salt = 0
    while True:
        digest = hashlib.sha256(program + salt.to_bytes(4, "big")).digest()
        tag = "".join(chr(65 + byte % 26) for byte in digest[:6])
        if tag not in taken:
            taken.add(tag)
            return tag
        salt += 1


def _shared_font(book: Pdf, face: Face, original, tags: set[str]) -> Dictionary:
    """One Type0 font for the whole face, its program subset from the installed original."""
    descendant = face.fonts[0].DescendantFonts[0]
    program, cff = subset_program(original, set(face.widths))
    tag = subset_tag(program, tags)
    base_font = Name(f"/{tag}+{face.postscript_name}")
    if cff:
        stream = pikepdf.Stream(book, program, Subtype=Name.CIDFontType0C)
        file_key = Name.FontFile3
    else:
        stream = pikepdf.Stream(book, program, Length1=len(program))
        file_key = Name.FontFile2
    old = descendant.FontDescriptor
    widths = [face.widths[gid] for gid in sorted(face.widths)]
    flags = int(old.Flags) & ~FIXED_PITCH
    if len(widths) > 1 and len(set(widths)) == 1:
        flags |= FIXED_PITCH
    bbox = [list(map(float, font.DescendantFonts[0].FontDescriptor.FontBBox)) for font in face.fonts]
    descriptor = Dictionary(
        Type=Name.FontDescriptor, FontName=base_font, Flags=flags,
        FontBBox=Array([min(b[0] for b in bbox), min(b[1] for b in bbox), max(b[2] for b in bbox),
                        max(b[3] for b in bbox)]),
        **{key[1:]: old[key] for key in ("/FontFamily", "/ItalicAngle", "/Ascent", "/Descent", "/CapHeight",
                                          "/StemV", "/StemH") if key in old})
    descriptor[file_key] = book.make_indirect(stream)
    cid_font = Dictionary(
        Type=Name.Font, Subtype=descendant.Subtype, BaseFont=base_font, CIDSystemInfo=descendant.CIDSystemInfo,
        W=width_array(face.widths), FontDescriptor=book.make_indirect(descriptor))
    if descendant.Subtype == Name.CIDFontType2:
        cid_font.CIDToGIDMap = Name.Identity
    return book.make_indirect(Dictionary(
        Type=Name.Font, Subtype=Name.Type0, BaseFont=base_font, Encoding=Name("/Identity-H"),
        DescendantFonts=Array([book.make_indirect(cid_font)]),
        ToUnicode=book.make_indirect(pikepdf.Stream(book, to_unicode_cmap(face.text)))))


def _retag(face: Face, tags: set[str]) -> None:
    """A face whose font is not installed as the parts were made with it (the font was updated
    since they were cached): its programs stay, each under a tag of its own."""
    warnings.warn(f"{face.postscript_name}: the installed font is not the one the handout's cached parts "
                  "were made with; its parts keep a font program each (delete .cache/pdf to share one)")
    by_program: dict[bytes, str] = {}
    for font in face.fonts:
        program = _program(font)
        if program not in by_program:
            by_program[program] = subset_tag(program, tags)
        name = Name(f"/{by_program[program]}+{face.postscript_name}")
        descendant = font.DescendantFonts[0]
        font.BaseFont = descendant.BaseFont = descendant.FontDescriptor.FontName = name


def width_array(widths: dict[int, float]) -> Array:
    """/W: runs of consecutive glyph ids, each `first [w w ...]`."""
    entries: list = []
    previous = None
    for gid in sorted(widths):
        if previous is None or gid != previous + 1:
            entries += [gid, []]
        entries[-1].append(_number(widths[gid]))
        previous = gid
    return Array([Array(e) if isinstance(e, list) else e for e in entries])


def _number(value: float):
    return int(value) if value == int(value) else round(value, 3)


def to_unicode_cmap(text: dict[int, str]) -> bytes:
    """A ToUnicode CMap (bfchar entries, at most 100 per block, in glyph order)."""
    lines = [b"/CIDInit /ProcSet findresource begin", b"12 dict begin", b"begincmap",
             b"/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def",
             b"/CMapName /Adobe-Identity-UCS def", b"/CMapType 2 def",
             b"1 begincodespacerange", b"<0000> <ffff>", b"endcodespacerange"]
    items = sorted(text.items())
    for start in range(0, len(items), 100):
        block = items[start:start + 100]
        lines.append(f"{len(block)} beginbfchar".encode())
        lines += [f"<{gid:04x}> <{value.encode('utf-16-be').hex()}>".encode() for gid, value in block]
        lines.append(b"endbfchar")
    lines += [b"endcmap", b"CMapName currentdict /CMap defineresource pop", b"end", b"end"]
    return b"\n".join(lines)
