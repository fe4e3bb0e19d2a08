"""Syntax highlighting of code listings with Pygments, as static HTML and CSS.

The colours are the `accessible-pygments` styles a11y-light and a11y-dark: every token meets
WCAG AA contrast (4.5:1) on its background, which Pygments' default styles do not.
"""
from __future__ import annotations

import logging
from functools import lru_cache

from markupsafe import Markup
from pygments import format as pygments_format
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.styles import get_style_by_name
from pygments.token import Token, _TokenType

LIGHT_STYLE = "a11y-light"
DARK_STYLE = "a11y-dark"


def _import_styles_quietly() -> None:
    """accessible-pygments 0.0.5 calls logging.basicConfig(level=INFO) when imported, after which
    every INFO record of WeasyPrint and fontTools is printed during the build: undo that."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    import a11y_pygments  # noqa: F401

    root.handlers[:], root.level = handlers, level


_import_styles_quietly()

# The site's theme switch sets <html data-theme="light|dark">; without it the system decides.
DARK_BY_SYSTEM = ':root:not([data-theme="light"]) .highlight'
DARK_BY_CHOICE = ':root[data-theme="dark"] .highlight'


@lru_cache(maxsize=512)  # the site and the handout show the same listings
def highlight(code: str, language: str) -> Markup:
    """Tokens that neither style sets apart from plain text become plain text: most spans go
    (the a11y styles give names and punctuation the text colour), and WeasyPrint lays out a
    listing in about half the time."""
    tokens = ((_visible_type(t), v) for t, v in get_lexer_by_name(language).get_tokens(code))
    return Markup(pygments_format(tokens, _formatter()))


def _visible_type(token: _TokenType) -> _TokenType:
    """The token type Pygments would style `token` by (its nearest standard ancestor), or
    plain text if that type looks like plain text in both styles."""
    known = _known_tokens()
    while token not in known and token.parent is not None:
        token = token.parent
    return token if token in _set_apart_tokens() else Token.Text


@lru_cache(maxsize=1)
def _known_tokens() -> frozenset[_TokenType]:
    return frozenset(token for token, _ in get_style_by_name(LIGHT_STYLE))


@lru_cache(maxsize=1)
def _set_apart_tokens() -> frozenset[_TokenType]:
    """Token types that look different from plain text in at least one of the two styles."""
    set_apart = set()
    for name in (LIGHT_STYLE, DARK_STYLE):
        style = get_style_by_name(name)
        text_colour = style.style_for_token(Token.Text)["color"]
        for token, look in style:
            if token in Token.Text.Whitespace:
                continue
            if look["color"] not in (None, text_colour) or look["bold"] or look["italic"] \
                    or look["underline"] or look["bgcolor"]:
                set_apart.add(token)
    return frozenset(set_apart)


@lru_cache(maxsize=1)
def _formatter() -> HtmlFormatter:
    return HtmlFormatter(cssclass="highlight", wrapcode=True)


def print_stylesheet() -> str:
    """Light colours only: paper has no dark mode, and WeasyPrint warns on media features."""
    return _upright(HtmlFormatter(style=LIGHT_STYLE).get_style_defs(".highlight"))


def _upright(css: str) -> str:
    """No italics: CJK fonts have none, so the browser and WeasyPrint slant the Chinese comments."""
    return css.replace("font-style: italic", "font-style: normal")


def stylesheet() -> str:
    """Light colours by default; dark ones when the reader picks the dark theme, or when the
    system asks for dark and the reader has not picked the light theme. No backgrounds: the
    site paints the code box itself (--code-bg), under its scroll shadows."""
    light = _colour_rules(LIGHT_STYLE, ".highlight")
    by_system = _colour_rules(DARK_STYLE, DARK_BY_SYSTEM)
    by_choice = _colour_rules(DARK_STYLE, DARK_BY_CHOICE)
    return (f"{light}\n"
            f"@media screen and (prefers-color-scheme: dark) {{\n{by_system}\n}}\n"
            f"{by_choice}\n")


def _colour_rules(style: str, selector: str) -> str:
    """The style's token colours under `selector`: no background, and none of the line-number
    rules that get_style_defs() adds unprefixed."""
    return _upright("\n".join(HtmlFormatter(style=style).get_token_style_defs(selector)))
