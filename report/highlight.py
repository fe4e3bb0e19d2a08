"""Syntax highlighting of code listings with Pygments, as static HTML and CSS."""
from __future__ import annotations

from functools import lru_cache

from markupsafe import Markup
from pygments import highlight as pygments_highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name

LIGHT_STYLE = "friendly"
DARK_STYLE = "github-dark"


def highlight(code: str, language: str) -> Markup:
    return Markup(pygments_highlight(code, get_lexer_by_name(language), _formatter()))


@lru_cache(maxsize=1)
def _formatter() -> HtmlFormatter:
    return HtmlFormatter(cssclass="highlight", wrapcode=True)


def stylesheet() -> str:
    """Light colours by default, dark ones when the reader's system asks for dark."""
    light = HtmlFormatter(style=LIGHT_STYLE).get_style_defs(".highlight")
    dark = HtmlFormatter(style=DARK_STYLE).get_style_defs(".highlight")
    return f"{light}\n@media screen and (prefers-color-scheme: dark) {{\n{dark}\n}}\n"
