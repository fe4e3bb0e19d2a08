"""§7.1 ReLU against vanishing gradients: gradients per layer and training, Sigmoid vs ReLU."""
from __future__ import annotations

from experiments.tip_common import final, plot_curves, plot_per_layer, runs_of, two_panels
from report.model import Context, Figure, Result

TITLE = "使用 ReLU 激活函数缓解梯度消失"
ORDER = (7, 1)
USES = ("summary",)

LABELS = {"sigmoid": "Sigmoid", "relu_xavier": "ReLU"}


def run(ctx: Context) -> Result:
    runs = runs_of(ctx, "deep")
    fig, (left, right) = two_panels()
    plot_per_layer(left, runs, "grad_norms", LABELS, "‖∂L/∂W‖（对数坐标）", "训练前各层权重梯度的大小")
    plot_curves(right, runs, "train_loss", LABELS, "训练损失", "训练过程")
    fig.tight_layout()
    s, r = runs["sigmoid"]["grad_norms"], runs["relu_xavier"]["grad_norms"]
    metrics = {
        "n_layers": len(s),
        "sigmoid_grad_first": float(s[0]), "sigmoid_grad_last": float(s[-1]),
        "sigmoid_grad_ratio": float(s[-1] / s[0]),
        "relu_grad_first": float(r[0]), "relu_grad_last": float(r[-1]), "relu_grad_ratio": float(r[-1] / r[0]),
        "sigmoid_train_accuracy": final(runs["sigmoid"], "train_accuracy"),
        "relu_train_accuracy": final(runs["relu_xavier"], "train_accuracy"),
        "sigmoid_train_loss": final(runs["sigmoid"], "train_loss"),
        "relu_train_loss": final(runs["relu_xavier"], "train_loss"),
    }
    return Result(
        figures=[Figure("relu", fig, caption="同一个深层网络，隐藏层用 Sigmoid 与用 ReLU：左为训练前各层梯度，右为训练损失",
                        alt="左图对数坐标下 Sigmoid 网络的梯度从输出层到输入层急剧变小，ReLU 网络各层梯度相近；"
                            "右图 Sigmoid 网络的损失停在 0.69 附近，ReLU 网络的损失下降到接近 0")],
        metrics=metrics,
    )
