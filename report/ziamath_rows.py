"""ziamath lays out each row of a formula twice, once only to measure how tall its stretchy
operators (\\left( … \\right), tall bars) must grow. The measuring pass lays out nested rows
twice again, so a row five levels deep is laid out 2⁵ times: most of the handout's formula
typesetting. A row's measurement is read only by stretchy <mo> below it: in the row itself, and,
while a nested row takes its own measurement, in that row too. So a row with no operator below it
that may stretch skips it, and every SVG stays byte-identical (tests/test_ziamath_rows.py compares
the templates' formulas and hard cases with ziamath's own pass).

Checked against ziamath 0.13 (Mrow._get_height_nostretch); other versions are left as they are.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET

CHECKED_VERSION = "0.13"
# The measurement an empty row reports, as ziamath's own loop starts it
_NOTHING_MEASURED = (9999, -9999)


def apply() -> bool:
    """Skip the measuring pass where nothing reads it; whether ziamath is the version checked."""
    import ziamath
    from ziamath.nodes.mrow import Mrow

    if ziamath.__version__ != CHECKED_VERSION:
        return False
    if not getattr(Mrow, "_measures_only_for_stretchy", False):
        measure = Mrow._get_height_nostretch

        def _get_height_nostretch(self, line, **kwargs):
            return measure(self, line, **kwargs) if reads_row_height(line) else _NOTHING_MEASURED

        _get_height_nostretch.measure_always = measure  # ziamath's own, for the tests
        Mrow._get_height_nostretch = _get_height_nostretch
        Mrow._measures_only_for_stretchy = True
    return True


def reads_row_height(elements: list[ET.Element]) -> bool:
    """Whether an operator that may stretch sits among `elements` or anywhere inside them. Each
    operator's form is still unknown here, so every form of it counts."""
    from ziamath import operators
    from ziamath.nodes.nodetools import elementtext

    for element in elements:
        text = elementtext(element)
        if element.tag == "mo" or (element.tag == "mi" and text in operators.names):  # ziamath makes it an mo
            if _may_stretch(element, text):
                return True
        elif reads_row_height(list(element)):
            return True
    return False


def _may_stretch(element: ET.Element, text: str) -> bool:
    from ziamath import operators

    if "stretchy" in element.attrib:  # as in Moperator: the attribute overrides the dictionary
        return element.get("stretchy") != "false"
    forms = [element.get("form")] if "form" in element.attrib else ["prefix", "infix", "postfix"]
    return any(operators.get_params(text, form).get("stretchy", "false") != "false" for form in forms)
