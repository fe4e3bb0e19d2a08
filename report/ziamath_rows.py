"""ziamath lays out each row of a formula twice, once only to measure how tall its stretchy
operators (\\left( … \\right), tall bars) must grow. The measuring pass lays out nested rows
twice again, so a row five levels deep is laid out 2⁵ times: ~70 % of the handout's
formula typesetting. A row's measurement is read only by the stretchy <mo> inside it (nested
rows take their own), so for a row without one we skip it; every SVG stays byte-identical
(tests/test_ziamath_rows.py compares all the templates' formulas and hard cases).

Checked against ziamath 0.13 (Mrow._get_height_nostretch); other versions are left as they are.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET

CHECKED_VERSION = "0.13"
# Elements ziamath lays out as a row of their own (Mnode.fromelement turns the others into mrow):
# a row measures for its own stretchy operators, so the search stops there.
_ROWS = {"mrow", "math", "mtd", "mtr", "none"}
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
    """Whether an operator that may stretch sits among `elements` or inside them, short of a row
    of its own. Each operator's form is still unknown here, so every form of it counts."""
    from ziamath import operators
    from ziamath.nodes.nodetools import elementtext

    for element in elements:
        text = elementtext(element)
        if element.tag == "mo" or (element.tag == "mi" and text in operators.names):  # ziamath makes it an mo
            if _may_stretch(element, text):
                return True
        elif element.tag not in _ROWS and reads_row_height(list(element)):
            return True
    return False


def _may_stretch(element: ET.Element, text: str) -> bool:
    from ziamath import operators

    if "stretchy" in element.attrib:  # as in Moperator: the attribute overrides the dictionary
        return element.get("stretchy") != "false"
    forms = [element.get("form")] if "form" in element.attrib else ["prefix", "infix", "postfix"]
    return any(operators.get_params(text, form).get("stretchy", "false") != "false" for form in forms)
