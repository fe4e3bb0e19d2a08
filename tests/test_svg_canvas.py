"""The cheaper SVG canvas must write what matplotlib's own canvas writes, byte for byte."""
from __future__ import annotations

import pytest


@pytest.fixture
def plt(cjk_figures):
    import matplotlib.pyplot as plt
    return plt


def figure_of_every_kind(plt):
    """Log axes (mathtext tick labels), markers, an image, a rasterized artist, Chinese text, a legend."""
    import numpy as np

    fig, (left, right) = plt.subplots(1, 2, figsize=(6, 2.5))
    left.plot([1, 10, 100], [1e-3, 1e-1, 1], marker="o", label="损失")
    left.plot([2, 2.3, 2.6], [0.01, 0.011, 0.012], "^", markersize=14, markeredgecolor="white")  # overlapping
    left.set_yscale("log")
    left.fill_between([1, 100], 1e-3, 1e-2, alpha=0.3, rasterized=True)
    left.legend()
    left.set_title("第 1 个面板")
    right.imshow(np.arange(12).reshape(3, 4))
    right.set_xlabel(r"$\eta$ 学习率")
    return fig


def save(fig, target, **rc):
    import matplotlib

    with matplotlib.rc_context(rc):
        fig.savefig(target, format="svg", bbox_inches=None, dpi=200, metadata={"Date": None})


def test_one_draw_writes_the_outlined_copy_as_savefig_would_and_a_flat_text_copy(plt, tmp_path):
    from matplotlib.backends.backend_svg import FigureCanvasSVG

    from report.svg_canvas import OutlinedAndText, SvgCanvas

    fig = figure_of_every_kind(plt)
    FigureCanvasSVG(fig)
    save(fig, tmp_path / "outlined.svg", **{"svg.fonttype": "path"})
    save(fig, tmp_path / "text.svg", **{"svg.fonttype": "none"})
    SvgCanvas(fig)
    save(fig, OutlinedAndText(tmp_path / "a.svg", tmp_path / "b.svg"))
    save(fig, tmp_path / "one.svg", **{"svg.fonttype": "path"})
    plt.close(fig)

    outlined, text = (tmp_path / "outlined.svg").read_bytes(), (tmp_path / "text.svg").read_bytes()
    assert outlined != text and b"<text" in text and b"<text" not in outlined
    assert (tmp_path / "a.svg").read_bytes() == outlined
    assert (tmp_path / "one.svg").read_bytes() == outlined  # its renderers' shared text layout
    flat = (tmp_path / "b.svg").read_bytes()
    assert flat.count(b"<text") == text.count(b"<text")
    assert b"<use" not in flat and text.count(b"<use") > 10  # every tick mark, every point of the line
    assert flat.count(b"<g") < text.count(b"<g") / 5  # the groups matplotlib wraps every artist in


def pixels(svg, tmp_path):
    """The SVG as WeasyPrint draws it in the handout, rasterized by poppler."""
    import subprocess

    import numpy as np
    from PIL import Image
    from weasyprint import HTML

    pdf = tmp_path / f"{svg.stem}.pdf"
    HTML(string=f'<img src="{svg.name}" style="width: 16cm">', base_url=f"{tmp_path}/").write_pdf(pdf)
    subprocess.run(["pdftoppm", "-r", "150", "-png", "-singlefile", str(pdf), str(pdf.with_suffix(""))], check=True)
    return np.asarray(Image.open(pdf.with_suffix(".png")).convert("L"), dtype=float)


def test_the_flat_text_copy_prints_as_matplotlibs_own_would(plt, tmp_path):
    """Without groups and with each marker set as one path: the same picture on the handout's page."""
    from matplotlib.backends.backend_svg import FigureCanvasSVG

    from report.svg_canvas import OutlinedAndText, SvgCanvas

    fig = figure_of_every_kind(plt)
    FigureCanvasSVG(fig)
    save(fig, tmp_path / "text.svg", **{"svg.fonttype": "none"})
    SvgCanvas(fig)
    save(fig, OutlinedAndText(tmp_path / "outlined.svg", tmp_path / "flat.svg"))
    plt.close(fig)

    ours, theirs = pixels(tmp_path / "flat.svg", tmp_path), pixels(tmp_path / "text.svg", tmp_path)
    assert ours.shape == theirs.shape and (ours < 128).mean() > 0.01  # a picture, not a blank page
    assert (ours == theirs).all()


def test_the_fonttype_of_the_text_copy_does_not_leak(plt, tmp_path):
    import matplotlib

    from report.svg_canvas import OutlinedAndText, SvgCanvas

    fig = figure_of_every_kind(plt)
    SvgCanvas(fig)
    before = matplotlib.rcParams["svg.fonttype"]
    save(fig, OutlinedAndText(tmp_path / "a.svg", tmp_path / "b.svg"))
    plt.close(fig)
    assert matplotlib.rcParams["svg.fonttype"] == before


def test_text_is_measured_again_when_the_settings_that_choose_fonts_change(cjk_figures):
    """The metrics outlive a renderer: a changed font.sans-serif must not get the old widths."""
    import io

    import matplotlib
    from matplotlib.font_manager import FontProperties

    from report.fonts import find_cjk_font
    from report.svg_canvas import SharedTextRendererSVG

    widths = []
    for fonts in (["DejaVu Sans"], [find_cjk_font().family], ["DejaVu Sans"]):
        with matplotlib.rc_context({"font.sans-serif": fonts}):
            renderer = SharedTextRendererSVG(100, 100, io.StringIO())
            prop = FontProperties(family="sans-serif", size=10)
            widths.append(renderer.get_text_width_height_descent("width 123", prop, False)[0])
    assert widths[0] != widths[1] and widths[0] == widths[2]
