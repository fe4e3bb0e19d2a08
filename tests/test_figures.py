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
