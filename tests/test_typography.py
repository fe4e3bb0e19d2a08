from report.typography import THIN_SPACE as T
from report.typography import autospace


def test_space_between_han_and_latin_only_where_they_touch():
    assert autospace("使用ReLU激活") == f"使用{T}ReLU{T}激活"
    assert autospace("使用 ReLU 激活") == "使用 ReLU 激活"
    assert autospace("准确率97%，很好") == f"准确率{T}97%，很好"


def test_across_inline_tags():
    assert autospace('<a href="#f">图 1</a>复现') == f'<a href="#f">图 1</a>{T}复现'
    assert autospace("见<b>Adam</b>") == f"见<b>{T}Adam</b>"


def test_code_attributes_and_preformatted_text_are_untouched():
    html = '<img alt="ReLU函数"><code>x是1</code><pre>层1激活</pre>'
    assert autospace(html) == html


def test_not_across_blocks_or_cells():
    html = "<tr><td>隐藏层</td><td>4 个</td></tr><p>中文</p><p>ABC</p>"
    assert autospace(html) == html
