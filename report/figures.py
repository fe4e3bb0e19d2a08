"""matplotlib settings for the tutorial's figures and their export to stable SVG."""
from __future__ import annotations

import warnings
from pathlib import Path

from report.fonts import CjkFont, configure_matplotlib


RASTER_DPI = 200  # for the parts of a figure drawn as images (heatmaps, rasterized fills)
CSS_PX_PER_INCH = 96
# The handout's text block (A4 less margins) and a figure's height limit (templates/handout.css):
# a larger figure is shrunk to fit, and its text with it.
PRINT_WIDTH_IN, PRINT_HEIGHT_IN = 168 / 25.4, 105 / 25.4
MIN_PRINTED_PT = 7.0


class MissingGlyphError(RuntimeError):
    pass


class SmallTextError(RuntimeError):
    """Figure text that would print below MIN_PRINTED_PT: unreadable on paper."""


def printed_scale(width_in: float, height_in: float) -> float:
    return min(1.0, PRINT_WIDTH_IN / width_in, PRINT_HEIGHT_IN / height_in)


def check_printed_text(figure, width_in: float, height_in: float) -> None:
    """Draw figures at the size they are printed: every visible text at least MIN_PRINTED_PT there."""
    from matplotlib.text import Text

    scale = printed_scale(width_in, height_in)
    texts = [t for t in figure.findobj(Text) if t.get_visible() and t.get_text().strip() and t.figure is not None]
    if not texts:
        return
    smallest = min(texts, key=lambda t: t.get_fontsize())
    printed = smallest.get_fontsize() * scale
    if printed < MIN_PRINTED_PT - 0.05:
        raise SmallTextError(
            f"text {smallest.get_text()!r} would print at {printed:.1f} pt (font {smallest.get_fontsize():.1f} pt, "
            f"figure {width_in:.1f} × {height_in:.1f} in shrunk ×{scale:.2f} to fit "
            f"{PRINT_WIDTH_IN:.1f} × {PRINT_HEIGHT_IN:.1f} in); need ≥ {MIN_PRINTED_PT:g} pt: "
            "draw the figure at its printed size or enlarge the text")


def setup_matplotlib(font: CjkFont) -> None:
    """Headless backend, the CJK font, and SVG output that is byte-stable across builds."""
    import matplotlib

    matplotlib.use("svg", force=True)
    configure_matplotlib(font)
    matplotlib.rcParams.update({
        "svg.fonttype": "path",  # glyphs as outlines: no font needed to view the SVG
        "svg.hashsalt": "nn-lecture",
        "figure.dpi": 100,
        "figure.max_open_warning": 0,
        "axes.titleweight": "bold",
    })
    # A glyph missing from the font would otherwise be drawn as an empty box.
    warnings.filterwarnings("error", message=r".*missing from font", category=UserWarning)


def print_variant(name: str) -> str:
    """The file name of a figure's copy for the PDF."""
    return name.removesuffix(".svg") + ".print.svg"


def export_svg(figure, path: Path) -> tuple[int, int]:
    """Write a figure twice: for the site with glyphs as outlines (no font needed to view it),
    and for the PDF with real text, which WeasyPrint draws several times faster than thousands
    of glyph outlines and embeds with the page fonts. A missing glyph is MissingGlyphError."""
    import matplotlib
    import matplotlib.pyplot as plt

    try:
        # "tight" would lay the figure out again in every savefig: measure the box once.
        tight = figure.get_tightbbox().padded(matplotlib.rcParams["savefig.pad_inches"])
        check_printed_text(figure, tight.width, tight.height)
        options = dict(format="svg", bbox_inches=tight, dpi=RASTER_DPI, metadata={"Date": None})
        figure.savefig(path, **options)
        with matplotlib.rc_context({"svg.fonttype": "none"}):
            figure.savefig(path.with_name(print_variant(path.name)), **options)
    except UserWarning as exc:
        raise MissingGlyphError(f"figure {path.stem}: {exc} (the CJK font is not being used for this text)") from exc
    except SmallTextError as exc:
        raise SmallTextError(f"figure {path.stem}: {exc}") from None
    finally:
        plt.close(figure)
    return round(tight.width * CSS_PX_PER_INCH), round(tight.height * CSS_PX_PER_INCH)
