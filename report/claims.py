"""Claims: a sentence that states a measured fact carries the condition on metrics that makes it true.

A section template writes::

    {% call claim("m.bn_grad_first > 100 * m.plain_grad_first") %}BN 把第 1 层的梯度放大了……{% endcall %}

The sentence is rendered unchanged; the condition is evaluated on the section's metrics (and
other sections' metrics through ``sections.x.m.y``). A full build stops on a claim that does
not hold, naming the section, the sentence and the numbers; a quick build (small sizes, where
effects need not show) lists such claims as warnings.
"""
from __future__ import annotations

import re
from html import unescape as html_unescape
from dataclasses import dataclass
from typing import Any

_NAME = re.compile(r"\b(?:sections\.(\w+)\.)?m\.(\w+)")
_TAG = re.compile(r"<[^>]+>")


@dataclass(frozen=True)
class Claim:
    section: str  # "7.2 tip_batchnorm"
    sentence: str  # the claim's text, without markup
    condition: str
    values: tuple[tuple[str, Any], ...]  # every metric the condition names, with its value
    holds: bool

    def describe(self) -> str:
        numbers = ", ".join(f"{name} = {_show(value)}" for name, value in self.values)
        return f"§{self.section}: claim 「{self.sentence}」 needs {self.condition}, but {numbers}"


class ClaimError(ValueError):
    """A claim's condition is malformed or names a metric that does not exist."""


def _show(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else repr(value)


_IMAGE = re.compile(r'<img[^>]*\balt="([^"]*)"[^>]*>')
_MATH_SPACE = re.compile(r"<mspace\b[^>]*>")


def sentence_of(html: str) -> str:
    """The sentence as text; a formula by its text (MathML, spaced as shown) or, as an image, by its LaTeX."""
    html = _IMAGE.sub(lambda m: html_unescape(m[1]), _MATH_SPACE.sub(" ", html))
    text = " ".join(html_unescape(_TAG.sub("", html)).split())
    return text if len(text) <= 120 else text[:117] + "…"


def referenced_values(condition: str, metrics: Any, sections: Any) -> tuple[tuple[str, Any], ...]:
    """The metrics a condition mentions, looked up the way the template sees them."""
    values = {}
    for section, name in _NAME.findall(condition):
        source = getattr(sections, section).m if section else metrics
        values[f"sections.{section}.m.{name}" if section else f"m.{name}"] = getattr(source, name)
    return tuple(values.items())


def evaluate(compile_condition, condition: str, context: dict[str, Any]) -> bool:
    """`compile_condition`: the renderer's Jinja compile_expression (cached: compiling costs ~6 ms)."""
    try:
        expression = compile_condition(condition)
    except Exception as exc:  # a Jinja syntax error in the condition
        raise ClaimError(f"claim condition {condition!r} is not an expression: {exc}") from exc
    value = expression(**context)
    if not isinstance(value, (bool, int)) and type(value).__name__ != "bool_":
        raise ClaimError(f"claim condition {condition!r} gave {value!r}, not true or false")
    return bool(value)


def declare(compile_condition, section: str, condition: str, sentence_html: str, context: dict[str, Any]) -> Claim:
    """Evaluate a claim's condition in the template's context (m, sections)."""
    holds = evaluate(compile_condition, condition, context)
    values = referenced_values(condition, context["m"], context["sections"])
    return Claim(section, sentence_of(sentence_html), condition, values, holds)


def check(claims: list[Claim], strict: bool) -> list[str]:
    """Failing claims as messages; in a strict (full) build they are an error."""
    failing = [c.describe() for c in claims if not c.holds]
    if failing and strict:
        raise ClaimError(f"{len(failing)} claim(s) in the prose do not hold for this build's numbers:\n  "
                         + "\n  ".join(failing))
    return failing
