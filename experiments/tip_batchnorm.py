"""§7.2 Batch Normalization: the deep Sigmoid network of 7.1, without and with BN layers."""
from __future__ import annotations

from experiments.tip_common import final, plot_curves, runs_of, two_panels
from report.model import Context, Figure, Result

TITLE = "使用 Batch Normalization 稳定训练"
ORDER = (7, 2)
USES = ("summary",)

LABELS = {"sigmoid": "不加 BN", "sigmoid_bn": "每层加 BN"}


def run(ctx: Context) -> Result:
    runs = runs_of(ctx, "deep")
    fig, (left, right) = two_panels()
    plot_curves(left, runs, "train_loss", LABELS, "训练损失", "训练损失")
    plot_curves(right, runs, "test_accuracy", LABELS, "测试集准确率", "测试集准确率（推理模式）")
    fig.tight_layout()
    plain, bn = runs["sigmoid"], runs["sigmoid_bn"]
    metrics = {
        "plain_train_loss": final(plain, "train_loss"), "bn_train_loss": final(bn, "train_loss"),
        "plain_test_accuracy": final(plain, "test_accuracy"), "bn_test_accuracy": final(bn, "test_accuracy"),
        "plain_train_accuracy": final(plain, "train_accuracy"), "bn_train_accuracy": final(bn, "train_accuracy"),
        "bn_best_test_accuracy": float(bn["test_accuracy"].max()),
        "bn_grad_first": float(bn["grad_norms"][0]), "plain_grad_first": float(plain["grad_norms"][0]),
    }
    return Result(
        figures=[Figure("batchnorm", fig, caption="深层 Sigmoid 网络不加与加 Batch Normalization 的训练曲线",
                        alt=f"左图不加 BN 的训练损失最终为 {metrics['plain_train_loss']:.3f}，加 BN 的降到 "
                            f"{metrics['bn_train_loss']:.3f}；右图测试准确率：不加 {metrics['plain_test_accuracy']:.1%}，"
                            f"加 BN {metrics['bn_test_accuracy']:.1%}")],
        metrics=metrics,
    )
