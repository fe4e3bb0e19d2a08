"""§7.1 ReLU against vanishing gradients: gradients per layer and training, Sigmoid vs ReLU, over all seeds."""
from __future__ import annotations

import numpy as np

from experiments.tip_common import count, layers_and_training, runs_of, seeds_of, spread
from report.model import Context, Figure, Result

TITLE = "使用 ReLU 激活函数缓解梯度消失"
ORDER = (7, 1)
USES = ("summary",)

LABELS = {"sigmoid": "Sigmoid", "relu_xavier": "ReLU"}
LN2 = float(np.log(2))


def run(ctx: Context) -> Result:
    runs = runs_of(ctx, "deep")
    n = seeds_of(ctx)
    fig = layers_and_training(runs, LABELS, "grad_norms",
                              ("层（1 = 第 1 个隐藏层，最后 = 输出层）", "‖∂L/∂W‖", "训练前各层权重梯度"),
                              ("训练损失", "训练过程"))

    s, r = runs["sigmoid"], runs["relu_xavier"]
    hidden = int(s["grad_norms"].shape[0]) - 1  # rows: hidden layers 1 … hidden, then the output layer
    geo = lambda a: float(np.exp(np.log(a).mean()))  # noqa: E731  geometric mean over seeds
    # as §4: r = ‖∂L/∂W(1)‖ / ‖∂L/∂W(last hidden)‖, output layer excluded; q = r^(1/(hidden − 1))
    ratio_s = s["grad_norms"][0] / s["grad_norms"][hidden - 1]
    ratio_r = r["grad_norms"][0] / r["grad_norms"][hidden - 1]
    metrics = {"n_seeds": n, "n_hidden": hidden, "span_steps": hidden - 1, "ln2": LN2}
    for key, run_ in (("sigmoid", s), ("relu", r)):
        g = run_["grad_norms"]
        metrics |= {f"{key}_grad_first": geo(g[0]), f"{key}_grad_top": geo(g[hidden - 1])}
    metrics |= spread("sigmoid_r", ratio_s) | spread("relu_r", ratio_r)
    metrics["sigmoid_r"], metrics["relu_r"] = geo(ratio_s), geo(ratio_r)
    metrics["relu_over_sigmoid_r"] = metrics["relu_r"] / metrics["sigmoid_r"]
    metrics["sigmoid_q"] = metrics["sigmoid_r"] ** (1 / (hidden - 1))
    metrics["relu_q"] = metrics["relu_r"] ** (1 / (hidden - 1))
    for name, key in (("sigmoid", "sigmoid"), ("relu_xavier", "relu")):
        metrics |= spread(f"{key}_train_loss", runs[name]["train_loss"][-1])
        metrics |= spread(f"{key}_train_accuracy", runs[name]["train_accuracy"][-1])
    # Sigmoid stays at ln 2 (guessing 50 %); ReLU learns. How far did the Sigmoid network's weights move?
    change = s["weight_change"][-1]  # ‖W_t − W_0‖ / ‖W_0‖ after all steps, (layers, seeds)
    metrics |= spread("sigmoid_hidden_change", change[:hidden])
    metrics |= spread("sigmoid_output_change", change[hidden])
    metrics["n_sigmoid_stuck"] = count(np.abs(s["train_loss"][-1] - LN2) < 0.01)
    metrics["n_relu_better"] = count(r["train_accuracy"][-1] > s["train_accuracy"][-1])
    metrics["target"] = float(ctx.inputs["summary"].metrics["target"])
    metrics["n_relu_above_95"] = count(r["train_accuracy"][-1] >= metrics["target"])
    # 练习 7.1: the same ReLU runs, read halfway through training
    steps = int(ctx.inputs["summary"].metrics["deep_steps"])
    every = steps // r["train_accuracy"].shape[0]  # evaluated after every `every` steps
    half = (steps // 2) // every  # the evaluation at (or just before) half the steps
    metrics |= {"ex_half_step": half * every,
                "ex_half_n_reach": count(r["train_accuracy"][half - 1] >= metrics["target"])}
    metrics |= spread("ex_half_train_loss", r["train_loss"][half - 1])
    return Result(
        figures=[Figure("relu", fig,
                        caption=f"同一个深层网络，隐藏层用 Sigmoid 与用 ReLU（{n} 个随机种子）：左为训练前各层权重梯度"
                                "（几何平均，误差线为最小–最大），右为训练损失（中位数，带为最小–最大，带的边线与曲线线型相同）",
                        alt=f"左图对数坐标下 Sigmoid 网络第 1 个隐藏层的梯度只有第 {hidden} 个隐藏层的 "
                            f"{metrics['sigmoid_r']:.0e}，ReLU 网络是 {metrics['relu_r']:.2f}；右图 {n} 个随机种子中 "
                            f"{metrics['n_sigmoid_stuck']} 个 Sigmoid 网络的损失停在 ln 2 附近，ReLU 网络的损失平均降到 "
                            f"{metrics['relu_train_loss_mean']:.2f}")],
        metrics=metrics,
    )
