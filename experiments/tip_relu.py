"""§7.1 ReLU against vanishing gradients: gradients per layer and training, Sigmoid vs ReLU, over all seeds."""
from __future__ import annotations

import numpy as np

from experiments.tip_common import band, count, figure, legend, per_layer, runs_of, seeds_of, spread, style_axes
from report.model import Context, Figure, Result

TITLE = "使用 ReLU 激活函数缓解梯度消失"
ORDER = (7, 1)
USES = ("summary",)

LABELS = {"sigmoid": "Sigmoid", "relu_xavier": "ReLU"}
LN2 = float(np.log(2))


def run(ctx: Context) -> Result:
    runs = runs_of(ctx, "deep")
    n = seeds_of(ctx)
    fig, (left, right) = figure()
    for k, (name, label) in enumerate(LABELS.items()):
        per_layer(left, runs[name]["grad_norms"], label, k)
        loss = runs[name]["step_loss"]
        band(right, np.arange(1, len(loss) + 1), loss, label, k)
    style_axes(left, "层（1 = 第 1 个隐藏层，最后 = 输出层）", "‖∂L/∂W‖", "训练前各层权重梯度", log=True)
    style_axes(right, "训练步", "训练损失", "训练过程")
    legend(left)
    legend(right)
    fig.tight_layout()

    s, r = runs["sigmoid"], runs["relu_xavier"]
    ratio_s = s["grad_norms"][-1] / s["grad_norms"][0]  # output layer over first layer, per seed
    ratio_r = r["grad_norms"][-1] / r["grad_norms"][0]
    metrics = {"n_seeds": n, "n_layers": int(s["grad_norms"].shape[0]), "ln2": LN2}
    metrics |= spread("sigmoid_grad_first", s["grad_norms"][0]) | spread("sigmoid_grad_last", s["grad_norms"][-1])
    metrics |= spread("sigmoid_grad_ratio", ratio_s) | spread("relu_grad_ratio", ratio_r)
    metrics |= spread("relu_grad_first", r["grad_norms"][0])
    for name, key in (("sigmoid", "sigmoid"), ("relu_xavier", "relu")):
        metrics |= spread(f"{key}_train_loss", runs[name]["train_loss"][-1])
        metrics |= spread(f"{key}_train_accuracy", runs[name]["train_accuracy"][-1])
    # Sigmoid stays at ln 2 (guessing 50 %); ReLU learns
    change = np.abs(s["track"][-1, 0] / s["kernel_rms"][0] - 1)  # first layer, after all steps
    metrics |= spread("sigmoid_first_change", change)
    metrics["n_sigmoid_stuck"] = count(np.abs(s["train_loss"][-1] - LN2) < 0.01)
    metrics["n_relu_better"] = count(r["train_accuracy"][-1] > s["train_accuracy"][-1])
    metrics["n_relu_above_95"] = count(r["train_accuracy"][-1] >= 0.95)
    return Result(
        figures=[Figure("relu", fig,
                        caption=f"同一个深层网络，隐藏层用 Sigmoid 与用 ReLU（{n} 个随机种子）：左为训练前各层权重梯度"
                                "（几何平均，误差线为最小–最大），右为训练损失（中位数，灰带为最小–最大）",
                        alt=f"左图对数坐标下 Sigmoid 网络的梯度从输出层到第 1 层缩小约 "
                            f"{metrics['sigmoid_grad_ratio_mean']:.0e} 倍，ReLU 网络各层梯度相近；右图 Sigmoid 网络的"
                            f"损失停在 ln 2 附近，ReLU 网络的损失下降")],
        metrics=metrics,
    )
