"""Figure export: text must stay readable at the size the handout prints it."""
from __future__ import annotations

import pytest

from report.figures import SmallTextError, check_printed_text, export_svg


@pytest.fixture
def plt(cjk_figures):
    import matplotlib.pyplot as plt
    return plt


def figure(plt, width: float, fontsize: float):
    fig, ax = plt.subplots(figsize=(width, 3))
    ax.plot([0, 1], [0, 1])
    ax.set_xlabel("轮", fontsize=fontsize)
    ax.tick_params(labelsize=fontsize)
    return fig


def test_a_figure_drawn_at_print_width_passes(plt, tmp_path):
    assert export_svg(figure(plt, 6.0, 8), tmp_path / "ok.svg")[0] > 0


def test_a_wide_figure_shrunk_to_the_page_fails_naming_the_text(plt, tmp_path):
    with pytest.raises(SmallTextError, match=r"figure wide: .*print at [0-9.]+ pt"):
        export_svg(figure(plt, 11.0, 8), tmp_path / "wide.svg")


def test_small_text_fails_even_at_print_width(plt):
    with pytest.raises(SmallTextError):
        check_printed_text(figure(plt, 5.0, 5), 5.0, 3.0)


# --- the copy for phones ---------------------------------------------------------------------

from pathlib import Path  # noqa: E402

from report.figures import PHONE_MIN_PT, PHONE_WIDTH_IN, phone_variant, svg_size  # noqa: E402
from svg_text import smallest_on_screen, texts  # noqa: E402

PHONE_COLUMN_PX = 335  # the text column at 375 px (templates/static/style.css: 20 px each side)


def three_panels_with_colorbar_twin_and_legend(plt):
    """What the tutorial's figures use: panels in a row, a colorbar beside one (made with
    use_gridspec, as tight_layout figures get it), a twin axis, and a legend below the figure."""
    import numpy as np

    fig, axes = plt.subplots(1, 3, figsize=(6.5, 2.6))
    for i, ax in enumerate(axes):
        axes[0].plot([0, 1, 2], [i, i + 1, i], label=f"配置 {i}")
        ax.set_title(f"第 {i + 1} 个面板", fontsize=8)
        ax.set_xlabel("训练步数", fontsize=7)
        ax.tick_params(labelsize=7)
    image = axes[1].imshow(np.arange(12).reshape(3, 4), aspect="auto")
    fig.colorbar(image, ax=axes[1]).ax.tick_params(labelsize=7)
    axes[2].twinx().plot([0, 2], [5, 3], color="C3")
    fig.tight_layout(rect=(0, 0.15, 1, 1))
    fig.legend(*axes[0].get_legend_handles_labels(), loc="lower center", ncol=3, fontsize=7,
               bbox_to_anchor=(0.5, 0.0))
    return fig


def panel_boxes(svg: Path) -> list[tuple[float, float]]:
    """(top, bottom) of every plotting area's background patch, in SVG units."""
    import re

    raw = svg.read_text(encoding="utf-8")
    boxes = []
    for block in re.findall(r'<g id="axes_\d+">\s*<g id="patch_\d+">\s*<path d="([^"]+)"', raw):
        ys = [float(v) for v in re.findall(r"[-0-9.]+", block)[1::2]]
        boxes.append((min(ys), max(ys)))
    return boxes


def test_the_phone_copy_stacks_the_panels_with_larger_text(plt, tmp_path):
    site = tmp_path / "f.svg"
    size = export_svg(three_panels_with_colorbar_twin_and_legend(plt), site)
    phone = tmp_path / phone_variant("f.svg")
    assert phone.is_file()
    width, height = svg_size(phone)
    assert size[0] > size[1] and height > 2 * width  # three panels one above the other
    assert abs(width - PHONE_WIDTH_IN * 96) <= 8  # about as wide as the phone's column: shown at ~1:1
    main = sorted(set(panel_boxes(phone)))  # a colorbar or a twin shares its panel's top and bottom
    assert len(main) == 3 and all(upper[1] <= lower[0] for upper, lower in zip(main, main[1:])), main
    assert min(t.font for t in texts(phone)[1]) >= PHONE_MIN_PT - 0.01
    assert min(t.font for t in texts(phone)[1]) >= min(t.font for t in texts(site)[1])
    font_px, ink_px = smallest_on_screen(phone, min(PHONE_COLUMN_PX, width))
    assert font_px >= 13 and ink_px >= 9.5, (font_px, ink_px)
    assert smallest_on_screen(site, min(PHONE_COLUMN_PX, size[0]))[0] < 8  # what a phone showed before
    legend = [t for t in texts(phone)[1] if t.text.startswith("配置")]
    assert len(legend) == 3


def test_the_phone_copy_leaves_the_site_and_print_copies_alone(plt, tmp_path):
    """The phone layout is made last, on the same figure: the other copies must not see it."""
    export_svg(three_panels_with_colorbar_twin_and_legend(plt), tmp_path / "a.svg")
    fig = three_panels_with_colorbar_twin_and_legend(plt)
    fig.set_layout_engine(None)  # as export_svg: what tight_layout leaves would only draw it once more
    import matplotlib

    from report.svg_canvas import OutlinedAndText, SvgCanvas

    SvgCanvas(fig)
    tight = fig.get_tightbbox().padded(matplotlib.rcParams["savefig.pad_inches"])
    fig.savefig(OutlinedAndText(tmp_path / "b.svg", tmp_path / "b.print.svg"), format="svg", bbox_inches=tight,
                dpi=200, metadata={"Date": None})
    for copy in ("svg", "print.svg"):
        assert (tmp_path / f"a.{copy}").read_bytes() == (tmp_path / f"b.{copy}").read_bytes()


def test_a_diagram_with_labels_in_its_data_keeps_its_drawing(plt, tmp_path):
    fig, ax = plt.subplots(figsize=(6.0, 3.0))
    for x in range(5):
        ax.text(x, 0, f"节点 {x}", fontsize=8)
    ax.set_xlim(0, 5)
    export_svg(fig, tmp_path / "d.svg")
    assert svg_size(tmp_path / "d.phone.svg") == svg_size(tmp_path / "d.svg")


def test_svg_size_is_none_for_a_missing_file(tmp_path):
    assert svg_size(tmp_path / "nothing.svg") is None


# Figures whose text no layout can enlarge: labels placed in the drawing itself (a diagram).
# On a phone they are read by tapping them open full size, where the browser zooms.
DIAGRAMS = {"backprop/network.svg"}


@pytest.mark.slow
def test_at_375_px_every_figure_text_is_readable_or_the_figure_is_a_diagram(quick_site):
    """Chromium picks the copy and its width; the text height is read from that SVG's glyphs."""
    import shutil

    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("Chromium is not installed (make test installs it)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 375, "height": 812})
        page.goto((quick_site / "index.html").as_uri(), wait_until="load")
        shown = page.evaluate("""[...document.querySelectorAll('figure.figure')].map(f => {
            const img = f.querySelector('img'), link = f.querySelector('a.figure-open');
            img.loading = 'eager';
            return [link.getAttribute('href'), img.getAttribute('src'), img.getBoundingClientRect().width]; })""")
        page.wait_for_function("[...document.images].every(i => i.complete)")
        chosen = page.evaluate("[...document.querySelectorAll('figure.figure img')].map(i => i.currentSrc)")
        browser.close()
    assert shown and len(chosen) == len(shown)
    small = {}
    for (link, src, width), current in zip(shown, chosen):
        assert (quick_site / link).is_file() and link == src
        path = quick_site / current.split(quick_site.name + "/", 1)[1]
        assert path.name.endswith(".phone.svg"), f"{src}: a phone loads {path.name}"
        font_px, ink_px = smallest_on_screen(path, width)
        if src.removeprefix("figures/") in DIAGRAMS:
            continue
        if font_px < 13 or ink_px < 9.5:
            small[src] = (round(font_px, 1), round(ink_px, 1))
    assert not small, f"figure text below 13 px (font) or 9.5 px (ink of the smallest text): {small}"


def test_the_phone_copy_is_byte_reproducible(plt, tmp_path):
    for name in ("one.svg", "two.svg"):
        export_svg(three_panels_with_colorbar_twin_and_legend(plt), tmp_path / name)
    assert (tmp_path / "one.phone.svg").read_bytes() == (tmp_path / "two.phone.svg").read_bytes()
