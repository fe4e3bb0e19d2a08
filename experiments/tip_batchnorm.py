"""§7.2 批量归一化（BN）: the deep Sigmoid network of 7.1 without and with BN, over all seeds.

Gradients are measured in training mode (BN normalises with the batch's statistics), as in
training. The table follows the signal layer by layer: the spread of z across samples in the
plain network, its mean |z| (is it saturated?), and BN's σ_B.
"""
from __future__ import annotations

import numpy as np

from experiments.tip_common import listings_of, band, count, figure, legend, per_layer, runs_of, seeds_of, spread, style_axes
from report.model import Context, Figure, Result, Table

TITLE = "使用批量归一化（BN）稳定训练"
ORDER = (7, 2)
USES = ("summary",)

LABELS = {"sigmoid": "不加 BN", "sigmoid_bn": "每层加 BN"}


def run(ctx: Context) -> Result:
    runs = runs_of(ctx, "deep")
    n = seeds_of(ctx)
    plain, bn = runs["sigmoid"], runs["sigmoid_bn"]
    fig, (left, right) = figure()
    for k, (name, label) in enumerate(LABELS.items()):
        per_layer(left, runs[name]["grad_norms"], label, k)
        loss = runs[name]["step_loss"]
        band(right, np.arange(1, len(loss) + 1), loss, label, k)
    style_axes(left, "层（最后 = 输出层）", "‖∂L/∂W‖", "训练前各层梯度（训练模式）", log=True)
    style_axes(right, "训练步", "训练损失（训练模式）", "训练过程")
    legend(left)
    legend(right)
    fig.tight_layout()

    metrics: dict[str, float | int] = {"n_seeds": n, "n_hidden": int(plain["z_std"].shape[0])}
    metrics |= spread("plain_grad_first", plain["grad_norms"][0]) | spread("bn_grad_first", bn["grad_norms"][0])
    metrics |= spread("bn_grad_factor", bn["grad_norms"][0] / plain["grad_norms"][0])
    metrics |= spread("bn_grad_any_layer", bn["grad_norms"])  # every layer, every seed
    metrics["n_bn_grad_larger"] = count(bn["grad_norms"][0] > 1000 * plain["grad_norms"][0])
    # the plain network: spread of z across samples shrinks layer by layer; |z| stays small
    shrink = plain["z_std"][:-1] / plain["z_std"][1:]  # (layers - 1, seeds)
    metrics |= spread("shrink", shrink) | spread("z_abs", plain["z_abs"]) | spread("sigma_b", bn["z_std"])
    metrics |= spread("z_std_first", plain["z_std"][0]) | spread("z_std_last", plain["z_std"][-1])
    metrics |= spread("inverse_sigma_b", 1 / bn["z_std"])
    # training
    metrics |= spread("plain_train_loss", plain["train_loss"][-1]) | spread("bn_train_loss", bn["train_loss"][-1])
    metrics |= spread("plain_train_accuracy", plain["train_accuracy"][-1])
    metrics |= spread("bn_train_accuracy", bn["train_accuracy"][-1])
    metrics |= spread("bn_test_accuracy", bn["test_accuracy"][-1])
    metrics["n_bn_learns"] = count(bn["train_accuracy"][-1] >= 0.95)
    metrics["n_plain_chance"] = count(plain["train_accuracy"][-1] <= 0.55)
    # BN's two modes at the end of training, on the training set
    metrics |= spread("mode_training", bn["training_mode_accuracy"][0])
    metrics |= spread("mode_inference_0", bn["inference_mode_accuracy_0"][0])
    metrics |= spread("mode_inference_99", bn["inference_mode_accuracy_0.99"][0])
    metrics["ema_left"] = 0.99 ** int(ctx.inputs["summary"].metrics["deep_steps"])  # initial values' weight
    metrics["n_keras_default_chance"] = count(bn["inference_mode_accuracy_0.99"][0] <= 0.55)

    geo = lambda a: np.exp(np.log(a).mean(axis=1))  # noqa: E731  geometric mean over seeds
    rows = []
    for i in range(metrics["n_hidden"]):
        rows.append([f"{i + 1}", f"{geo(plain['z_std'])[i]:.1e}", f"{plain['z_abs'].mean(axis=1)[i]:.2f}",
                     f"{geo(plain['grad_norms'])[i]:.1e}", f"{bn['z_std'].mean(axis=1)[i]:.2f}",
                     f"{geo(bn['grad_norms'])[i]:.2f}"])
    table = Table("bn_layers", ["隐藏层", "不加 BN：z 在样本间的标准差", "不加 BN：平均 |z|", "不加 BN：‖∂L/∂W‖",
                                "加 BN：σ_B", "加 BN：‖∂L/∂W‖"], rows,
                  caption=f"训练前逐层测量（训练模式，{n} 个随机种子；标准差与梯度取几何平均，|z| 与 σ_B 取算术平均）")
    return Result(
        figures=[Figure("batchnorm", fig,
                        caption=f"深层 Sigmoid 网络不加与加 BN（{n} 个随机种子）：左为训练前各层权重梯度（训练模式，"
                                "几何平均，误差线为最小–最大），右为训练损失（中位数，灰带为最小–最大）",
                        alt=f"左图不加 BN 时第 1 层梯度约 {metrics['plain_grad_first_mean']:.0e}，加 BN 后约 "
                            f"{metrics['bn_grad_first_mean']:.1f}；右图不加 BN 的损失停在 0.69，加 BN 的降到 "
                            f"{metrics['bn_train_loss_mean']:.2f} 左右")],
        tables=[table],
        metrics=metrics,
        listings=listings_of(ctx, "batch_norm", "bn_backward"),
    )
