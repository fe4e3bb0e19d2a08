"""LaTeX to SVG at build time (ziamath), so formulas look the same on the site and in the
PDF with no JavaScript. Each distinct formula is typeset once and kept on disk."""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

SIZE = 20.0  # ziamath's units per em; the image is then sized in em to follow the text
STYLE = "plain-paths-1"  # part of each formula's cache name: change it when the output changes
_DIMENSIONS = re.compile(r'width="([\d.]+)" height="([\d.]+)"')
_UNKNOWN_COMMAND = re.compile(r">(\\[A-Za-z]+)<")  # latex2mathml keeps what it cannot parse as text


class FormulaError(ValueError):
    pass


@dataclass(frozen=True)
class Formula:
    latex: str
    file: str  # name of the SVG under math/
    width_em: float
    height_em: float
    baseline_em: float  # distance of the baseline below the image's bottom edge (negative)
    display: bool


class FormulaRenderer:
    def __init__(self, cache_dir: Path):
        self.cache_dir = cache_dir
        self.used: dict[str, Path] = {}  # file name -> cached SVG, for the writer to copy

    def render(self, latex: str, display: bool) -> Formula:
        digest = hashlib.sha256(f"{STYLE}:{display}:{latex}".encode()).hexdigest()[:16]
        svg_path = self.cache_dir / f"{digest}.svg"
        meta_path = self.cache_dir / f"{digest}.txt"
        if not (svg_path.exists() and meta_path.exists()):
            self._typeset(latex, display, svg_path, meta_path)
        width, height, yofst = map(float, meta_path.read_text().split())
        self.used[svg_path.name] = svg_path
        return Formula(latex, svg_path.name, width / SIZE, height / SIZE, yofst / SIZE, display)

    def _typeset(self, latex: str, display: bool, svg_path: Path, meta_path: Path) -> None:
        import ziamath

        # Plain paths instead of <symbol>/<use>: WeasyPrint resolves every <use> by searching
        # the document, which made formulas a fifth of the PDF's rendering time.
        ziamath.config.svg2 = False
        try:
            math = ziamath.Latex(latex, size=SIZE, inline=not display)
            unknown = _UNKNOWN_COMMAND.findall(math.mathmlstr())
            svg = math.svg()
        except Exception as exc:  # ziamath raises assorted errors on bad LaTeX
            raise FormulaError(f"cannot typeset {latex!r}: {type(exc).__name__} {exc}") from exc
        if unknown:
            raise FormulaError(f"cannot typeset {latex!r}: unknown command {', '.join(unknown)}")
        width, height = map(float, _DIMENSIONS.search(svg).groups())
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = svg_path.with_suffix(".tmp")
        tmp.write_text(svg, encoding="utf-8")
        tmp.replace(svg_path)
        meta_path.write_text(f"{width} {height} {math.getyofst()}")
