"""matplotlib's SVG canvas, made cheaper for writing every figure several times.

Exporting a figure makes many renderers: one per savefig and one each time a layout is measured
(the tight box, tight_layout). Each SVG renderer brings its own TextToPath, so its own mathtext
parser and its own text-metrics cache, and starts from nothing: every tick label of every log
axis (10^{-3}) was parsed again by pyparsing in each of them, ~40 % of an export's time.
An SVG renderer measures text at a fixed 72 dpi from the string and its font properties alone
(TextToPath) and the settings that choose fonts, so one TextToPath and one metrics cache per
state of those settings serve all renderers and give the same numbers, hence the same SVG bytes.

The site's copy (glyphs as outlines) and the handout's (real text, and flat: see
SharedTextRendererSVG) differ only in how they are written: saved to OutlinedAndText, one draw
of the figure (ticks, layout, transforms: most of a savefig's time) feeds both files."""
from __future__ import annotations

import codecs
import functools
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import matplotlib
from matplotlib import cbook
from matplotlib.path import Path as MplPath
from matplotlib.transforms import Affine2D
from matplotlib.backends.backend_mixed import MixedModeRenderer
from matplotlib.backends.backend_svg import FigureCanvasSVG, RendererSVG
from matplotlib.textpath import TextToPath

# What else, besides a text's FontProperties, chooses its glyphs: a generic family's fonts, mathtext.
_TEXT_SETTINGS = ("font.serif", "font.sans-serif", "font.cursive", "font.fantasy", "font.monospace",
                  "mathtext.default", "mathtext.fallback", "mathtext.rm", "mathtext.it", "mathtext.bf",
                  "mathtext.bfit", "mathtext.sf", "mathtext.tt", "mathtext.cal", "text.usetex",
                  "text.kerning_factor")


def _text_settings() -> tuple:
    return tuple(str(matplotlib.rcParams[key]) for key in _TEXT_SETTINGS)


@functools.lru_cache(maxsize=None)
def _text_to_path(settings: tuple) -> TextToPath:
    """One per state of the settings (an experiment or a test may change them), kept for the process."""
    return TextToPath()


@functools.lru_cache(maxsize=8192)
def _text_metrics(settings: tuple, text: str, prop, ismath) -> tuple[float, float, float]:
    return _text_to_path(settings).get_text_width_height_descent(text, prop, ismath)


@dataclass(frozen=True)
class OutlinedAndText:
    """A savefig target: the same drawing written twice, glyphs as outlines and as text."""
    outlined: Path
    text: Path


class SharedTextRendererSVG(RendererSVG):
    """RendererSVG with the shared text layout; `fonttype` fixes svg.fonttype for its text."""

    def __init__(self, *args, fonttype: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self._settings = _text_settings()
        self._text2path = _text_to_path(self._settings)  # its mathtext parser keeps what it parsed
        self.fonttype = fonttype
        self.flat = fonttype == "none"  # the handout's copy: see draw_markers

    # The handout's copy is drawn by WeasyPrint, whose time goes by the number of SVG elements (it
    # cascades styles into each, and looks every <use> up in the whole document). matplotlib writes a
    # group around every artist and a <defs>, a group and a <use> per marker (every tick mark, every
    # point of a line): ~1,250 elements for §4's four panels of line plots. Without the groups, and
    # with a set of markers as one path where that draws the same, a third of that is left.

    def open_group(self, s, gid=None):
        if not self.flat:
            super().open_group(s, gid)

    def close_group(self, s):
        if not self.flat:
            super().close_group(s)

    def draw_markers(self, gc, marker_path, marker_trans, path, trans, rgbFace=None):
        if not self.flat or gc.get_url() is not None:
            return super().draw_markers(gc, marker_path, marker_trans, path, trans, rgbFace)
        clip = (0, 0, self.width * 72, self.height * 72)  # which points RendererSVG.draw_markers draws
        points = [vertices[-2:] for vertices, _ in path.iter_segments(self._make_flip_transform(trans),
                                                                       clip=clip, simplify=False) if len(vertices)]
        marker = marker_path.transformed(marker_trans + Affine2D().scale(1.0, -1.0))
        placed = [marker.transformed(Affine2D().translate(x, y)) for x, y in points]
        if _overlaps_look_the_same(gc, rgbFace):
            placed = [MplPath.make_compound_path(*placed)] if placed else []
        attributes = self._get_clip_attrs(gc) | {"style": self._get_style(gc, rgbFace)}
        for one in placed:
            self.writer.element("path", d=self._convert_path(one, simplify=False), **attributes)

    def get_text_width_height_descent(self, s, prop, ismath):
        # a copy: FontProperties is mutable and hashes by its current state
        return _text_metrics(self._settings, s, prop.copy(), ismath)

    def draw_text(self, gc, x, y, s, prop, angle, ismath=False, mtext=None):
        if self.fonttype is None:
            return super().draw_text(gc, x, y, s, prop, angle, ismath, mtext)
        saved = matplotlib.rcParams["svg.fonttype"]
        matplotlib.rcParams["svg.fonttype"] = self.fonttype  # RendererSVG.draw_text reads it
        try:
            super().draw_text(gc, x, y, s, prop, angle, ismath, mtext)
        finally:
            matplotlib.rcParams["svg.fonttype"] = saved


def _overlaps_look_the_same(gc, face) -> bool:
    """Whether markers drawn as one path (all filled, then all stroked, overlaps painted once) look
    like markers drawn one after the other: opaque, and filled or stroked but not both in two colours."""
    stroked = gc.get_linewidth() > 0 and gc.get_rgb()[3] > 0
    if gc.get_alpha() != 1 or (stroked and gc.get_rgb()[3] != 1) or (face is not None and len(face) > 3 and face[3] != 1):
        return False
    return face is None or not stroked or tuple(face[:3]) == tuple(gc.get_rgb()[:3])


class _BothRenderers:
    """Hands every drawing call to two renderers; everything else (measuring text, new graphics
    contexts, options) is answered by the first, which the second would answer the same."""

    _DRAWING = frozenset({
        "open_group", "close_group", "draw_path", "draw_markers", "draw_path_collection",
        "draw_quad_mesh", "draw_gouraud_triangles", "draw_image", "draw_text", "draw_tex",
        "finalize"})

    def __init__(self, first, second):
        self._first, self._second = first, second

    def __getattr__(self, name):
        if name not in self._DRAWING:
            return getattr(self._first, name)
        first, second = getattr(self._first, name), getattr(self._second, name)

        def both(*args, **kwargs):
            first(*args, **kwargs)
            second(*args, **kwargs)
        return both


class SvgCanvas(FigureCanvasSVG):
    """FigureCanvasSVG.print_svg with SharedTextRendererSVG, writing one file or OutlinedAndText."""

    def print_svg(self, filename, *, bbox_inches_restore=None, metadata=None, **_ignored):
        # matplotlib drops savefig's options that its own print methods do not take (facecolor,
        # orientation...: print_figure has applied them) only for methods defined in matplotlib
        targets = ([(filename.outlined, "path"), (filename.text, "none")]
                   if isinstance(filename, OutlinedAndText) else [(filename, None)])
        with ExitStack() as files:
            dpi = self.figure.dpi
            self.figure.dpi = 72
            width, height = self.figure.get_size_inches()
            renderers = []
            for target, fonttype in targets:
                fh = files.enter_context(cbook.open_file_cm(target, "w", encoding="utf-8"))
                if not cbook.file_requires_unicode(fh):
                    fh = codecs.getwriter("utf-8")(fh)
                renderers.append(SharedTextRendererSVG(width * 72, height * 72, fh, image_dpi=dpi,
                                                       metadata=metadata, fonttype=fonttype))
            renderer = MixedModeRenderer(
                self.figure, width, height, dpi,
                renderers[0] if len(renderers) == 1 else _BothRenderers(*renderers),
                bbox_inches_restore=bbox_inches_restore)
            self.figure.draw(renderer)
            renderer.finalize()
