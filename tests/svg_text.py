"""How tall a figure's text is, read from the SVG itself (matplotlib writes glyphs as outlines).

Every text is a group `<g id="text_N">` holding `<g transform="translate(x y) scale(s -s)">` whose
`<use>`s point at glyph paths drawn at 100 units per point and scaled by 1/64: the font size is
100·s user units, the ink of a glyph its path's vertical extent × s/64.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

SVG = "{http://www.w3.org/2000/svg}"
HREF = "{http://www.w3.org/1999/xlink}href"
SCALE = re.compile(r"scale\(([-0-9.e]+)")
NUMBER = re.compile(r"-?[0-9.]+(?:e-?[0-9]+)?")


@dataclass(frozen=True)
class SvgText:
    text: str  # as matplotlib's comment gives it
    font: float  # font size, in SVG user units
    ink: float  # height of the tallest glyph's outline, in SVG user units


def svg_width(root: ET.Element) -> float:
    return float(root.get("viewBox").split()[2])


def _glyph_heights(root: ET.Element) -> dict[str, float]:
    heights = {}
    for path in root.iter(f"{SVG}path"):
        glyph_id, d = path.get("id"), path.get("d", "")
        if not glyph_id or "scale(0.015625)" not in (path.get("transform") or ""):
            continue
        ys = [float(v) for v in NUMBER.findall(d)[1::2]]  # coordinates come in x y pairs
        heights[glyph_id] = (max(ys) - min(ys)) / 64 if ys else 0.0
    return heights


def texts(path: Path) -> tuple[float, list[SvgText]]:
    """The SVG's width and every text in it."""
    raw = path.read_text(encoding="utf-8")
    root = ET.fromstring(raw)
    heights = _glyph_heights(root)
    comments = re.findall(r'<g id="text_\d+">\s*<!-- (.*?) -->', raw, re.DOTALL)
    found = []
    groups = [g for g in root.iter(f"{SVG}g") if (g.get("id") or "").startswith("text_")]
    for group, comment in zip(groups, comments + [""] * len(groups)):
        scaled = [g for g in group.iter(f"{SVG}g") if "scale(" in (g.get("transform") or "")]
        if not scaled:
            continue
        s = abs(float(SCALE.search(scaled[0].get("transform"))[1]))
        inks = [heights.get(u.get(HREF, "").lstrip("#"), 0.0) for u in scaled[0].iter(f"{SVG}use")]
        found.append(SvgText(comment, 100 * s, max(inks, default=0.0) * s))
    return svg_width(root), found


TALL = re.compile(r"[0-9\u4e00-\u9fff]")  # digits and Chinese: the glyphs that fill a line's height


def smallest_on_screen(path: Path, shown_width: float) -> tuple[float, float]:
    """(font size, ink height) of the smallest text, in CSS px, the SVG shown `shown_width` px wide.
    The ink height is taken over texts with a digit or a Chinese character (a lone "z" is only
    x-height tall at any size)."""
    width, found = texts(path)
    scale = shown_width / width
    inks = [t.ink for t in found if TALL.search(t.text) and t.ink > 0]
    return min(t.font for t in found) * scale, min(inks, default=0) * scale
