"""The notebooks' display helpers: without a CJK font, figures are shown with English labels."""
from __future__ import annotations

import importlib

import matplotlib
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from report.lesson_helpers import CJK, english, english_labels  # noqa: E402


@pytest.mark.parametrize("chinese, expected", [
    ("训练损失（二元交叉熵）", "training loss (binary cross-entropy)"),
    ("Adam，N(0, 0.01²)，8 个随机种子", "Adam, N(0, 0.01²), 8 seeds"),
    ("各层权重（随机种子 47）", "weights of each layer (seed 47)"),
    ("第 6 个隐藏层", "hidden layer 6"),
    ("ReLU，16 个，He", "ReLU, 16 units, He"),
    ("层（1 = 第 1 个隐藏层，最后 = 输出层）", "layer (1 = first hidden layer, last = output layer)"),
    ("$\\Vert\\partial L / \\partial W^{(l)}\\Vert$（对数坐标）", "$\\Vert\\partial L / \\partial W^{(l)}\\Vert$ (log scale)"),
])
def test_labels_translate_phrase_by_phrase_keeping_numbers_and_formulas(chinese, expected):
    assert english(chinese) == expected


def test_every_text_of_a_figure_is_replaced():
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0], label="训练集")
    ax.set(title="训练过程", xlabel="训练步", ylabel="准确率")
    ax.legend()
    fig.suptitle("学习率扫描")
    english_labels(fig)
    texts = [t.get_text() for t in fig.findobj(Text) if t.get_text()]
    assert not any(CJK.search(t) for t in texts)
    assert {"training", "training step", "accuracy", "training set", "learning-rate sweep"} <= set(texts)
    plt.close(fig)


@pytest.mark.slow
def test_every_figure_of_the_tutorial_translates_completely(cjk_figures):
    """Every experiment run as `--quick` runs it, every text in every figure: no Chinese left."""
    from report.discover import discover
    from report.model import Context

    results, untranslated = {}, set()
    for experiment in discover():  # dependencies come first in reading order
        module = importlib.import_module(f"experiments.{experiment.name}")
        inputs = {name: results[name] for name in experiment.uses}
        results[experiment.name] = module.run(Context(seed=42, quick=True, inputs=inputs))
        for figure in results[experiment.name].figures:
            untranslated |= {t.get_text() for t in figure.figure.findobj(Text) if CJK.search(english(t.get_text()))}
        plt.close("all")
    assert not untranslated
