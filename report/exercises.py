"""Exercises (练习) at the end of each section, and their answers, as the section templates write them.

A template writes, after its prose::

    {% call exercises() %}
      {% call exercise(computed=True) %}<p>把学习率改成 1.0 ……？</p>{% endcall %}
      {% call answer() %}<p>{% call claim("m.x > 0.5") %}…{{ m.x | pct }}…{% endcall %}</p>{% endcall %}
    {% endcall %}

Every output shows the same questions; what it does with an answer depends on the output:
the site folds it under 「参考答案」, the handout (students) leaves it out, answers.pdf (the
lecturer, report/answers.py) prints it, and a notebook leaves it out and puts an empty code cell
under each question. A computational exercise's answer must quote the run through at least one
claim, so a wrong answer stops a full build like any other false sentence.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from markupsafe import Markup

SITE, PRINT, NOTEBOOK = "site", "print", "notebook"
MIN_EXERCISES, MAX_EXERCISES = 2, 4


class ExerciseError(ValueError):
    pass


@dataclass
class Exercise:
    label: str  # 练习 1.2
    anchor: str  # ex-1-2
    computed: bool  # its answer is computed by the build (and checked by claims)
    question: Markup
    answer: Markup = Markup("")
    claims: int = 0  # claims declared inside the answer


@dataclass
class ExerciseSet:
    """One section's exercises (for §7, its subsections share the set at the end of 7.5)."""
    section: str  # the section whose template holds them (name)
    number: str  # the top-level section's number: 练习 7.1 also in subsection 7.5
    title: str
    top_level: bool  # False: the set of §7 at the end of 7.5, for the whole section
    items: list[Exercise] = field(default_factory=list)


class ExerciseHelpers:
    """exercises(), exercise() and answer() for one render of one section template."""

    def __init__(self, section_name: str, section_number: str, section_title: str, level: int, macros,
                 mode: str, answers_file: str | None = None):
        self.macros, self.mode, self.level, self.answers_file = macros, mode, level, answers_file
        self.set = ExerciseSet(section_name, section_number.split(".")[0], section_title, level == 1)
        self._claims = 0
        self._in_answer = False

    def note_claim(self) -> None:
        """Called by the claim helper: a claim inside an answer counts for that exercise."""
        if self._in_answer:
            self._claims += 1

    def exercises(self, caller) -> Markup:
        body = caller()
        count = len(self.set.items)
        if not MIN_EXERCISES <= count <= MAX_EXERCISES:
            raise ExerciseError(f"{count} exercises: a section has {MIN_EXERCISES}–{MAX_EXERCISES}")
        if not any(e.computed for e in self.set.items):
            raise ExerciseError("no computational exercise (exercise(computed=True)): a section needs one")
        missing = [e.label for e in self.set.items if not e.answer]
        if missing:
            raise ExerciseError(f"{', '.join(missing)} has no answer() after it")
        heading = self.level + 2  # h3 in a section, h4 in a subsection, like the templates' own headings
        if self.mode == NOTEBOOK:
            return Markup(f"<h{heading}>练习</h{heading}>\n") + body
        return Markup(self.macros.exercises(body, heading, self.set.number, self.answers_file
                                            if self.mode == SITE else None))

    def exercise(self, caller, computed: bool = False) -> Markup:
        n = len(self.set.items) + 1
        item = Exercise(f"练习 {self.set.number}.{n}", f"ex-{self.set.number}-{n}", computed, Markup(caller()))
        self.set.items.append(item)
        if self.mode == NOTEBOOK:  # the question is a Markdown cell of its own, an empty code cell follows
            return Markup(f"\ue000exercise:{n}\ue001<p><strong>{item.label}</strong>{'（计算）' if computed else ''}"
                          f"</p>\n{item.question}\ue000exercise_end:{n}\ue001")
        return Markup(self.macros.exercise(item))

    def answer(self, caller) -> Markup:
        if not self.set.items or self.set.items[-1].answer:
            raise ExerciseError("answer() must follow an exercise() that has none yet")
        item = self.set.items[-1]
        self._in_answer, self._claims = True, 0
        try:
            item.answer = Markup(caller())
        finally:
            self._in_answer = False
        item.claims = self._claims
        if self.mode == SITE and item.computed and not item.claims:
            raise ExerciseError(f"{item.label} is computational, but its answer declares no claim: "
                                "state the conclusion with {% call claim(...) %} so the build checks it")
        if self.mode == SITE:
            return Markup(self.macros.answer(item))
        return Markup("")  # the handout and the notebooks carry no answers; answers.pdf reads self.set
