"""§7.4 Weight initialisation: the deep ReLU network with N(0, 0.01²), Xavier (Glorot) and He weights,
over all seeds; then N(0, 0.01²) again with Adam for many more steps: does it leave the plateau?"""
from __future__ import annotations

import numpy as np

from experiments.tip_common import listings_of, STYLES, band, count, figure, legend, per_layer, runs_of, seeds_of, spread, style_axes
from report.model import Context, Figure, Result

TITLE = "合理初始化权重"
ORDER = (7, 4)
USES = ("summary",)

LABELS = {"relu_small": "N(0, 0.01²)", "relu_xavier": "Xavier（Glorot）", "relu_he": "He"}
LN2 = float(np.log(2))


def plateau_exit(step_loss: np.ndarray, threshold: float) -> np.ndarray:
    """The first step (counted from 1) whose training loss is below the threshold, per seed; 0 if none."""
    below = step_loss < threshold
    return np.where(below.any(axis=0), below.argmax(axis=0) + 1, 0)


def run(ctx: Context) -> Result:
    runs = runs_of(ctx, "deep")
    n = seeds_of(ctx)
    s = ctx.inputs["summary"].metrics
    fig, (left, right) = figure()
    for k, (name, label) in enumerate(LABELS.items()):
        per_layer(left, runs[name]["act_std"], label, k)
        loss = runs[name]["step_loss"]
        band(right, np.arange(1, len(loss) + 1), loss, label, k)
    style_axes(left, "隐藏层", "输出在样本间的标准差", "训练前各隐藏层的信号", log=True)
    style_axes(right, "训练步", "训练损失", "SGD+Momentum 训练")
    legend(left, loc="lower left")
    legend(right, loc="lower left")
    fig.tight_layout()

    metrics: dict[str, float | int] = {"n_seeds": n, "n_hidden": int(runs["relu_he"]["act_std"].shape[0]),
                                       "ln2": LN2}
    mid = len(runs["relu_he"]["step_loss"]) // 2
    metrics["mid_step"] = mid
    for name in LABELS:
        key, r = name.removeprefix("relu_"), runs[name]
        metrics |= spread(f"{key}_std_first", r["act_std"][0]) | spread(f"{key}_std_last", r["act_std"][-1])
        metrics |= spread(f"{key}_grad_first", r["grad_norms"][0])
        metrics |= spread(f"{key}_train_loss", r["train_loss"][-1])
        metrics |= spread(f"{key}_train_accuracy", r["train_accuracy"][-1])
        metrics |= spread(f"{key}_mid_loss", r["step_loss"][mid - 1])
    small, xavier, he = (runs[name] for name in LABELS)
    metrics["n_small_stuck"] = count(np.abs(small["train_loss"][-1] - LN2) < 0.01)
    metrics["n_he_faster"] = count(he["step_loss"][mid - 1] < xavier["step_loss"][mid - 1])
    metrics["n_he_lower_end"] = count(he["train_loss"][-1] < xavier["train_loss"][-1])
    metrics["n_xavier_learns"] = count(xavier["train_accuracy"][-1] >= 0.95)
    metrics["n_he_learns"] = count(he["train_accuracy"][-1] >= 0.95)
    # SGD+Momentum: after all its steps, how much have the weights moved?
    sgd_change = np.abs(small["track"][-1] / small["kernel_rms"] - 1)  # (layers, seeds)
    metrics |= spread("sgd_weight_change", sgd_change)

    # N(0, 0.01²) with Adam, many more steps
    adam = runs["relu_small_adam"]
    threshold = float(s["plateau"])
    exits = plateau_exit(adam["step_loss"], threshold)
    left_plateau = exits[exits > 0]
    metrics |= {"adam_steps": int(s["adam_steps"]), "plateau": threshold, "n_adam_left": int(len(left_plateau))}
    metrics |= spread("adam_exit", left_plateau if len(left_plateau) else np.array([0]))
    metrics |= spread("adam_final_loss", adam["step_loss"][-1])
    every = int(s["adam_every"])
    early = int(s["deep_steps"]) // every - 1  # the evaluation at the end of the SGD run's steps
    metrics["adam_early_step"] = (early + 1) * every
    metrics |= spread("adam_early_change", np.abs(adam["track"][early] / adam["kernel_rms"] - 1))
    metrics |= spread("adam_first_rms_start", adam["kernel_rms"][0])
    metrics |= spread("adam_first_rms_end", adam["track"][-1, 0])
    metrics["n_adam_still_at_early"] = count(np.abs(adam["step_loss"][int(s["deep_steps"]) - 1] - LN2) < 0.01)

    fig2, (loss_ax, rms_ax) = figure()
    steps = np.arange(1, len(adam["step_loss"]) + 1)
    for j in range(n):
        loss_ax.plot(steps, adam["step_loss"][:, j], color="0.25", linewidth=0.8,
                     linestyle=["-", "--", ":", "-."][j % 4])
    loss_ax.axhline(threshold, color="0.5", linewidth=0.8, linestyle=":")
    style_axes(loss_ax, "训练步", "训练损失", f"Adam，N(0, 0.01²)，{n} 个随机种子")
    rep = int(np.argsort(exits)[n // 2])  # the seed whose exit is the median
    x = every * np.arange(0, adam["track"].shape[0] + 1)
    for layer in range(adam["kernel_rms"].shape[0]):
        rms = np.concatenate([[adam["kernel_rms"][layer, rep]], adam["track"][:, layer, rep]])
        colour, line, marker = STYLES[layer % len(STYLES)]
        rms_ax.plot(x, rms, color=colour, linestyle=line, marker=marker, markersize=3,
                    markevery=max(1, len(x) // 6), label=f"第 {layer + 1} 层" if layer < metrics["n_hidden"] else "输出层")
    style_axes(rms_ax, "训练步", "权重的均方根", f"各层权重（随机种子 {int(s['first_seed']) + rep}）", log=True)
    rms_ax.legend(fontsize=7.5, ncol=2, handlelength=2.4, loc="center left")
    fig2.tight_layout()
    metrics["adam_rep_seed"] = int(s["first_seed"]) + rep
    return Result(
        figures=[Figure("init", fig,
                        caption=f"三种初始化下的深层 ReLU 网络（{n} 个随机种子）：左为训练前各隐藏层输出在样本间的标准差"
                                "（几何平均，误差线为最小–最大），右为 SGD+Momentum 的训练损失（中位数，灰带为最小–最大）",
                        alt="左图 N(0, 0.01²) 初始化的信号逐层缩小几个数量级，Xavier 缓慢变小，He 基本保持；"
                            "右图小初始化的损失停在 ln 2，另两种下降"),
                 Figure("adam_small", fig2,
                        caption=f"N(0, 0.01²) 初始化改用 Adam（学习率 0.001，全批量）：左为 {n} 个随机种子的训练损失"
                                f"（点线为“离开平台”的阈值 {threshold:g}），右为其中一个随机种子各层权重的均方根",
                        alt=f"左图各随机种子的损失先停在 ln 2，在第 {metrics['adam_exit_min']:.0f} 到第 "
                            f"{metrics['adam_exit_max']:.0f} 步之间陡然下降；右图各层权重先几乎不变，随后一起增大")],
        metrics=metrics,
        listings=listings_of(ctx, "initial_kernel"),
    )
