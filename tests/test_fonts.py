"""The CJK font is found, or its absence is an error that says what to install."""
from __future__ import annotations

import matplotlib
import pytest

from report.figures import MissingGlyphError, export_svg, setup_matplotlib
from report.fonts import CjkFont, FontError, find_cjk_font

NOTO = [("Noto Sans CJK SC", "Regular", 80, "/f/r.ttc"), ("Noto Sans CJK SC", "Bold", 200, "/f/b.ttc")]


def test_no_font_names_the_package_to_install():
    with pytest.raises(FontError, match="fonts-noto-cjk"):
        find_cjk_font(lambda: [("DejaVu Sans", "Book", 80, "/f/d.ttf")])


def test_preference_order_and_bold():
    wqy = [("WenQuanYi Micro Hei", "Regular", 80, "/f/w.ttc")]
    font = find_cjk_font(lambda: wqy + NOTO)
    assert font == CjkFont("Noto Sans CJK SC", "/f/r.ttc", "/f/b.ttc", None)


def test_a_font_without_bold_warns():
    with pytest.warns(UserWarning, match="no bold"):
        font = find_cjk_font(lambda: [("WenQuanYi Micro Hei", "Regular", 80, "/f/w.ttc")])
    assert font.bold is None


def test_this_machine_has_a_cjk_font_with_bold():
    font = find_cjk_font()
    assert font.regular and font.bold, "make test installs fonts-noto-cjk"


def test_missing_glyph_in_a_figure_is_an_error(tmp_path):
    import matplotlib.pyplot as plt

    with matplotlib.rc_context():  # leave other tests' matplotlib set-up as it was
        setup_matplotlib(find_cjk_font())
        fig, ax = plt.subplots()
        ax.set_title("中文没问题")
        export_svg(fig, tmp_path / "ok.svg")
        assert b"<path" in (tmp_path / "ok.svg").read_bytes()
        fig, ax = plt.subplots()
        ax.set_title("\U00013000")  # an Egyptian hieroglyph: in no installed font
        with pytest.raises(MissingGlyphError):
            export_svg(fig, tmp_path / "bad.svg")


def test_export_reports_the_figure_size_in_css_pixels(tmp_path):
    """The site gives each <img> this size; it must be the SVG's own (points x 4/3)."""
    import re

    import matplotlib.pyplot as plt

    with matplotlib.rc_context():
        setup_matplotlib(find_cjk_font())
        fig, ax = plt.subplots(figsize=(6, 3))
        ax.set_title("尺寸")
        width, height = export_svg(fig, tmp_path / "f.svg")
    svg = (tmp_path / "f.svg").read_text(encoding="utf-8")
    for name, px in (("width", width), ("height", height)):
        points = float(re.search(rf'<svg[^>]* {name}="([\d.]+)pt"', svg).group(1))
        assert px == round(points * 4 / 3)
    assert 2 * height > width > 1.5 * height  # a 6 x 3 inch figure, trimmed to its tight box
