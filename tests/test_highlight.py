import logging
import re
from pathlib import Path

from pygments import highlight as pygments_highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PythonLexer

from report.highlight import highlight, print_stylesheet

CODE = 'def f(x):\n    """Doc."""\n    return np.maximum(0, x)  # ReLU\n'


def test_keeps_every_coloured_token_and_the_text():
    ours = str(highlight(CODE, "python"))
    assert '<span class="k">def</span>' in ours and '<span class="c1"># ReLU</span>' in ours
    full = pygments_highlight(CODE, PythonLexer(), HtmlFormatter(cssclass="highlight", wrapcode=True))
    assert ours.count("<span") < full.count("<span")
    strip = lambda html: re.sub(r"<[^>]+>", "", html)
    assert strip(ours) == strip(full)


def test_print_stylesheet_parses_cleanly_in_weasyprint(caplog):
    """The dark theme's media query is screen-only; WeasyPrint would warn and drop it."""
    from weasyprint import CSS

    with caplog.at_level(logging.WARNING, logger="weasyprint"):
        CSS(string=print_stylesheet())
    assert not caplog.records, [r.getMessage() for r in caplog.records]
    assert ".highlight .k" in print_stylesheet()


def test_names_and_punctuation_are_plain_text():
    """The a11y styles colour names like the text around them: no span for them."""
    ours = str(highlight(CODE, "python"))
    assert 'class="n"' not in ours and 'class="p"' not in ours
    assert "np" in ours and "maximum" in ours


def contrast(a: str, b: str) -> float:
    def luminance(hex_colour: str) -> float:
        hex_colour = hex_colour.lstrip("#")
        if len(hex_colour) == 3:
            hex_colour = "".join(c * 2 for c in hex_colour)
        channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (0, 2, 4)]
        r, g, b = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * r + 0.7152 * g + 0.0722 * b
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_contrast_helper_knows_the_extremes():
    assert round(contrast("#000", "#fff"), 1) == 21.0 and contrast("#777", "#777") == 1.0


def test_every_token_colour_meets_wcag_aa_on_the_sites_code_background():
    """--code-bg in style.css: the light value first, then the dark one (written once per way of
    asking for dark). Axe cannot check the code itself: the scroll shadows are gradients."""
    from pygments.styles import get_style_by_name

    from report.highlight import DARK_STYLE, LIGHT_STYLE

    css = (Path(__file__).resolve().parent.parent / "templates/static/style.css").read_text(encoding="utf-8")
    backgrounds = re.findall(r"--code-bg:\s*(#[0-9a-fA-F]{3,6})", css)
    assert len(backgrounds) >= 2
    for style_name, background in ((LIGHT_STYLE, backgrounds[0]), (DARK_STYLE, backgrounds[-1])):
        for token, look in get_style_by_name(style_name):
            if look["color"]:
                ratio = contrast(look["color"], background)
                assert ratio >= 4.5, f"{style_name} {token}: #{look['color']} on {background} is {ratio:.2f}:1"


def test_site_stylesheet_colours_the_dark_theme_by_system_and_by_choice():
    from report.highlight import stylesheet

    css = stylesheet()
    assert "@media screen and (prefers-color-scheme: dark)" in css
    assert ':root:not([data-theme="light"]) .highlight .k' in css
    assert ':root[data-theme="dark"] .highlight .k' in css
    assert "background" not in css, "the site paints the code box itself, under the scroll shadows"


def test_loading_the_styles_leaves_logging_alone():
    """accessible-pygments configures the root logger on import; the build would then print INFO lines."""
    import subprocess
    import sys

    code = ("import logging, report.highlight as h; h.stylesheet(); "
            "assert not logging.getLogger().handlers and logging.getLogger().level == logging.WARNING")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parent.parent)
