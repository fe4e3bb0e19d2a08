"""Exercises: numbered questions, answers folded on the site, absent from the handout and the
notebooks, printed in answers.pdf; a computational answer is a claim, so a wrong one stops the build."""
from __future__ import annotations

import json
import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from report.claims import ClaimError, check
from report.discover import ROOT, discover
from report.formulas import FormulaRenderer
from report.notebooks import prose_cells
from report.render import PageRenderer, RenderError, build_views
from tests.test_render import two_sections

PLACED = '{{ figure("a") }}{{ figure("b") }}{{ table("t") }}'
COMPUTED = ('{% call exercise(computed=True) %}<p>准确率是多少？</p>{% endcall %}'
            '{% call answer() %}<p>{% call claim("CONDITION") %}准确率为 {{ m.acc | pct }}。{% endcall %}</p>{% endcall %}')
CONCEPT = ('{% call exercise() %}<p>推导 {{ itex(r"\\sigma\'") }}。</p>{% endcall %}'
           '{% call answer() %}<p>推导的答案。</p>{% endcall %}')


def exercises(*items: str) -> str:
    return "{% call exercises() %}" + "".join(items) + "{% endcall %}"


def render(tmp_path: Path, one: str, mode: str = "site"):
    root = tmp_path / "proj"
    (root / "templates" / "sections").mkdir(parents=True, exist_ok=True)
    for name, text in {"one": PLACED + one, "two": '{{ figure("c") }}', "sub": ""}.items():
        (root / "templates" / "sections" / f"{name}.html").write_text(text, encoding="utf-8")
    renderer = PageRenderer(FormulaRenderer(tmp_path / "math"), root)
    renderer.answers_file = "answers.pdf"
    sections = build_views(two_sections())
    if mode == "notebook":
        return renderer, renderer.notebook_sections(sections)["one"], sections[0]
    renderer.render_sections(sections, for_print=mode == "print")
    return renderer, str(sections[0].body), sections[0]


KIND = re.compile(r'class="exercise-kind">\s*计算<')  # typeset: a thin space may separate it from 1.1
GOOD = exercises(COMPUTED.replace("CONDITION", "m.acc > 0.9"), CONCEPT)


class Details(HTMLParser):
    """Every <details>: its attributes and its summary's text."""

    def __init__(self):
        super().__init__()
        self.found, self._summary = [], False

    def handle_starttag(self, tag, attrs):
        if tag == "details":
            self.found.append({"attrs": dict(attrs), "summary": ""})
        self._summary = tag == "summary"

    def handle_data(self, data):
        if self._summary:
            self.found[-1]["summary"] += data

    def handle_endtag(self, tag):
        if tag == "summary":
            self._summary = False


def test_on_the_site_questions_are_numbered_and_each_answer_is_folded_under_its_summary(tmp_path):
    _, html, _ = render(tmp_path, GOOD)
    assert re.findall(r"练习 \d\.\d", html) == ["练习 1.1", "练习 1.2"]
    assert len(KIND.findall(html)) == 1  # only the first is computational
    parser = Details()
    parser.feed(html)
    answers = [d for d in parser.found if d["attrs"].get("class") == "answer"]
    assert len(answers) == 2 and all(d["summary"] == "参考答案" and "open" not in d["attrs"] for d in answers)
    assert "准确率为 97.3%。" in html and "推导的答案。" in html
    assert 'href="answers.pdf"' in html  # the lecturer's PDF, linked from the exercise block


def test_a_computed_answer_is_a_claim_and_a_wrong_one_fails_a_full_build(tmp_path):
    renderer, _, _ = render(tmp_path, exercises(COMPUTED.replace("CONDITION", "m.acc > 0.99"), CONCEPT))
    with pytest.raises(ClaimError, match="准确率为 97.3%。"):
        check(renderer.claims, strict=True)


def test_a_wrong_answer_stops_the_real_pipeline(project):
    """End to end through build(): the site is not written."""
    project.experiment("first", '''
        from report.model import Context, Result
        TITLE = "一"
        ORDER = 1
        def run(ctx: Context) -> Result:
            return Result(metrics={"acc": 0.5})
    ''')
    project.template("first", exercises(COMPUTED.replace("CONDITION", "m.acc > 0.9"), CONCEPT))
    with pytest.raises(ClaimError, match="准确率为 50.0%"):
        project.build()
    assert not (project.root / "site").exists()


def test_the_handout_prints_the_questions_and_keeps_the_answers_for_answers_pdf(tmp_path):
    renderer, html, _ = render(tmp_path, GOOD, mode="print")
    assert "练习 1.1" in html and "准确率是多少？" in html
    assert "参考答案" not in html and "准确率为" not in html and "推导的答案" not in html
    assert "answers.pdf" not in html  # the students' handout does not point to the answers
    [recorded] = renderer.exercise_sets
    assert recorded.number == "1" and [e.label for e in recorded.items] == ["练习 1.1", "练习 1.2"]
    assert "准确率为 97.3%。" in recorded.items[0].answer and "推导的答案。" in recorded.items[1].answer


def test_a_notebook_gets_a_cell_per_question_an_empty_code_cell_under_it_and_no_answers(tmp_path):
    _, prose, section = render(tmp_path, GOOD, mode="notebook")
    cells = prose_cells(prose, section, "result")
    sources = [(c.cell_type, c.source) for c in cells]
    labels = [i for i, (kind, text) in enumerate(sources) if kind == "markdown" and "练习 1." in text]
    assert len(labels) == 2
    for i in labels:
        assert sources[i + 1] == ("code", "") and cells[i + 1].metadata["tags"] == ["exercise"]
    assert "<strong>练习 1.1</strong>（计算）" in sources[labels[0]][1] and "$\\sigma'$" in sources[labels[1]][1]
    assert not any("准确率为" in text or "推导的答案" in text or "参考答案" in text for _, text in sources)


@pytest.mark.parametrize("one, message", [
    (exercises(COMPUTED.replace("CONDITION", "m.acc > 0.9")), "1 exercises: a section has 2–4"),
    (exercises(*[COMPUTED.replace("CONDITION", "m.acc > 0.9")] * 5), "5 exercises"),
    (exercises(CONCEPT, CONCEPT), "no computational exercise"),
    (exercises(COMPUTED.replace('{% call claim("CONDITION") %}', "").replace("{% endcall %}</p>", "</p>", 1), CONCEPT),
     "its answer declares no claim"),
    (exercises('{% call exercise(computed=True) %}<p>问？</p>{% endcall %}', CONCEPT), "练习 1.1 has no answer()"),
    (exercises('{% call answer() %}<p>答。</p>{% endcall %}', CONCEPT), "answer() must follow"),
])
def test_a_malformed_exercise_set_is_an_error_naming_the_template(tmp_path, one, message):
    with pytest.raises(RenderError, match=re.escape(message)) as error:
        render(tmp_path, one)
    assert "templates/sections/one.html" in str(error.value)


def test_every_section_of_the_tutorial_has_one_exercise_set():
    """Each top-level section's templates (its own and its subsections') hold one exercises()
    block; the renderer checks its size (2–4) and that one exercise is computational."""
    tops: dict[str, int] = {}
    for experiment in discover():
        text = (ROOT / "templates" / "sections" / f"{experiment.name}.html").read_text(encoding="utf-8")
        top = str(experiment.order[0])
        tops[top] = tops.get(top, 0) + text.count("{% call exercises() %}")
    assert tops and all(count == 1 for count in tops.values()), tops


def pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


@pytest.mark.slow
def test_the_built_tutorial_folds_answers_prints_them_for_the_lecturer_and_keeps_them_from_students(quick_site):
    html = (quick_site / "index.html").read_text(encoding="utf-8")
    for section in re.findall(r'<section id="(\w+)" class="section level-1">', html):
        block = html.split(f'<section id="{section}" class="section level-1">')[1].split('class="section level-1"')[0]
        count = len(re.findall(r'class="exercise"', block))
        assert 2 <= count <= 4 and KIND.search(block), section
    parser = Details()
    parser.feed(html)
    answers = [d for d in parser.found if d["attrs"].get("class") == "answer"]
    assert answers and all(d["summary"] == "参考答案" and "open" not in d["attrs"] for d in answers)
    assert 'href="answers.pdf"' in html

    handout, lecturer = pdf_text(quick_site / "handout.pdf"), pdf_text(quick_site / "answers.pdf")
    assert "练习 1.1" in handout and "练习 1.1" in lecturer
    for answer_text in ("本次构建运行了这个变体", "参考答案", "两边求导"):
        assert answer_text not in handout and answer_text in lecturer

    for path in sorted((quick_site / "notebooks").glob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        text = "".join("".join(c["source"]) for c in cells)
        empty = [c for c in cells if c["cell_type"] == "code" and "exercise" in c["metadata"].get("tags", [])]
        assert 2 <= len(empty) <= 4 and all(not c["source"] for c in empty), path.name
        assert "参考答案" not in text and "本次构建运行了这个变体" not in text, path.name


def test_answers_pdf_heads_a_subsection_set_with_its_top_level_title(tmp_path):
    """§7's exercises sit at the end of subsection 7.5; answers.pdf heads them 「第 7 节练习：总结」,
    the top-level section's title, not the subsection's and not without a title."""
    from dataclasses import dataclass

    from report.answers import answers_html
    from report.exercises import Exercise, ExerciseSet
    from markupsafe import Markup

    @dataclass
    class Top:
        number: str
        title: str

    item = Exercise("练习 7.1", "ex-7-1", False, Markup("<p>问题</p>"), Markup("<p>答案</p>"))
    sets = [ExerciseSet("tip_optimizer", "7", "优化器", False, [item])]
    renderer = PageRenderer(FormulaRenderer(tmp_path / "math"), ROOT)
    html = answers_html(renderer, sets, type("Book", (), {"title": "书", "date": ""})(), "", [Top("7", "总结")])
    assert "第 7 节练习：总结</h2>" in html and "优化器" not in html
