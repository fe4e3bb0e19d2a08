"""§7.2 批量归一化（BN）: the deep Sigmoid network of 7.1 without and with BN, over all seeds.

Gradients are measured in training mode (BN normalises with the batch's statistics), as in
training. The table follows the signal layer by layer: the spread of z across samples in the
plain network, its mean |z| (is it saturated?), and BN's σ_B.
"""
from __future__ import annotations

import numpy as np

from experiments.tip_common import count, layers_and_training, listings_of, runs_of, seeds_of, spread
from report.model import Context, Figure, Result, Table

TITLE = "使用批量归一化（BN）稳定训练"
ORDER = (7, 2)
USES = ("summary",)

LABELS = {"sigmoid": "不加 BN", "sigmoid_bn": "每层加 BN"}


def run(ctx: Context) -> Result:
    runs = runs_of(ctx, "deep")
    n = seeds_of(ctx)
    plain, bn = runs["sigmoid"], runs["sigmoid_bn"]
    fig = layers_and_training(runs, LABELS, "grad_norms", ("层（最后 = 输出层）", "‖∂L/∂W‖", "训练前各层梯度（训练模式）"),
                              ("训练损失（训练模式）", "训练过程"))

    S = ctx.inputs["summary"].metrics
    geo = lambda a, axis=None: np.exp(np.log(a).mean(axis=axis))  # noqa: E731  geometric mean over seeds
    hidden = int(plain["z_std"].shape[0])
    metrics: dict[str, float | int] = {"n_seeds": n, "n_hidden": hidden, "span_steps": hidden - 1}
    metrics |= spread("plain_grad_first", plain["grad_norms"][0]) | spread("bn_grad_first", bn["grad_norms"][0])
    metrics["plain_grad_first_geo"] = float(geo(plain["grad_norms"][0]))
    metrics["bn_grad_first_geo"] = float(geo(bn["grad_norms"][0]))
    metrics |= spread("bn_grad_factor", bn["grad_norms"][0] / plain["grad_norms"][0])
    metrics |= spread("bn_grad_any_layer", bn["grad_norms"])  # every layer, every seed
    metrics["n_bn_grad_larger"] = count(bn["grad_norms"][0] > 1000 * plain["grad_norms"][0])
    # does BN's gradient still shrink toward the input? layer 1 against the last hidden layer, per seed
    metrics["n_bn_first_ge_last"] = count(bn["grad_norms"][0] >= bn["grad_norms"][hidden - 1])
    # the plain network: spread of z across samples shrinks layer by layer; |z| stays small
    shrink = plain["z_std"][:-1] / plain["z_std"][1:]  # (layers - 1, seeds)
    metrics |= spread("shrink", shrink) | spread("z_abs", plain["z_abs"]) | spread("sigma_b", bn["z_std"])
    metrics |= spread("z_std_first", plain["z_std"][0]) | spread("z_std_last", plain["z_std"][-1])
    metrics |= spread("inverse_sigma_b", 1 / bn["z_std"])
    metrics |= spread("sigma_b_end", bn["z_std_end"])  # σ_B after training
    # error terms δ = ∂L/∂z, per hidden layer (as §4): geometric means over seeds
    for key, r in (("plain", plain), ("bn", bn)):
        d = geo(r["delta_norms"], axis=1)
        metrics[f"{key}_delta_first"], metrics[f"{key}_delta_top"] = float(d[0]), float(d[-1])
        metrics[f"{key}_delta_total"] = float(d[0] / d[-1])
        metrics[f"{key}_delta_q"] = float(d[0] / d[-1]) ** (1 / (hidden - 1))
        g = geo(r["grad_norms"], axis=1)
        metrics[f"{key}_grad_top"] = float(g[hidden - 1])
        metrics[f"{key}_r"] = float(g[0] / g[hidden - 1])
    metrics["plain_delta_shrink"] = 1 / metrics["plain_delta_q"]
    metrics["plain_grad_second"] = float(geo(plain["grad_norms"][1]))
    metrics["plain_jump"] = metrics["plain_grad_second"] / metrics["plain_grad_first_geo"]
    centred = geo(plain["centred_norms"], axis=1)  # (hidden,)
    metrics["plain_centred_lo"], metrics["plain_centred_hi"] = float(centred.min()), float(centred.max())
    # training
    metrics |= spread("plain_train_loss", plain["train_loss"][-1]) | spread("bn_train_loss", bn["train_loss"][-1])
    metrics |= spread("plain_train_accuracy", plain["train_accuracy"][-1])
    metrics |= spread("bn_train_accuracy", bn["train_accuracy"][-1])
    metrics |= spread("bn_test_accuracy", bn["test_accuracy"][-1])
    target, chance = float(S["target"]), float(S["chance"])
    metrics |= {"target": target, "chance": chance, "bn_epsilon": float(S["bn_epsilon"]),
                "keras_momentum": float(S["bn_keras_momentum"])}
    metrics["n_bn_learns"] = count(bn["train_accuracy"][-1] >= target)
    metrics["n_plain_chance"] = count(plain["train_accuracy"][-1] <= chance)
    # BN's two modes at the end of training, on the training set
    metrics |= spread("mode_training", bn["training_mode_accuracy"][0])
    metrics |= spread("mode_inference_0", bn["inference_mode_accuracy_0"][0])
    keras = f"inference_mode_accuracy_{metrics['keras_momentum']:g}"
    metrics |= spread("mode_inference_99", bn[keras][0])
    metrics["ema_left"] = metrics["keras_momentum"] ** int(S["deep_steps"])  # initial values' weight
    metrics["n_keras_default_chance"] = count(bn[keras][0] <= chance)

    sci = lambda v: f"{v:.1e}".replace("-", "\u2212")  # noqa: E731
    rows = []
    for i in range(hidden):
        rows.append([f"{i + 1}", sci(geo(plain['z_std'][i])), f"{plain['z_abs'][i].mean():.2f}",
                     sci(geo(plain['delta_norms'][i])), sci(geo(plain['grad_norms'][i])),
                     sci(geo(plain['centred_norms'][i])), f"{bn['z_std'][i].mean():.2f}",
                     f"{bn['z_std_end'][i].mean():.2f}", f"{geo(bn['delta_norms'][i]):.3f}",
                     f"{geo(bn['grad_norms'][i]):.2f}"])
    table = Table("bn_layers", ["隐藏层", "不加 BN：z 在样本间的标准差", "不加 BN：平均 |z|", "不加 BN：‖δ‖",
                                "不加 BN：‖∂L/∂W‖", "不加 BN：‖(a − ā)ᵀδ‖", "加 BN：σ_B（训练前）",
                                "加 BN：σ_B（训练后）", "加 BN：‖δ‖", "加 BN：‖∂L/∂W‖"], rows,
                  caption=f"逐层测量（训练模式，{n} 个随机种子；除“训练后”一列外都在训练前测量；δ = ∂L/∂z；"
                          "标准差、范数取几何平均，|z| 与 σ_B 取算术平均；BN 的移动平均动量为 0，见“推理模式的陷阱”）")
    return Result(
        figures=[Figure("batchnorm", fig,
                        caption=f"深层 Sigmoid 网络不加与加 BN（{n} 个随机种子）：左为训练前各层权重梯度（训练模式，"
                                "几何平均，误差线为最小–最大），右为训练损失（中位数，带为最小–最大，带的边线与曲线线型相同）",
                        alt=f"左图不加 BN 时第 1 个隐藏层的梯度约 {metrics['plain_grad_first_geo']:.0e}，加 BN 后约 "
                            f"{metrics['bn_grad_first_geo']:.2f}；右图不加 BN 的损失停在 "
                            f"{metrics['plain_train_loss_mean']:.2f}，加 BN 的平均降到 {metrics['bn_train_loss_mean']:.2f}")],
        tables=[table],
        metrics=metrics,
        listings=listings_of(ctx, "batch_norm", "bn_backward"),
    )
