from report.typography import THIN_SPACE as T
from report.typography import typeset


def test_space_between_han_and_latin_only_where_they_touch():
    assert typeset("使用ReLU激活") == f"使用{T}ReLU{T}激活"
    assert typeset("使用 ReLU 激活") == "使用 ReLU 激活"
    assert typeset("准确率97%很好") == f"准确率{T}97%很好"


def test_across_inline_tags():
    assert typeset('<a href="#f">图 1</a>复现') == f'<a href="#f">图 1</a>{T}复现'
    assert typeset("见<b>Adam</b>") == f"见<b>{T}Adam</b>"


def test_not_across_blocks_or_cells():
    html = "<tr><td>隐藏层</td><td>4 个</td></tr><p>中文</p><p>ABC</p>"
    assert typeset(html) == html


def test_touching_punctuation_is_marked_for_half_width():
    assert typeset("（见第 4 节）。") == '（见第 4 节<span class="pc">）</span>。'
    assert typeset("写作“稳定”，本") == '写作“稳定<span class="pc">”</span>，本'
    assert typeset("一，二。") == "一，二。"


def test_code_attributes_and_preformatted_text_are_untouched():
    html = '<img alt="ReLU函数）。"><code>x是1）。</code><pre>层1激活</pre>'
    assert typeset(html) == html
