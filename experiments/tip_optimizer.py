"""§7.5 Optimisers: plain SGD, SGD with momentum and Adam on §5's network and data."""
from __future__ import annotations

import numpy as np

from experiments.tip_common import final, plot_curves, runs_of, two_panels
from report.model import Context, Figure, Result

TITLE = "使用合适的优化器（Adam、SGD+Momentum）"
ORDER = (7, 5)
USES = ("summary",)

LABELS = {"sgd": "SGD（lr=0.01）", "momentum": "SGD+Momentum（lr=0.01, 0.9）", "adam": "Adam（lr=0.001）"}
TARGET = 0.95  # test accuracy we count epochs to


def run(ctx: Context) -> Result:
    runs = runs_of(ctx, "opt")
    fig, (left, right) = two_panels()
    plot_curves(left, runs, "train_loss", LABELS, "训练损失", "训练损失")
    plot_curves(right, runs, "test_accuracy", LABELS, "测试集准确率", "测试集准确率")
    right.axhline(TARGET, color="gray", linewidth=0.8, linestyle=":")
    fig.tight_layout()
    metrics: dict[str, float | int | str] = {"target": TARGET, "epochs": len(runs["adam"]["train_loss"])}
    for name in LABELS:
        r = runs[name]
        reached = np.flatnonzero(r["test_accuracy"] >= TARGET)
        metrics |= {f"{name}_train_loss": final(r, "train_loss"), f"{name}_test_accuracy": final(r, "test_accuracy"),
                    f"{name}_reach": f"第 {reached[0] + 1} 轮" if len(reached) else "未达到"}
    return Result(
        figures=[Figure("optimizers", fig, caption="同一网络、同一批次顺序下三种优化器的训练损失与测试集准确率",
                        alt=f"测试准确率首次达到 {TARGET:.0%}：普通 SGD {metrics['sgd_reach']}，"
                            f"SGD+Momentum {metrics['momentum_reach']}，Adam {metrics['adam_reach']}")],
        metrics=metrics,
    )
