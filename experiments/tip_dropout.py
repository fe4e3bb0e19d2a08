"""§7.3 Dropout against overfitting: a wide network on few noisy points, without and with Dropout, over all seeds.

Also a check of inverted Dropout's expectation argument, in NumPy: averaged over many masks, the
scaled output equals the input.
"""
from __future__ import annotations

import numpy as np

from experiments.tip_common import paired_difference, band, count, figure, legend, runs_of, seeds_of, spread, style_axes
from report.model import Context, Figure, Result, Table, listing_of

TITLE = "使用 Dropout 防止过拟合"
ORDER = (7, 3)
USES = ("summary",)

RISE = 0.2  # "the validation loss rose": it ends more than 20 % above its minimum
LABELS = {"plain": "不用 Dropout", "dropout": "使用 Dropout"}


def inverted_dropout(a, p, rng):
    """inverted Dropout（训练时）：每个输出以概率 p 置零，留下的除以 (1 − p)。"""
    keep = rng.random(a.shape) >= p  # 每个元素独立地以概率 1 − p 保留
    return np.where(keep, a / (1 - p), 0.0)


def check_expectation(p=0.5, n_masks=20_000, seed=0):
    """对同一个输出向量反复抽取掩码：缩放后的平均值应当等于原值，不缩放的则只有 (1 − p) 倍。
    两种版本各自抽取掩码。返回（缩放版本的最大相对误差，不缩放版本平均是原值的几倍）。"""
    rng = np.random.default_rng(seed)
    a = rng.uniform(0, 2, size=8)  # 某一层的 8 个输出
    scaled = np.mean([inverted_dropout(a, p, rng) for _ in range(n_masks)], axis=0)
    unscaled = np.mean([np.where(rng.random(a.shape) >= p, a, 0.0) for _ in range(n_masks)], axis=0)  # 只置零，不除以 (1 − p)
    return np.max(np.abs(scaled / a - 1)), np.mean(unscaled / a)


N_MASKS = check_expectation.__defaults__[1]


def run(ctx: Context) -> Result:
    runs = runs_of(ctx, "drop")
    n = seeds_of(ctx)
    every = int(ctx.inputs["summary"].metrics["drop_every"])
    fig, (left, right) = figure()
    for k, (name, label) in enumerate(LABELS.items()):
        r = runs[name]
        x = every * np.arange(1, len(r["val_loss"]) + 1)
        band(left, x, 100 * (r["train_accuracy"] - r["test_accuracy"]), label, k)
        band(right, x, r["val_loss"], label, k)
    style_axes(left, "训练步", "训练与测试准确率之差（个百分点）", "训练/测试差距")
    style_axes(right, "训练步", "验证集损失", "验证集损失")
    legend(left)
    legend(right)
    fig.tight_layout()

    plain, drop = runs["plain"], runs["dropout"]
    gap = {name: r["train_accuracy"][-1] - r["test_accuracy"][-1] for name, r in runs.items()}
    metrics: dict[str, float | int] = {"n_seeds": n, "rise": RISE}
    for name, r in runs.items():
        metrics |= spread(f"{name}_gap_points", 100 * gap[name])
        metrics |= spread(f"{name}_train_accuracy", r["train_accuracy"][-1])
        metrics |= spread(f"{name}_test_accuracy", r["test_accuracy"][-1])
        metrics |= spread(f"{name}_test_loss", r["test_loss"][-1])
        best = np.argmin(r["val_loss"], axis=0)  # the step with the lowest validation loss, per seed
        metrics |= spread(f"{name}_best_step", every * (best + 1))
        metrics |= spread(f"{name}_best_val_loss", r["val_loss"].min(axis=0))
        metrics |= spread(f"{name}_final_val_loss", r["val_loss"][-1])
        metrics |= spread(f"{name}_test_accuracy_at_best", r["test_accuracy"][best, np.arange(n)])
        metrics[f"n_{name}_val_rises"] = count(r["val_loss"][-1] > (1 + RISE) * r["val_loss"].min(axis=0))
    metrics |= paired_difference("gain", 100 * (drop["test_accuracy"][-1] - plain["test_accuracy"][-1]))
    # early stopping (the step with the lowest validation loss) against the end of training, without Dropout
    at_best = plain["test_accuracy"][np.argmin(plain["val_loss"], axis=0), np.arange(n)]
    metrics |= paired_difference("early", 100 * (at_best - plain["test_accuracy"][-1]))
    metrics["train_drop_share"] = ((metrics["plain_train_accuracy_mean"] - metrics["dropout_train_accuracy_mean"]) * 100
                                   / (metrics["plain_gap_points_mean"] - metrics["dropout_gap_points_mean"]))
    metrics["train_drop_points"] = 100 * (metrics["plain_train_accuracy_mean"] - metrics["dropout_train_accuracy_mean"])
    metrics["gap_reduction_points"] = metrics["plain_gap_points_mean"] - metrics["dropout_gap_points_mean"]
    metrics["n_gap_smaller"] = count(gap["dropout"] < gap["plain"])
    metrics["n_test_better"] = count(drop["test_accuracy"][-1] > plain["test_accuracy"][-1])
    metrics["n_test_worse"] = count(drop["test_accuracy"][-1] < plain["test_accuracy"][-1])
    metrics["n_test_loss_lower"] = count(drop["test_loss"][-1] < plain["test_loss"][-1])
    metrics["n_val_loss_lower"] = count(drop["val_loss"][-1] < plain["val_loss"][-1])
    metrics["n_train_lower"] = count(drop["train_accuracy"][-1] <= plain["train_accuracy"][-1])
    error, unscaled = check_expectation()
    metrics["expectation_error"], metrics["unscaled_ratio"] = float(error), float(unscaled)
    metrics["n_masks"] = N_MASKS

    seeds = ctx.inputs["summary"].metrics
    rows = []
    for j in range(n):
        rows.append([f"{int(seeds['first_seed']) + j}",
                     *(f"{100 * gap[name][j]:.1f}".replace("-", "\u2212") for name in LABELS),
                     *(f"{runs[name]['test_accuracy'][-1, j]:.1%}" for name in LABELS),
                     *(f"{runs[name]['test_loss'][-1, j]:.3f}" for name in LABELS)])
    table = Table("dropout_seeds", ["随机种子", "差距：不用", "差距：使用", "测试集准确率：不用", "测试集准确率：使用",
                                    "测试集损失：不用", "测试集损失：使用"], rows,
                  caption="训练结束时每个随机种子的结果（差距 = 训练集准确率 − 测试集准确率，单位：个百分点）")
    return Result(
        figures=[Figure("dropout", fig,
                        caption=f"不用与使用 Dropout（{n} 个随机种子，中位数，带为最小–最大，带的边线与曲线线型相同）：左为训练与测试准确率之差，"
                                "右为验证集损失",
                        alt=f"左图训练结束时的差距平均为 {metrics['plain_gap_points_mean']:.1f}（不用）和 "
                            f"{metrics['dropout_gap_points_mean']:.1f}（使用）个百分点；右图不用 Dropout 的验证集损失先降后升，"
                            f"结束时平均 {metrics['plain_final_val_loss_mean']:.3f}，使用 Dropout 的平均 "
                            f"{metrics['dropout_final_val_loss_mean']:.3f}")],
        tables=[table],
        metrics=metrics,
        listings=[listing_of(inverted_dropout, "inverted_dropout", "inverted Dropout 的一步（NumPy）"),
                  listing_of(check_expectation, "check_expectation", "验证期望不变")],
    )
