"""§7.3 Dropout against overfitting: a wide network on few noisy points, without and with Dropout."""
from __future__ import annotations

import numpy as np

from experiments.tip_common import final, plot_curves, runs_of, two_panels
from report.model import Context, Figure, Result, Table

TITLE = "使用 Dropout 防止过拟合"
ORDER = (7, 3)
USES = ("summary",)

LABELS = {"plain": "不用 Dropout", "dropout": "使用 Dropout"}


def run(ctx: Context) -> Result:
    runs = runs_of(ctx, "drop")
    fig, (left, right) = two_panels()
    plot_curves(left, runs, "train_accuracy", {k: f"{v}（训练集）" for k, v in LABELS.items()}, "准确率", "准确率")
    plot_curves(left, runs, "test_accuracy", {k: f"{v}（测试集）" for k, v in LABELS.items()}, "准确率", "准确率",
                linestyle="--")
    plot_curves(right, runs, "test_loss", LABELS, "测试集损失", "测试集损失")
    fig.tight_layout()
    metrics, rows = {}, []
    for name, label in LABELS.items():
        r = runs[name]
        gap = final(r, "train_accuracy") - final(r, "test_accuracy")
        best = int(np.argmin(r["test_loss"]))
        metrics |= {f"{name}_train_accuracy": final(r, "train_accuracy"),
                    f"{name}_test_accuracy": final(r, "test_accuracy"), f"{name}_gap": gap,
                    f"{name}_train_loss": final(r, "train_loss"), f"{name}_test_loss": final(r, "test_loss"),
                    f"{name}_best_test_loss": float(r["test_loss"][best]), f"{name}_best_epoch": best + 1}
        rows.append([label, f"{final(r, 'train_accuracy'):.1%}", f"{final(r, 'test_accuracy'):.1%}", f"{gap:.1%}",
                     f"{final(r, 'test_loss'):.3f}"])
    metrics["gap_reduction"] = metrics["plain_gap"] - metrics["dropout_gap"]
    return Result(
        figures=[Figure("dropout", fig, caption="不用与使用 Dropout：准确率（实线训练集、虚线测试集）与测试集损失",
                        alt=f"不用 Dropout 时训练准确率 {metrics['plain_train_accuracy']:.1%}、测试准确率 "
                            f"{metrics['plain_test_accuracy']:.1%}；使用 Dropout 时分别为 "
                            f"{metrics['dropout_train_accuracy']:.1%} 和 {metrics['dropout_test_accuracy']:.1%}")],
        tables=[Table("dropout_gap", ["设置", "训练集准确率", "测试集准确率", "差距", "测试集损失"], rows,
                      caption="训练结束时的训练/测试差距")],
        metrics=metrics,
    )
