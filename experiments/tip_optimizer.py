"""§7.5 Optimisers: plain SGD, SGD with momentum and Adam on §5's network, each with three learning rates,
over all seeds. The learning rate of each optimiser is chosen on the validation set."""
from __future__ import annotations

import numpy as np

from experiments import ensemble as E
from experiments.tip_common import STYLES, band, count, figure, legend, listings_of, runs_of, seeds_of, spread, style_axes
from report.model import Context, Figure, Result, Table

TITLE = "使用合适的优化器（Adam、SGD+Momentum）"
ORDER = (7, 5)
USES = ("summary",)

NAMES = {"sgd": "SGD", "momentum": "SGD+Momentum", "adam": "Adam"}
DEFAULT = {"sgd": E.KERAS_LR["sgd"], "momentum": E.KERAS_LR["sgd"], "adam": E.KERAS_LR["adam"]}  # Keras' defaults


def first_epoch_reaching(accuracy: np.ndarray, target: float) -> np.ndarray:
    """The first epoch (from 1) whose validation accuracy reaches the target, per seed; 0 if never."""
    hit = accuracy >= target
    return np.where(hit.any(axis=0), hit.argmax(axis=0) + 1, 0)


def alt_text(metrics: dict, chosen: dict) -> str:
    """The figure's description for screen readers, from this build's numbers."""
    tag = lambda opt, lr: f"{opt}_{lr:g}".replace(".", "_")  # noqa: E731
    left = "，".join(f"{NAMES[o]} {metrics[tag(o, DEFAULT[o]) + '_train_loss_mean']:.3f}" for o in NAMES)
    right = "，".join(f"{NAMES[o]} 在学习率 {chosen[o]:g} 时最低（{metrics[f'{o}_best_val_loss_mean']:.3f}）" for o in NAMES)
    return f"左图默认学习率下训练结束时的平均训练损失：{left}；右图验证集损失：{right}"


def run(ctx: Context) -> Result:
    runs = runs_of(ctx, "opt")
    n = seeds_of(ctx)
    s = ctx.inputs["summary"].metrics
    lrs = sorted({float(name.split("_")[1]) for name in runs})
    target = float(s["target"])
    run_of = lambda opt, lr: runs[f"{opt}_{lr:g}"]  # noqa: E731

    # the learning rate of each optimiser: the lowest mean validation loss at the end
    chosen = {opt: min(lrs, key=lambda lr: float(np.mean(run_of(opt, lr)["val_loss"][-1]))) for opt in NAMES}
    mu = float(s["momentum"])
    metrics: dict[str, float | int | str] = {"n_seeds": n, "target": target, "epochs": int(s["opt_epochs"]),
                                             "mu": mu, "mu_factor": 1 / (1 - mu), "n_lrs": len(lrs),
                                             "h1": int(s["opt_h1"]), "h2": int(s["opt_h2"])}
    metrics |= {k: float(s[f"adam_{k}"]) for k in ("beta_1", "beta_2", "epsilon")}
    rows = []
    for opt, label in NAMES.items():
        metrics[f"{opt}_chosen_lr"] = chosen[opt]
        metrics[f"{opt}_default_lr"] = DEFAULT[opt]
        for lr in lrs:
            r = run_of(opt, lr)
            reach = first_epoch_reaching(r["val_accuracy"], target)
            tag = f"{opt}_{lr:g}".replace(".", "_")
            metrics |= spread(f"{tag}_train_loss", r["train_loss"][-1]) | spread(f"{tag}_val_loss", r["val_loss"][-1])
            metrics |= spread(f"{tag}_test_accuracy", r["test_accuracy"][-1])
            metrics[f"{tag}_n_reach"] = count(reach > 0)
            metrics[f"{tag}_reach_median"] = float(np.median(reach[reach > 0])) if (reach > 0).any() else 0.0
            note = "（默认）" if lr == DEFAULT[opt] else ""
            note += "（验证集选中）" if lr == chosen[opt] else ""
            reached = f"{np.median(reach[reach > 0]):.1f}（{count(reach > 0)}/{n}）" if (reach > 0).any() else f"未达到（0/{n}）"
            rows.append([label, f"{lr:g}{note}",
                         f"{np.mean(r['train_loss'][-1]):.3f}（{np.min(r['train_loss'][-1]):.3f}–{np.max(r['train_loss'][-1]):.3f}）",
                         f"{np.mean(r['val_loss'][-1]):.3f}", reached, f"{np.mean(r['test_accuracy'][-1]):.1%}"])
    for opt in NAMES:  # the chosen learning rate under a neutral name
        for key in ("train_loss_mean", "val_loss_mean", "test_accuracy_mean", "reach_median", "n_reach"):
            metrics[f"{opt}_best_{key}"] = metrics[f"{opt}_{chosen[opt]:g}".replace(".", "_") + f"_{key}"]
    # the claim the notebook's text made: Momentum beats Adam because of the default learning rates
    mom_d, adam_d = run_of("momentum", DEFAULT["momentum"]), run_of("adam", DEFAULT["adam"])
    metrics["n_momentum_beats_adam_default"] = count(mom_d["train_loss"][-1] < adam_d["train_loss"][-1])
    adam_same = run_of("adam", DEFAULT["momentum"])  # Adam at Momentum's learning rate
    metrics["n_adam_same_lr_beats_momentum"] = count(adam_same["train_loss"][-1] < mom_d["train_loss"][-1])
    mom_b, adam_b = run_of("momentum", chosen["momentum"]), run_of("adam", chosen["adam"])
    metrics["n_adam_best_beats_momentum_best"] = count(adam_b["val_loss"][-1] < mom_b["val_loss"][-1])
    metrics["n_momentum_best_beats_sgd_best"] = count(mom_b["val_loss"][-1] < run_of("sgd", chosen["sgd"])["val_loss"][-1])
    # SGD+Momentum with η behaves like plain SGD with η / (1 − μ) = 10 η
    sgd_10 = [lr for lr in lrs if np.isclose(lr, 10 * DEFAULT["momentum"])]
    metrics["sgd_tenfold_lr"] = 10 * DEFAULT["momentum"]
    if sgd_10:
        a, b = mom_d["train_loss"][-1], run_of("sgd", sgd_10[0])["train_loss"][-1]
        metrics["momentum_like_sgd10_diff"] = float(np.max(np.abs(a - b)))
        metrics["momentum_like_sgd10_rel"] = float(np.max(np.abs(a - b) / np.maximum(a, b)))  # relative, per seed
        metrics["momentum_sgd10_mean_rel"] = float(abs(a.mean() - b.mean()) / max(a.mean(), b.mean()))
    else:
        metrics["momentum_like_sgd10_diff"] = metrics["momentum_like_sgd10_rel"] = float("inf")
        metrics["momentum_sgd10_mean_rel"] = float("inf")
    metrics["n_momentum_beats_sgd_default"] = count(mom_d["train_loss"][-1] < run_of("sgd", DEFAULT["sgd"])["train_loss"][-1])
    metrics["n_adam_beats_sgd_default"] = count(adam_d["train_loss"][-1] < run_of("sgd", DEFAULT["sgd"])["train_loss"][-1])

    fig, (left, right) = figure()
    for k, opt in enumerate(NAMES):
        r = run_of(opt, DEFAULT[opt])
        band(left, np.arange(1, len(r["train_loss"]) + 1), r["train_loss"], f"{NAMES[opt]}（{DEFAULT[opt]:g}）", k)
        colour, line, marker = STYLES[k]
        values = np.array([run_of(opt, lr)["val_loss"][-1] for lr in lrs])  # (lrs, seeds)
        right.errorbar(lrs, values.mean(axis=1), yerr=[values.mean(axis=1) - values.min(axis=1),
                                                       values.max(axis=1) - values.mean(axis=1)],
                       color=colour, linestyle=line, marker=marker, markersize=4, capsize=2, label=NAMES[opt])
    style_axes(left, "轮", "训练损失", "默认学习率下的训练损失")
    style_axes(right, "学习率", "验证集损失（训练结束）", "学习率扫描", log=True)
    right.set_xscale("log")
    legend(left, loc="lower left")
    legend(right, loc="lower left")
    fig.tight_layout()
    table = Table("optimizer_sweep", ["优化器", "学习率", "训练损失", "验证集损失", f"验证集准确率首次达到 {target:.0%} 的轮（中位数）",
                                 "测试集准确率"], rows,
                  caption=f"三种优化器各试 {len(lrs)} 个学习率（{n} 个随机种子，均值；训练损失括号内为最小–最大），"
                          f"训练 {metrics['epochs']} 轮；学习率按验证集损失选择")
    return Result(
        figures=[Figure("optimizers", fig,
                        caption=f"三种优化器（{n} 个随机种子）：左为 Keras 默认学习率下的训练损失（中位数，带为最小–最大，带的边线与曲线线型相同），"
                                "右为每个学习率训练结束时的验证集损失（均值，误差线为最小–最大）",
                        alt=alt_text(metrics, chosen))],
        tables=[table],
        metrics=metrics,
        listings=listings_of(ctx, "sgd_update", "adam_update"),
    )
