"""One term per concept: the built text uses the preferred terms of templates/terms.toml."""
from __future__ import annotations

import pytest

from report.terms import load_terms, prose_of


def test_variants_are_found_in_prose_but_not_in_code():
    terms = load_terms()
    html = ('<p>加入批归一化之后，隐藏单元的输出（sigmoid）更"稳定"。</p>'
            '<div class="highlight"><pre>x = sigmoid(z)  # "单元"</pre></div><p>调用 <code>relu</code>。单元格</p>')
    problems = terms.problems(prose_of(html))
    assert len(problems) == 5, problems  # 批归一化, 单元, sigmoid and two straight quotes
    assert any("批归一化" in p and "批量归一化（BN）" in p for p in problems)
    assert any("'单元'" in p for p in problems) and any("'sigmoid'" in p for p in problems)


def test_formulas_are_not_prose():
    html = '<p>Tanh 的导数是 <math><mi>tanh</mi><mo>′</mo><mspace width="0.2em"/><mi>z</mi></math>，而 tanh 不是。</p>'
    assert prose_of(html) == "Tanh 的导数是 ，而 tanh 不是。"


def test_clean_prose_passes():
    assert load_terms().problems(prose_of("<p>批量归一化（BN）让 Sigmoid 网络的神经元学得动：“可以训练”。</p>")) == []


def test_every_term_is_listed_once():
    zh = [t.zh for t in load_terms().terms]
    assert len(zh) == len(set(zh)) and all(t.en for t in load_terms().terms)


@pytest.mark.slow
def test_the_built_tutorial_uses_the_preferred_terms(quick_site):
    html = (quick_site / "index.html").read_text(encoding="utf-8")
    assert 'id="glossary"' in html and "术语表" in html
    problems = load_terms().problems(prose_of(html))
    assert not problems, f"{len(problems)} terminology problems:\n" + "\n".join(problems)
