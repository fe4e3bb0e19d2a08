"""Chinese typesetting help that neither WeasyPrint nor every browser gives for free."""
from __future__ import annotations

import re

HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
LATIN = "A-Za-z0-9"
THIN_SPACE = "\u2009"
CLOSING = "）」』】〕》〉”’，。、；：？！"
OPENING = "（「『【〔《〈“‘"
_TAG = re.compile(r"(<[^>]*>)")
_HAN_LATIN = re.compile(f"([{HAN}])([{LATIN}])")
_LATIN_HAN = re.compile(f"([{LATIN}])([{HAN}])")
_PUNCTUATION_PAIR = re.compile(f"([{CLOSING}])(?=[{CLOSING}{OPENING}])")
_VERBATIM = ("pre", "code", "script", "style", "textarea")
_INLINE = ("a", "b", "strong", "em", "i", "span", "sub", "sup", "small", "abbr", "mark", "q")


def typeset(html: str) -> str:
    """Two conventions of Chinese typesetting (W3C clreq), applied to text outside tags and
    outside pre/code:
    - a thin space where Han characters and Latin letters or digits touch, also across inline
      tags (<a>图 1</a>复现) but not across blocks or table cells;
    - the first of two touching full-width punctuation marks (）。 ”，) wrapped in
      <span class="pc"> so print CSS can set it half-width: WeasyPrint has no text-spacing-trim.
    """
    parts = _TAG.split(html)
    verbatim = 0
    previous = ""  # last character of the previous text part in the same block
    for i, part in enumerate(parts):
        if i % 2:  # a tag
            name = part.strip("</>").split()[0].lower() if part.strip("</>") else ""
            if name in _VERBATIM and not part.endswith("/>"):
                verbatim += -1 if part.startswith("</") else 1
            if name not in _INLINE:
                previous = ""
            continue
        if verbatim or not part:
            continue
        if previous and _touches(previous, part[0]):
            part = THIN_SPACE + part
        part = _LATIN_HAN.sub(rf"\1{THIN_SPACE}\2", _HAN_LATIN.sub(rf"\1{THIN_SPACE}\2", part))
        previous = part[-1]
        parts[i] = _PUNCTUATION_PAIR.sub(r'<span class="pc">\1</span>', part)
    return "".join(parts)


def _touches(left: str, right: str) -> bool:
    pair = left + right
    return bool(_HAN_LATIN.fullmatch(pair) or _LATIN_HAN.fullmatch(pair))
