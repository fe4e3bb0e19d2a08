"""Claims: a sentence's condition on metrics is checked; a false one stops a full build."""
from __future__ import annotations

import pytest

from report.claims import ClaimError, check
from report.render import PageRenderer, RenderError, build_views
from report.formulas import FormulaRenderer
from tests.test_render import two_sections


def claims_of(tmp_path, template: str):
    root = tmp_path / "proj"
    (root / "templates" / "sections").mkdir(parents=True)
    texts = {"one": '{{ figure("a") }}{{ figure("b") }}{{ table("t") }}' + template, "two": '{{ figure("c") }}',
             "sub": ""}
    for name, text in texts.items():
        (root / "templates" / "sections" / f"{name}.html").write_text(text, encoding="utf-8")
    renderer = PageRenderer(FormulaRenderer(tmp_path / "math"), root)
    sections = build_views(two_sections())
    renderer.render_sections(sections)
    return renderer.claims, str(sections[0].body)


def test_a_claim_renders_its_sentence_unchanged_and_records_that_it_holds(tmp_path):
    claims, html = claims_of(tmp_path, '{% call claim("m.acc > 0.9") %}准确率超过 <em>90%</em>。{% endcall %}')
    assert "准确率超过 <em>90%</em>。" in html
    [claim] = claims
    assert claim.holds and claim.sentence == "准确率超过 90%。" and claim.values == (("m.acc", 0.9734),)
    assert check(claims, strict=True) == []


def test_a_false_claim_names_section_sentence_and_numbers(tmp_path):
    claims, _ = claims_of(tmp_path, '{% call claim("m.acc > 0.99") %}几乎全对。{% endcall %}')
    with pytest.raises(ClaimError) as error:
        check(claims, strict=True)
    assert "§1 one" in str(error.value) and "几乎全对。" in str(error.value)
    assert "m.acc > 0.99" in str(error.value) and "m.acc = 0.9734" in str(error.value)
    assert check(claims, strict=False) == [claims[0].describe()]  # quick build: a warning


def test_a_formula_in_the_sentence_is_named_by_its_text(tmp_path):
    claims, _ = claims_of(tmp_path, '{% call claim("m.acc > 0.5") %}停在 {{ itex(r"\\ln 2") }} 附近。{% endcall %}')
    assert claims[0].sentence == "停在 ln 2 附近。"


def test_a_condition_may_quote_another_sections_metrics(tmp_path):
    claims, _ = claims_of(tmp_path, '{% call claim("sections.one.m.acc >= m.acc") %}相同。{% endcall %}')
    assert claims[0].holds and [name for name, _ in claims[0].values] == ["sections.one.m.acc", "m.acc"]


@pytest.mark.parametrize("condition, message", [("m.nope > 1", "'nope' is not defined"),
                                                ("m.acc >", "not an expression"),
                                                ("m.acc * 2", "not true or false")])
def test_a_broken_condition_is_a_render_error_with_the_template(tmp_path, condition, message):
    with pytest.raises(RenderError, match=message) as error:
        claims_of(tmp_path, '{% call claim("' + condition + '") %}句子。{% endcall %}')
    assert "templates/sections/one.html" in str(error.value)


def test_a_false_claim_stops_a_full_build_and_keeps_the_site(project):
    project.simple("alpha", 1)
    project.build()
    page = (project.root / "site" / "index.html").read_text(encoding="utf-8")
    project.template("alpha", '<p>{% call claim("m.value > 1") %}数值大于一。{% endcall %}</p>\n')
    with pytest.raises(ClaimError, match="数值大于一。.*m.value = 1"):
        project.build()
    assert (project.root / "site" / "index.html").read_text(encoding="utf-8") == page
    report = project.build(quick=True)  # a quick build warns instead
    assert len(report.failing_claims) == 1 and "数值大于一。" in report.failing_claims[0]


def test_the_cli_names_the_false_claim_and_exits_1(cli_project):
    import subprocess
    import sys

    cli_project.simple("alpha", 1)
    cli_project.template("alpha", '<p>{% call claim("m.value > 1") %}数值大于一。{% endcall %}</p>\n')
    result = subprocess.run([sys.executable, "build.py", "--no-pdf"], cwd=cli_project.root,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 1
    assert "§1 alpha" in result.stderr and "数值大于一。" in result.stderr and "m.value = 1" in result.stderr
    result = subprocess.run([sys.executable, "build.py", "--no-pdf", "--quick"], cwd=cli_project.root,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and "warning (quick build)" in result.stderr
