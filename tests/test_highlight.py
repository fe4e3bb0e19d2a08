import logging

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
    strip = lambda html: __import__("re").sub(r"<[^>]+>", "", html)
    assert strip(ours) == strip(full)


def test_print_stylesheet_parses_cleanly_in_weasyprint(caplog):
    """The dark theme's media query is screen-only; WeasyPrint would warn and drop it."""
    from weasyprint import CSS

    with caplog.at_level(logging.WARNING, logger="weasyprint"):
        CSS(string=print_stylesheet())
    assert not caplog.records, [r.getMessage() for r in caplog.records]
    assert ".highlight .k" in print_stylesheet()
