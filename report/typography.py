"""Chinese typesetting help that neither WeasyPrint nor every browser gives for free."""
from __future__ import annotations

import re

HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
LATIN = "A-Za-z0-9"
THIN_SPACE = "\u2009"
_TAG = re.compile(r"(<[^>]*>)")
_HAN_LATIN = re.compile(f"([{HAN}])([{LATIN}])")
_LATIN_HAN = re.compile(f"([{LATIN}])([{HAN}])")
_VERBATIM = ("pre", "code", "script", "style", "textarea")
_INLINE = ("a", "b", "strong", "em", "i", "span", "sub", "sup", "small", "abbr", "mark", "q")


def autospace(html: str) -> str:
    """A thin space between Han characters and Latin letters or digits that touch, as
    Chinese typesetting asks (W3C clreq), also across inline tags (<a>图 1</a>复现) but not
    across blocks or table cells;
    text inside pre/code and inside tags is left alone."""
    parts = _TAG.split(html)
    verbatim = 0
    previous = ""  # last character of the previous text part
    for i, part in enumerate(parts):
        if i % 2:  # a tag
            name = part.strip("</>").split()[0].lower() if part.strip("</>") else ""
            if name in _VERBATIM and not part.endswith("/>"):
                verbatim += -1 if part.startswith("</") else 1
            if name not in _INLINE:
                previous = ""  # text in another block, cell or image never touches this one
            continue
        if verbatim or not part:
            continue
        if previous and _touches(previous, part[0]):
            part = THIN_SPACE + part
        part = _LATIN_HAN.sub(rf"\1{THIN_SPACE}\2", _HAN_LATIN.sub(rf"\1{THIN_SPACE}\2", part))
        parts[i] = part
        previous = part[-1]
    return "".join(parts)


def _touches(left: str, right: str) -> bool:
    pair = left + right
    return bool(_HAN_LATIN.fullmatch(pair) or _LATIN_HAN.fullmatch(pair))
