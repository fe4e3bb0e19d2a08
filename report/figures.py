"""matplotlib settings for the tutorial's figures and their export to stable SVG."""
from __future__ import annotations

import warnings
from pathlib import Path

from report.fonts import CjkFont, configure_matplotlib


RASTER_DPI = 200  # for the parts of a figure drawn as images (heatmaps, rasterized fills)
CSS_PX_PER_INCH = 96


class MissingGlyphError(RuntimeError):
    pass


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
        options = dict(format="svg", bbox_inches=tight, dpi=RASTER_DPI, metadata={"Date": None})
        figure.savefig(path, **options)
        with matplotlib.rc_context({"svg.fonttype": "none"}):
            figure.savefig(path.with_name(print_variant(path.name)), **options)
    except UserWarning as exc:
        raise MissingGlyphError(f"figure {path.stem}: {exc} (the CJK font is not being used for this text)") from exc
    finally:
        plt.close(figure)
    return round(tight.width * CSS_PX_PER_INCH), round(tight.height * CSS_PX_PER_INCH)
