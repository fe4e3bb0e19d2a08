"""The lecturer's answers: site/answers.pdf, every section's exercises with their reference answers.

A view of the same gathered results as the handout: the print render of the section templates
(PageRenderer.render_sections(..., for_print=True)) records each section's exercises with their
answers (report/exercises.py), and this writer sets them in one short document with the
handout's stylesheet and fonts. Only the exercises, not the book: one WeasyPrint part, cached
like the handout's parts (report/pdf.py) by its HTML and the formula images it shows.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from markupsafe import Markup

from report.exercises import ExerciseSet
from report.pdf import PartRenderer
from report.typography import typeset

ANSWERS_NAME = "answers.pdf"


def answers_html(renderer, sets: list[ExerciseSet], book, css: str, sections=()) -> str:
    """The document; questions and answers typeset like the handout's chapters (report/typography.py).
    `sections`: the top-level sections, whose titles head the sets (§7's set sits in subsection 7.5)."""
    sets = [replace(s, items=[replace(e, question=Markup(typeset(e.question)), answer=Markup(typeset(e.answer)))
                              for e in s.items]) for s in sets]
    titles = {section.number: section.title for section in sections}
    return renderer.page("answers.html", book=book, css=css, sets=sets, titles=titles)


def write_answers(html: str, parts: PartRenderer, target: Path) -> None:
    from report.pdf_fonts import write_small  # pikepdf: only when a PDF is made

    (part,) = parts.render([html])
    write_small(part.pdf, target)
