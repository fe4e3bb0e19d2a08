"""显示结果的几个小函数：notebook 在讲到某张图、某张表的地方调用它们。

report/notebooks.py 把本文件的源码原样抄进每个 notebook 的 lesson.py（跟在 report/model.py 的
Result 等类型之后），所以这里只能用标准库和 IPython，不能导入 report。
"""
from __future__ import annotations

import html
import json


def _item(items, name: str, kind: str):
    for item in items:
        if item.name == name:
            return item
    raise KeyError(f"结果里没有名为 {name!r} 的{kind}（有：{', '.join(i.name for i in items)}）")


def show_figure(result, name: str, label: str = "") -> None:
    """显示结果中的一张图，图下是编号（如“图 3”）和说明；说明里的数字来自这次运行。"""
    from IPython.display import HTML, display

    figure = _item(result.figures, name, "图")
    display(figure.figure)
    display(HTML(f"<p><strong>{html.escape(label)}</strong> {html.escape(figure.caption)}</p>"))


def show_table(result, name: str, label: str = "") -> None:
    """把结果中的一张表显示成 HTML 表格，表上是编号（如“表 2”）和说明。"""
    from IPython.display import HTML, display

    table = _item(result.tables, name, "表")
    head = "".join(f"<th>{html.escape(h)}</th>" for h in table.header)
    rows = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in table.rows)
    display(HTML(f"<p><strong>{html.escape(label)}</strong> {html.escape(table.caption)}</p>"
                 f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"))


def show_log(result, name: str) -> None:
    """打印实验记下的运行输出（例如训练过程中每隔几步的损失）。"""
    print(result.logs[name])


def show_metrics(results: dict) -> None:
    """以 JSON 打印各小节的全部数字（网页引用的数字都在其中）：名称按字母排序。"""
    print(json.dumps({section: result.metrics for section, result in results.items()},
                     ensure_ascii=False, indent=1, sort_keys=True))
