"""§7.4 Weight initialisation: the deep ReLU network with N(0, 0.01²), Xavier (Glorot) and He weights,
over all seeds; then N(0, 0.01²) again with Adam for many more steps: does it leave the plateau?"""
from __future__ import annotations

import numpy as np

from experiments.tip_common import STYLES, count, figure, layers_and_training, legend, listings_of, runs_of, seeds_of, spread, style_axes
from report.model import Context, Figure, Result

TITLE = "合理初始化权重"
ORDER = (7, 4)
USES = ("summary",)

LABELS = {"relu_small": "N(0, {std:g}²)", "relu_xavier": "Xavier（Glorot）", "relu_he": "He"}
LN2 = float(np.log(2))


def plateau_exit(step_loss: np.ndarray, threshold: float) -> np.ndarray:
    """The first step (counted from 1) whose training loss is below the threshold, per seed; 0 if none."""
    below = step_loss < threshold
    return np.where(below.any(axis=0), below.argmax(axis=0) + 1, 0)


def run(ctx: Context) -> Result:
    runs = runs_of(ctx, "deep")
    n = seeds_of(ctx)
    s = ctx.inputs["summary"].metrics
    small_label = LABELS["relu_small"].format(std=float(s["small_std"]))
    labels = LABELS | {"relu_small": small_label}
    fig = layers_and_training(runs, labels, "act_std", ("隐藏层", "输出在样本间的标准差", "训练前各隐藏层的信号"),
                              ("训练损失", "SGD+Momentum 训练"), legend_loc="lower left")

    hidden = int(runs["relu_he"]["act_std"].shape[0])
    target = float(s["target"])
    metrics: dict[str, float | int | str] = {"n_seeds": n, "n_hidden": hidden, "span_steps": hidden - 1, "ln2": LN2,
                                             "target": target, "small_label": small_label,
                                             "adam_lr": float(s["adam_lr"]), "adam_epsilon": float(s["adam_epsilon"]),
                                             "adam_beta_2": float(s["adam_beta_2"])}
    geo = lambda a: float(np.exp(np.log(a).mean()))  # noqa: E731  geometric mean over seeds
    mid = len(runs["relu_he"]["step_loss"]) // 2
    metrics["mid_step"] = mid
    for name in LABELS:
        key, r = name.removeprefix("relu_"), runs[name]
        metrics |= spread(f"{key}_std_first", r["act_std"][0]) | spread(f"{key}_std_last", r["act_std"][-1])
        metrics |= spread(f"{key}_grad_first", r["grad_norms"][0])
        metrics[f"{key}_grad_first_geo"] = geo(r["grad_norms"][0])
        metrics |= spread(f"{key}_train_loss", r["train_loss"][-1])
        metrics |= spread(f"{key}_train_accuracy", r["train_accuracy"][-1])
        metrics |= spread(f"{key}_mid_loss", r["step_loss"][mid - 1])
        # the signal's total change from the first to the last hidden layer, and per layer (as §4)
        total = geo(r["act_std"][-1] / r["act_std"][0])
        metrics |= {f"{key}_signal_total": total, f"{key}_signal_q": total ** (1 / (hidden - 1)),
                    f"{key}_std_first_geo": geo(r["act_std"][0]), f"{key}_std_last_geo": geo(r["act_std"][-1])}
    small, xavier, he = (runs[name] for name in LABELS)
    metrics["n_small_stuck"] = count(np.abs(small["train_loss"][-1] - LN2) < 0.01)
    metrics["n_he_faster"] = count(he["step_loss"][mid - 1] < xavier["step_loss"][mid - 1])
    metrics["n_he_lower_end"] = count(he["train_loss"][-1] < xavier["train_loss"][-1])
    metrics["n_xavier_learns"] = count(xavier["train_accuracy"][-1] >= target)
    metrics["n_he_learns"] = count(he["train_accuracy"][-1] >= target)

    # N(0, 0.01²) with Adam, many more steps
    adam = runs["relu_small_adam"]
    threshold = float(s["plateau"])
    exits = plateau_exit(adam["step_loss"], threshold)
    left_plateau = exits[exits > 0]
    metrics |= {"adam_steps": int(s["adam_steps"]), "plateau": threshold, "n_adam_left": int(len(left_plateau))}
    metrics |= spread("adam_exit", left_plateau if len(left_plateau) else np.array([0]))
    metrics |= spread("adam_final_loss", adam["step_loss"][-1])
    every = int(s["adam_every"])
    # the last evaluation before the earliest seed left the plateau: how far had the weights moved?
    early = max(0, (int(metrics["adam_exit_min"]) - 1) // every - 1)
    metrics["adam_early_step"] = (early + 1) * every
    metrics |= spread("adam_early_change", adam["weight_change"][early])  # ‖W_t − W_0‖ / ‖W_0‖, every layer
    metrics |= spread("adam_first_rms_start", adam["kernel_rms"][0])
    metrics |= spread("adam_first_rms_end", adam["track"][-1, 0])
    growth = adam["track"][-1] / adam["kernel_rms"]  # (layers, seeds): RMS at the end over RMS at the start
    metrics |= spread("adam_rms_growth", growth[:hidden]) | spread("adam_output_growth", growth[hidden])
    sgd_end = int(s["deep_steps"]) // every - 1  # the evaluation at the step where SGD+Momentum stopped
    metrics["adam_sgd_end_step"] = (sgd_end + 1) * every
    metrics |= spread("adam_sgd_end_change", adam["weight_change"][sgd_end])
    median = np.median(adam["weight_change"][:, :hidden], axis=2)  # (evaluations, hidden layers)
    metrics["adam_early_median_lo"], metrics["adam_early_median_hi"] = float(median[early].min()), float(median[early].max())
    metrics["adam_sgd_end_median_hi"] = float(median[sgd_end].max())
    metrics["n_adam_still_at_early"] = count(np.abs(adam["step_loss"][int(s["deep_steps"]) - 1] - LN2) < 0.01)
    # gradients at the start: kernels of all layers, biases of the hidden layers
    metrics |= spread("adam_kernel_grad", adam["kernel_grad_max"])
    metrics |= spread("adam_hidden_bias_grad_last", adam["bias_grad_max"][hidden - 1])
    metrics["adam_n_bias_layers_above_eps"] = int(np.sum(np.all(adam["bias_grad_max"][:hidden] > metrics["adam_epsilon"], axis=1)))
    # Keras' Adam in the regime g ≪ ε: a step ≈ η·√(1 − β₂ᵗ)·g/ε; its factor at step 1 and at the earliest exit
    for t, name in ((1, "first"), (int(metrics["adam_exit_min"]), "exit")):
        metrics[f"adam_eps_factor_{name}"] = float(np.sqrt(1 - metrics["adam_beta_2"] ** t))
    fig2, (loss_ax, rms_ax) = figure()
    steps = np.arange(1, len(adam["step_loss"]) + 1)
    for j in range(n):
        loss_ax.plot(steps, adam["step_loss"][:, j], color="0.25", linewidth=0.8,
                     linestyle=["-", "--", ":", "-."][j % 4])
    loss_ax.axhline(threshold, color="0.5", linewidth=0.8, linestyle=":")
    style_axes(loss_ax, "训练步", "训练损失", f"Adam，{small_label}，{n} 个随机种子")
    rep = int(np.argsort(exits)[n // 2])  # the seed whose exit is the median
    x = every * np.arange(0, adam["track"].shape[0] + 1)
    shown = (0, hidden - 1, hidden)  # the first and the last hidden layer, the output layer
    for k, layer in enumerate(shown):
        rms = np.concatenate([[adam["kernel_rms"][layer, rep]], adam["track"][:, layer, rep]])
        colour, line, marker = STYLES[k % len(STYLES)]
        rms_ax.plot(x, rms, color=colour, linestyle=line, marker=marker, markersize=3,
                    markevery=max(1, len(x) // 6), label=f"第 {layer + 1} 个隐藏层" if layer < hidden else "输出层")
    style_axes(rms_ax, "训练步", "权重的均方根", f"各层权重（随机种子 {int(s['first_seed']) + rep}）", log=True)
    legend(rms_ax, loc="center left")
    fig2.tight_layout()
    metrics["adam_rep_seed"] = int(s["first_seed"]) + rep
    return Result(
        figures=[Figure("init", fig,
                        caption=f"三种初始化下的深层 ReLU 网络（{n} 个随机种子）：左为训练前各隐藏层输出在样本间的标准差"
                                "（几何平均，误差线为最小–最大），右为 SGD+Momentum 的训练损失（中位数，带为最小–最大，带的边线与曲线线型相同）",
                        alt=f"左图 {small_label} 初始化的信号从第 1 个到第 {hidden} 个隐藏层缩小到 "
                            f"{metrics['small_signal_total']:.0e}，Xavier 缩小到 {metrics['xavier_signal_total']:.2f}，"
                            f"He 缩小到 {metrics['he_signal_total']:.2f}；右图 {small_label} 的损失在 "
                            f"{metrics['n_small_stuck']}/{n} 个随机种子中停在 ln 2，Xavier 和 He 的损失下降，He 更快"),
                 Figure("adam_small", fig2,
                        caption=f"{small_label} 初始化改用 Adam（学习率 {metrics['adam_lr']:g}，全批量）：左为 {n} 个随机种子的训练损失"
                                f"（点线为“离开平台”的阈值 {threshold:g}），右为其中一个随机种子第 1 个、第 {hidden} 个隐藏层"
                                "与输出层权重的均方根",
                        alt=f"左图各随机种子的损失先停在 ln 2，在第 {metrics['adam_exit_min']:.0f} 到第 "
                            f"{metrics['adam_exit_max']:.0f} 步之间陡然下降；右图各层权重先变化很小，训练结束时"
                            f"各隐藏层权重的均方根是开始时的 {metrics['adam_rms_growth_min']:.1f} 到 {metrics['adam_rms_growth_max']:.1f} 倍，"
                            f"输出层最多 {metrics['adam_output_growth_max']:.1f} 倍")],
        metrics=metrics,
        listings=listings_of(ctx, "initial_kernel"),
    )
