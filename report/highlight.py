"""Syntax highlighting of code listings with Pygments, as static HTML and CSS."""
from __future__ import annotations

from functools import lru_cache

from markupsafe import Markup
from pygments import format as pygments_format
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.styles import get_style_by_name
from pygments.token import Token, _TokenType

LIGHT_STYLE = "friendly"
DARK_STYLE = "github-dark"


@lru_cache(maxsize=512)  # the site and the handout show the same listings
def highlight(code: str, language: str) -> Markup:
    """Tokens that neither style colours become plain text: half the spans, and WeasyPrint
    lays out a listing in about half the time."""
    tokens = ((_visible_type(t), v) for t, v in get_lexer_by_name(language).get_tokens(code))
    return Markup(pygments_format(tokens, _formatter()))


def _visible_type(token: _TokenType) -> _TokenType:
    styled = _styled_tokens()
    while token not in styled and token.parent is not None:
        token = token.parent
    return token if token in styled else Token.Text


@lru_cache(maxsize=1)
def _styled_tokens() -> frozenset[_TokenType]:
    styled = set()
    for name in (LIGHT_STYLE, DARK_STYLE):
        for token, style in get_style_by_name(name):
            if (style["color"] or style["bold"] or style["italic"] or style["bgcolor"]) \
                    and token not in Token.Text.Whitespace:
                styled.add(token)
    return frozenset(styled)


@lru_cache(maxsize=1)
def _formatter() -> HtmlFormatter:
    return HtmlFormatter(cssclass="highlight", wrapcode=True)


def print_stylesheet() -> str:
    """Light colours only: paper has no dark mode, and WeasyPrint warns on media features."""
    return HtmlFormatter(style=LIGHT_STYLE).get_style_defs(".highlight")


def stylesheet() -> str:
    """Light colours by default, dark ones when the reader's system asks for dark."""
    dark = HtmlFormatter(style=DARK_STYLE).get_style_defs(".highlight")
    return f"{print_stylesheet()}\n@media screen and (prefers-color-scheme: dark) {{\n{dark}\n}}\n"
