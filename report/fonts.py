"""One place that picks the CJK font for figures (matplotlib) and pages (WeasyPrint)."""
from __future__ import annotations

import shutil
import subprocess
import warnings
from dataclasses import dataclass
from typing import Callable

PREFERRED_FAMILIES = (
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "PingFang SC",
    "Microsoft YaHei",
    "WenQuanYi Micro Hei",
)
SERIF_FAMILIES = ("Noto Serif CJK SC", "Source Han Serif SC", "Songti SC", "SimSun")

INSTALL_HINT = (
    "install a Chinese font with regular and bold weights: on Debian/Ubuntu "
    "`sudo apt-get install fonts-noto-cjk`, on macOS `brew install --cask font-noto-sans-cjk-sc`"
)
FC_LIST_FORMAT = "%{family}\t%{style}\t%{weight}\t%{file}\n"


class FontError(RuntimeError):
    pass


@dataclass(frozen=True)
class CjkFont:
    family: str
    regular: str  # font file path
    bold: str | None
    serif_family: str | None = None  # for body text in print, when installed


def list_fonts() -> list[tuple[str, str, int, str]]:
    """(family, style, fontconfig weight, file) for every font that covers Chinese."""
    if shutil.which("fc-list") is None:
        raise FontError("fontconfig's `fc-list` is missing; install fontconfig, then " + INSTALL_HINT)
    out = subprocess.run(["fc-list", "--format", FC_LIST_FORMAT, ":lang=zh"],
                         capture_output=True, text=True, check=True).stdout
    rows = []
    for line in out.splitlines():
        family, style, weight, path = line.split("\t")
        for name in family.split(","):
            rows.append((name.strip(), style, int(weight), path))
    return rows


def find_cjk_font(lister: Callable[[], list[tuple[str, str, int, str]]] = list_fonts) -> CjkFont:
    """The first preferred family that is installed; bold missing is a warning, no font an error."""
    fonts = lister()
    for family in PREFERRED_FAMILIES:
        faces = [f for f in fonts if f[0] == family]
        if not faces:
            continue
        regular = min(faces, key=lambda f: abs(f[2] - 80))  # fontconfig: 80 regular, 200 bold
        bold = next((f for f in faces if f[2] >= 180), None)
        if bold is None:
            warnings.warn(f"{family} has no bold face: bold text will not stand out; {INSTALL_HINT}")
        serif = next((s for s in SERIF_FAMILIES if any(f[0] == s for f in fonts)), None)
        return CjkFont(family, regular[3], bold[3] if bold else None, serif)
    raise FontError("no Chinese font found (looked for " + ", ".join(PREFERRED_FAMILIES) + "); " + INSTALL_HINT)


def configure_matplotlib(font: CjkFont) -> None:
    """Register the font files explicitly: matplotlib does not consult fontconfig."""
    import matplotlib
    from matplotlib import font_manager

    for path in filter(None, (font.regular, font.bold)):
        font_manager.fontManager.addfont(path)
    matplotlib.rcParams["font.family"] = [font.family, "DejaVu Sans"]
    matplotlib.rcParams["axes.unicode_minus"] = False
