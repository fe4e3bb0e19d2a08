"""matplotlib settings for the tutorial's figures and their export to stable SVG."""
from __future__ import annotations

import re
import warnings
from pathlib import Path

from report.fonts import CjkFont, configure_matplotlib


RASTER_DPI = 200  # for the parts of a figure drawn as images (heatmaps, rasterized fills)
CSS_PX_PER_INCH = 96
# The handout's text block (A4 less margins) and a figure's height limit (templates/handout.css):
# a larger figure is shrunk to fit, and its text with it.
PRINT_WIDTH_IN, PRINT_HEIGHT_IN = 168 / 25.4, 105 / 25.4
MIN_PRINTED_PT = 7.0
# The copy for narrow screens: one column of panels about as wide as a phone's text column
# (335 CSS px at 375 px), shown near 1:1, so a point of text is about 4/3 CSS px there.
PHONE_WIDTH_IN = 3.5
PHONE_MIN_PT = 10.0  # 13.3 CSS px: digits ~10 px tall, Chinese ~11.5 px
PHONE_PANEL_ASPECT = (0.62, 1.0)  # a panel's plotting area, height / width, on the phone
PHONE_PANEL_MARGIN_IN = 0.75  # title, tick labels and axis label of a stacked panel
TIGHT_LAYOUT_PAD = 1.08  # matplotlib's default: between the figure's edge and the panels, in font sizes


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


def phone_variant(name: str) -> str:
    """The file name of a figure's copy for narrow screens (panels stacked, larger text)."""
    return name.removesuffix(".svg") + ".phone.svg"


def svg_size(path: Path) -> tuple[int, int] | None:
    """An exported SVG's width and height in CSS pixels, read from its root element; None if absent."""
    try:
        with path.open(encoding="utf-8") as file:
            head = file.read(2048)
    except OSError:
        return None
    found = re.search(r'<svg[^>]*?width="([0-9.]+)pt" height="([0-9.]+)pt"', head)
    return (round(float(found[1]) * 4 / 3), round(float(found[2]) * 4 / 3)) if found else None


def export_svg(figure, path: Path) -> tuple[int, int]:
    """Write a figure three times: for the site with glyphs as outlines (no font needed to view it),
    for the PDF with real text, which WeasyPrint draws several times faster than thousands
    of glyph outlines and embeds with the page fonts, and for phones, laid out again in one
    column (see restack_for_phone). A missing glyph is MissingGlyphError.
    The site's and the handout's copies come from one draw, and all renderers share their text
    layout (report/svg_canvas.py): the export's time is mostly laying out and drawing."""
    import matplotlib
    import matplotlib.pyplot as plt

    from report.svg_canvas import OutlinedAndText, SvgCanvas

    SvgCanvas(figure)  # its renderers share their text layout
    try:
        # "tight" would lay the figure out again in every savefig: measure the box once.
        _without_placeholder_layout(figure)
        tight = figure.get_tightbbox().padded(matplotlib.rcParams["savefig.pad_inches"])
        check_printed_text(figure, tight.width, tight.height)
        options = dict(format="svg", bbox_inches=tight, dpi=RASTER_DPI, metadata={"Date": None})
        # one draw for both: it is most of a savefig's time, and the two differ only in text
        figure.savefig(OutlinedAndText(path, path.with_name(print_variant(path.name))), **options)
        phone = restack_for_phone(figure)  # last: the site's and the handout's copies are already written
        _without_placeholder_layout(figure)
        figure.savefig(path.with_name(phone_variant(path.name)), **options | {"bbox_inches": phone})
    except UserWarning as exc:
        raise MissingGlyphError(f"figure {path.stem}: {exc} (the CJK font is not being used for this text)") from exc
    except SmallTextError as exc:
        raise SmallTextError(f"figure {path.stem}: {exc}") from None
    finally:
        plt.close(figure)
    return round(tight.width * CSS_PX_PER_INCH), round(tight.height * CSS_PX_PER_INCH)


def _without_placeholder_layout(figure) -> None:
    """tight_layout() leaves a figure a layout engine that does nothing, yet savefig draws the
    figure once more (without output) to run any engine: drop it."""
    import matplotlib
    from matplotlib.layout_engine import PlaceHolderLayoutEngine

    if isinstance(figure.get_layout_engine(), PlaceHolderLayoutEngine):
        with matplotlib.rc_context({"figure.autolayout": False, "figure.constrained_layout.use": False}):
            figure.set_layout_engine(None)


# --- the phone layout ------------------------------------------------------------------------

def restack_for_phone(figure):
    """Redraw a figure for a phone: its panels stacked in one column PHONE_WIDTH_IN wide, every
    text at least PHONE_MIN_PT. Generic, so no experiment draws its figure twice: a panel is a
    grid cell of the figure with everything in it (twin axes, a colorbar made beside it);
    figure legends and the suptitle keep their place at the bottom or top of the figure.
    Axes placed by hand (add_axes) keep their position in figure fractions. A figure with text
    placed in its data coordinates (a diagram) is left as it is: only tapping it open helps there.
    Returns the box to export, padded by savefig.pad_inches (a Bbox in inches)."""
    from matplotlib.gridspec import GridSpec

    if any(ax.texts for ax in figure.axes):
        # a drawing with labels placed in its data (a diagram): shrunk, they would overlap it
        return _padded_tightbbox(figure)
    panels = _panels(figure)
    width, height = figure.get_size_inches()
    plot_width = PHONE_WIDTH_IN - PHONE_PANEL_MARGIN_IN
    grown = PHONE_MIN_PT / min(PHONE_MIN_PT, _smallest_font(figure))
    one_column = len(panels) > 1 and all(top.get_gridspec().ncols == 1 for top, _ in panels)
    low, high = PHONE_PANEL_ASPECT
    aspects = []
    for top, _ in panels:
        box = top.get_position(figure)
        if one_column:  # already a column (rows of a heatmap): as tall as before, plus what its text grows
            aspects.append(min(high, box.height * height * grown / plot_width))
        else:
            aspects.append(min(high, max(low, (box.height * height) / (box.width * width))))
    _enlarge_text(figure)
    heights = [plot_width * a + PHONE_PANEL_MARGIN_IN for a in aspects]
    figure.set_size_inches(PHONE_WIDTH_IN, sum(heights) + _figure_level_heights(figure), forward=False)
    if panels:
        column = GridSpec(len(panels), 1, figure=figure, height_ratios=aspects)  # tight_layout spaces them
        for row, (top, axes) in enumerate(panels):
            _move_cell(top, column[row], axes)
            _label_shared_y(axes[0])
    _fit(figure)
    if _legends_below_their_axes_follow_the_label(figure):
        _fit(figure)
    # The exported box, not the figure, is to be phone-wide. The fit above makes it so when the
    # panels are its widest part; a figure legend or a label sticking out is wider.
    box = _padded_tightbbox(figure)
    excess = box.width - PHONE_WIDTH_IN
    if abs(excess) > 0.02:
        figure.set_size_inches(PHONE_WIDTH_IN - excess, figure.get_size_inches()[1], forward=False)
        _fit(figure)
        box = _padded_tightbbox(figure)
    return box


def _padded_tightbbox(figure):
    import matplotlib

    return figure.get_tightbbox().padded(matplotlib.rcParams["savefig.pad_inches"])


def _panels(figure) -> list:
    """(top-level grid cell, its axes) in reading order: rows top to bottom, then columns."""
    cells: dict[tuple, tuple] = {}
    for ax in figure.axes:
        spec = ax.get_subplotspec()
        if spec is None:
            continue
        top = spec.get_topmost_subplotspec()
        key = (id(top.get_gridspec()), top.num1, top.num2)
        cells.setdefault(key, (top, []))[1].append(ax)
    grids = list(dict.fromkeys(k[0] for k in cells))
    return [cells[k] for k in sorted(cells, key=lambda k: (grids.index(k[0]), cells[k][0].rowspan.start,
                                                           cells[k][0].colspan.start))]


def _move_cell(old, new, axes) -> None:
    """Put a panel's axes into `new`: those in the cell itself, and those in a grid nested in it
    (a colorbar made with use_gridspec keeps its parent and itself in such a grid)."""
    nested = []  # the grids that sit directly in the old cell, found before any is moved
    for ax in axes:
        grid = ax.get_subplotspec().get_gridspec()
        while grid is not old.get_gridspec() and grid._subplot_spec.get_gridspec() is not old.get_gridspec():
            grid = grid._subplot_spec.get_gridspec()
        if grid is not old.get_gridspec() and grid not in nested:
            nested.append(grid)
    for grid in nested:
        grid._subplot_spec = new  # GridSpecFromSubplotSpec has no setter
    for ax in axes:
        spec = ax.get_subplotspec()
        ax.set_subplotspec(new if spec.get_gridspec() is old.get_gridspec() else spec)  # positions it again


def _label_shared_y(ax) -> None:
    """sharey hid the tick labels of every column but the first; now each panel is the first."""
    if len(ax.get_shared_y_axes().get_siblings(ax)) > 1:
        ax.tick_params(axis="y", labelleft=True)


def _legends_below_their_axes_follow_the_label(figure) -> bool:
    """A legend anchored under its axes sat below the axis label; with larger text it would cover
    it: anchor it under the x axis as laid out now. True if any moved."""
    renderer = figure._get_renderer()
    moved = False
    for ax in figure.axes:
        legend = ax.get_legend()
        if legend is None or legend.get_bbox_to_anchor().y1 >= ax.bbox.y0:
            continue
        below = ax.xaxis.get_tightbbox(renderer)
        if below is None or legend.get_window_extent(renderer).y1 < below.y0:
            continue
        x = ax.transAxes.inverted().transform((legend.get_bbox_to_anchor().x0, 0))[0]
        y = ax.transAxes.inverted().transform((0, below.y0 - 4))[1]
        legend.set_bbox_to_anchor((x, y), transform=ax.transAxes)
        moved = True
    return moved


def _smallest_font(figure) -> float:
    from matplotlib.text import Text

    sizes = [t.get_fontsize() for t in figure.findobj(Text) if t.get_visible() and t.get_text().strip()]
    return min(sizes, default=PHONE_MIN_PT)


def _enlarge_text(figure) -> None:
    from matplotlib.text import Text

    for ax in figure.axes:
        for axis in (ax.xaxis, ax.yaxis):
            for which, ticks in (("major", axis.get_major_ticks()), ("minor", axis.get_minor_ticks())):
                if ticks:
                    size = ticks[0].label1.get_fontsize()
                    axis.set_tick_params(which=which, labelsize=max(size, PHONE_MIN_PT))
    legends = [*figure.legends, *(ax.get_legend() for ax in figure.axes if ax.get_legend() is not None)]
    for legend in legends:  # its spacing is measured in its font size
        legend.prop.set_size(max(legend.prop.get_size_in_points(), PHONE_MIN_PT))
        legend._fontsize = legend.prop.get_size_in_points()
    for text in figure.findobj(Text):
        if text.get_fontsize() < PHONE_MIN_PT:
            text.set_fontsize(PHONE_MIN_PT)
    for legend in legends:
        _one_column_if_too_wide(figure, legend)


def _one_column_if_too_wide(figure, legend) -> None:
    """A row of legend entries wider than the phone becomes a column (Legend.set_ncols alone
    does not lay the entries out again)."""
    if legend._ncols == 1 or _width_in(figure, legend) <= 0.9 * PHONE_WIDTH_IN:
        return
    legend._ncols = 1
    legend._init_legend_box(legend.legend_handles, [t.get_text() for t in legend.texts])
    legend._set_loc(legend._loc)  # anchors the new box where the old one was


def _width_in(figure, artist) -> float:
    return artist.get_window_extent(figure._get_renderer()).width / figure.dpi


def _figure_level(figure) -> list:
    return [a for a in (*figure.legends, figure._suptitle, figure._supxlabel) if a is not None and a.get_visible()]


def _figure_level_heights(figure) -> float:
    renderer = figure._get_renderer()
    return sum(a.get_window_extent(renderer).height / figure.dpi + 0.1 for a in _figure_level(figure))


def _fit(figure) -> None:
    """tight_layout, leaving the figure legends and suptitle their strip at the edge they sit on.
    The panels' labels come savefig.pad_inches from the figure's left and right edges instead of
    tight_layout's pad, so that the exported box is as wide as the figure (a figure narrower by
    the difference, laid out with the pad, gives the same box, one layout later)."""
    import matplotlib
    from matplotlib.font_manager import FontProperties
    from matplotlib.layout_engine import ConstrainedLayoutEngine

    if isinstance(figure.get_layout_engine(), ConstrainedLayoutEngine):
        return  # it lays the figure out again when it is saved
    renderer = figure._get_renderer()
    bottom, top = 0.0, 1.0
    for artist in _figure_level(figure):
        box = artist.get_window_extent(renderer).transformed(figure.transFigure.inverted())
        if artist is figure._suptitle:
            continue  # tight_layout makes room for it
        if (box.y0 + box.y1) / 2 < 0.5:
            bottom = max(bottom, box.y1)  # tight_layout pads from the edge of its rect
        else:
            top = min(top, box.y0)
    pad = TIGHT_LAYOUT_PAD * FontProperties(size=matplotlib.rcParams["font.size"]).get_size_in_points() / 72
    side = (pad - matplotlib.rcParams["savefig.pad_inches"]) / figure.get_size_inches()[0]
    figure.tight_layout(pad=TIGHT_LAYOUT_PAD, rect=(-side, bottom, 1 + side, top))
