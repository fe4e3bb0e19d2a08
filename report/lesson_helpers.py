"""显示结果的几个小函数：notebook 在讲到某张图、某张表的地方调用它们。

report/notebooks.py 把本文件的源码原样抄进每个 notebook 的 lesson.py（跟在 report/model.py 的
Result 等类型之后），所以这里只能用标准库和 IPython，不能导入 report。
"""
from __future__ import annotations

import html
import json
import os
import re

# 没有中文字体时（notebook 的准备单元格设置 LESSON_LABELS=en），图中的文字换成英文：
# 按顺序替换（先长后短；re.compile 的是带数字的模式，数字原样保留），最后把全角标点换成半角。
# tests/test_lesson_helpers.py 检查本教程所有图中的文字都能完全换成英文。
ENGLISH = [
    ("ln 2：对每个样本都输出 0.5 时的损失", "ln 2: loss of answering 0.5 for every sample"),
    ("圆内：激活值 a", "in the circles: activation a"), ("圆下方：误差项", "below: error term"),
    ("实线 / 虚线：正 / 负权重，线宽 ∝ |W|", "solid / dashed: positive / negative weight, width ∝ |W|"),
    ("层（1 = 第 1 个隐藏层，最后 = 输出层）", "layer (1 = first hidden layer, last = output layer)"),
    ("层（最后 = 输出层）", "layer (last = output layer)"), ("权重层（1 = 最靠近输入）", "weight layer (1 = nearest the input)"),
    ("训练步数（全批量，一步 = 一轮）", "training steps (full batch: one step = one epoch)"),
    ("训练与测试准确率之差（个百分点）", "train − test accuracy (percentage points)"),
    ("网络输出（预测为 1 的概率）", "network output (probability of 1)"),
    ("已解决 XOR 的种子（%）", "seeds that solved XOR (%)"), ("损失（所有种子的平均）", "loss (mean over seeds)"),
    (re.compile(r"(\d+) 个随机种子"), r"\1 seeds"), (re.compile(r"随机种子 (\d+)"), r"seed \1"),
    (re.compile(r"第 (\d+) 个隐藏层"), r"hidden layer \1"), (re.compile(r"(\d+) 个([，（]|$)"), r"\1 units\2"),
    ("默认学习率下的训练损失", "training loss at the default learning rate"),
    ("训练前各隐藏层的信号", "signal of each hidden layer before training"),
    ("训练前各层权重梯度", "weight gradients before training"), ("训练前各层梯度", "gradients before training"),
    ("输出在样本间的标准差", "std of the output across samples"), ("预测为类别 1 的概率", "probability of class 1"),
    ("最好的情况", " best case"), ("连乘的层数", "layers multiplied"), ("连乘", " multiplied"),
    ("对数坐标", "log scale"), ("梯度值", "gradient"), ("权重的均方根", "RMS of the weights"),
    ("二元交叉熵损失", "binary cross-entropy loss"), ("二元交叉熵", "binary cross-entropy"),
    ("训练模式", "training mode"), ("训练结束", "end of training"),
    ("验证损失最低", "lowest validation loss"), ("验证集损失", "validation loss"), ("验证集", "validation set"),
    ("训练/测试差距", "train/test gap"), ("训练损失", "training loss"), ("训练过程", "training"),
    ("训练步数", "training steps"), ("训练步", "training step"), ("训练集", "training set"), ("训练", " training"),
    ("学习率扫描", "learning-rate sweep"), ("学习率", "learning rate"), ("隐藏层激活函数", "hidden activation"),
    ("各层权重", "weights of each layer"), ("初始权重", "initial weights"), ("初始化", " initialisation"),
    ("不加 BN", "no BN"), ("每层加 BN", "BN in every layer"), ("不用 Dropout", "no Dropout"), ("使用 Dropout", "Dropout"),
    ("内圈样本", "inner-ring samples"), ("外圈样本", "outer-ring samples"), ("内圈", "inner ring"), ("外圈", "outer ring"),
    ("真实类别", "true class"), ("类别", "class "), ("目标", "target"), ("损失", "loss"), ("准确率", "accuracy"),
    ("笔记本", "notebook"), ("的导数", " derivative"), ("样本", "sample"), ("输入层", "input layer"),
    ("输出层", "output layer"), ("隐藏层", "hidden layer"), ("轮", "epoch"),
    ("（", " ("), ("）", ")"), ("，", ", "), ("：", ": "), ("　", "; "),
]
CJK = re.compile("[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")


def english(text: str) -> str:
    """图中一段文字的英文（没有中文字体时用）；表中没有的中文保持原样（测试会发现它）。"""
    for chinese, english_text in ENGLISH:
        text = chinese.sub(english_text, text) if isinstance(chinese, re.Pattern) else text.replace(chinese, english_text)
    return re.sub(r"(?<=\S)  +(?=\S)", " ", text).replace("( ", "(").strip()


def english_labels(figure) -> None:
    """把一幅图里所有文字（标题、坐标轴、刻度、图例、注释）换成英文。"""
    from matplotlib.text import Text

    for item in figure.findobj(Text):
        if CJK.search(item.get_text()):
            item.set_text(english(item.get_text()))


def _item(items, name: str, kind: str):
    for item in items:
        if item.name == name:
            return item
    raise KeyError(f"结果里没有名为 {name!r} 的{kind}（有：{', '.join(i.name for i in items)}）")


def show_figure(result, name: str, label: str = "") -> None:
    """显示结果中的一张图，图下是编号（如“图 3”）和说明；说明里的数字来自这次运行。"""
    from IPython.display import HTML, display

    figure = _item(result.figures, name, "图")
    if os.environ.get("LESSON_LABELS") == "en":  # 没有中文字体：见 notebook 的准备单元格
        english_labels(figure.figure)
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
