"""§6 逐层激活可视化: the notebook's commented-out cell, working on Keras 3, on the §5 model.

The activation model runs in §5's process, on the model it has just trained (see
activation_model.py); this section plots the activations and counts dead ReLU neurons, for the
representative seed and for every seed §5 trained.
"""
from __future__ import annotations

import inspect

import matplotlib.pyplot as plt
import numpy as np

from experiments import activation_model
from report.model import Context, Figure, Listing, Result, Table, listing_of

TITLE = "逐层激活可视化"
ORDER = 6
USES = ("keras_circles",)

SAMPLES_PER_CLASS = 8


def use_chinese_font(candidates=("Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC",
                                  "Microsoft YaHei", "SimHei", "WenQuanYi Micro Hei")) -> str:
    """让 matplotlib 用本机已安装的中文字体画标签，返回选中的字体名。"""
    from matplotlib import font_manager
    from matplotlib import pyplot as plt

    installed = {font.name for font in font_manager.fontManager.ttflist}
    name = next((c for c in candidates if c in installed), None)
    if name is None:
        raise RuntimeError("没有找到中文字体，请先安装（Debian/Ubuntu：sudo apt-get install fonts-noto-cjk）")
    plt.rcParams["font.family"] = "sans-serif"
    plt.rcParams["font.sans-serif"] = [name, "DejaVu Sans"]  # 中文用它，其余字符退回默认字体
    plt.rcParams["axes.unicode_minus"] = False  # 负号用 ASCII 的 -，中文字体里可能没有 U+2212
    return name


def plot_activations(activations: list[np.ndarray], names: list[str], dead: list[set[int]]):
    """笔记本函数画图的一半：每层一幅热力图，纵轴是神经元，横轴是样本，上下排列共用横轴。
    dead：每层的死亡神经元编号（从 0 起），在纵轴上标 *。"""
    heights = [max(a.shape[1], 3.5) for a in activations]
    fig, axes = plt.subplots(len(activations), 1, figsize=(6.5, 4.1), sharex=True,
                             gridspec_kw={"height_ratios": heights})
    for activation, ax, name, dead_here in zip(activations, axes, names, dead):
        im = ax.imshow(activation.T, aspect="auto", cmap="viridis", interpolation="nearest")
        n = activation.shape[1]
        labels = [f"{i + 1}*" if i in dead_here else str(i + 1) for i in range(n)]
        ax.set_yticks(range(n), labels, fontsize=7.5)
        ax.set_ylabel(name, fontsize=8)
        bar = fig.colorbar(im, ax=ax, pad=0.015, aspect=max(4, n))
        top = float(activation.max())
        bar.set_ticks([0, top], labels=["0", f"{top:.2f}"])  # 颜色条只标两端
        bar.ax.tick_params(labelsize=7.5)
    axes[-1].set_xlabel("样本", fontsize=8)
    return fig


def layers(arrays: dict[str, np.ndarray], prefix: str) -> list[np.ndarray]:
    """§5's activations of every layer, e.g. prefix "test_activation_" or "seeds_train_activation_"."""
    count = sum(1 for key in arrays if key.startswith(prefix) and key[len(prefix):].isdigit())
    return [arrays[f"{prefix}{i}"] for i in range(count)]


def dead_neurons(hidden: np.ndarray) -> np.ndarray:
    """A ReLU neuron is dead if it outputs 0 for every training point (axis -2 is the samples)."""
    return np.all(hidden <= 0, axis=-2)


def zero_share_of_live(hidden: np.ndarray) -> float:
    """Share of zero outputs among the live neurons only (the dead ones are zero by definition)."""
    live = ~dead_neurons(hidden)
    return float(np.mean(hidden[:, live] <= 0)) if live.any() else float("nan")


def run(ctx: Context) -> Result:
    trained = ctx.inputs["keras_circles"].arrays  # no second training run, no second model
    use_chinese_font()
    # Sample inputs: test points, the first few of each class, outer ring then inner ring.
    picks = np.concatenate([np.flatnonzero(trained["y_test"] == c)[:SAMPLES_PER_CLASS] for c in (0, 1)])
    activations = [a[picks] for a in layers(trained, "test_activation_")]
    on_train = layers(trained, "train_activation_")[:-1]  # the representative seed's hidden layers
    dead_sets = [set(np.flatnonzero(dead_neurons(a)).tolist()) for a in on_train] + [set()]
    sizes = [a.shape[1] for a in on_train]
    names = [f"第 {i + 1} 个隐藏层" for i in range(len(on_train))] + ["输出层"]
    fig = plot_activations(activations, names, dead_sets)
    for ax in fig.axes[:len(activations)]:
        ax.axvline(SAMPLES_PER_CLASS - 0.5, color="w", linewidth=1.5)
    fig.axes[len(activations) - 1].set_xticks([SAMPLES_PER_CLASS / 2 - 0.5, 1.5 * SAMPLES_PER_CLASS - 0.5],
                                              ["外圈样本", "内圈样本"], fontsize=8)

    # Every seed §5 trained: dead neurons at the end, zero shares of the live ones, revivals.
    per_seed = layers(trained, "seeds_train_activation_")  # (S, samples, neurons) per hidden layer
    n_seeds = per_seed[0].shape[0]
    dead = np.array([[int(dead_neurons(layer[s]).sum()) for layer in per_seed] for s in range(n_seeds)])
    zero_live = np.array([[zero_share_of_live(layer[s]) for layer in per_seed] for s in range(n_seeds)])
    alive = layers(trained, "seeds_alive_")  # (1 + epochs, S, neurons): at start, after each epoch
    revivals = [int(np.sum((a[:-1] == 0) & (a[1:] == 1))) for a in alive]
    seeds_revived = [int(np.sum(np.any((a[:-1] == 0) & (a[1:] == 1), axis=(0, 2)))) for a in alive]
    dead_at_start = [int(np.sum(a[0] == 0)) for a in alive]
    ever_dead = [int(np.sum(np.any(a == 0, axis=0))) for a in alive]  # (seed, neuron) pairs dead at some check

    outer, inner = activations[1][:SAMPLES_PER_CLASS], activations[1][SAMPLES_PER_CLASS:]
    metrics: dict[str, float | int] = {
        "layer2_outer_stronger": int(np.sum(outer.mean(axis=0) > inner.mean(axis=0))),
        "output_mean_outer": float(activations[-1][:SAMPLES_PER_CLASS].mean()),
        "output_mean_inner": float(activations[-1][SAMPLES_PER_CLASS:].mean()),
        "n_layers": len(activations), "n_samples_shown": len(picks), "samples_per_class": SAMPLES_PER_CLASS,
        "n_train": len(on_train[0]), "hidden_total": sum(sizes),
        "output_min": float(activations[-1].min()), "output_max": float(activations[-1].max()),
        "n_seeds": n_seeds, "epochs": len(alive[0]) - 1,
    }
    for i, a in enumerate(on_train):
        layer = i + 1
        metrics[f"size_layer{layer}"] = sizes[i]
        metrics[f"dead_layer{layer}"] = len(dead_sets[i])
        metrics[f"zero_share_live_layer{layer}"] = zero_share_of_live(a)
        metrics[f"zero_share_all_layer{layer}"] = float(np.mean(a <= 0))
        metrics[f"dead_layer{layer}_mean"] = float(dead[:, i].mean())
        metrics[f"dead_layer{layer}_min"] = int(dead[:, i].min())
        metrics[f"dead_layer{layer}_max"] = int(dead[:, i].max())
        metrics[f"seeds_with_dead_layer{layer}"] = int(np.sum(dead[:, i] > 0))
        metrics[f"zero_share_live_layer{layer}_mean"] = float(np.nanmean(zero_live[:, i]))
        metrics[f"zero_share_live_layer{layer}_min"] = float(np.nanmin(zero_live[:, i]))
        metrics[f"zero_share_live_layer{layer}_max"] = float(np.nanmax(zero_live[:, i]))
        metrics[f"revivals_layer{layer}"] = revivals[i]
        metrics[f"seeds_revived_layer{layer}"] = seeds_revived[i]
        metrics[f"dead_at_start_layer{layer}"] = dead_at_start[i]
        metrics[f"ever_dead_layer{layer}"] = ever_dead[i]
    metrics["dead_total"] = sum(len(d) for d in dead_sets)
    metrics["dead_total_mean"] = float(dead.sum(axis=1).mean())
    metrics["dead_total_min"] = int(dead.sum(axis=1).min())
    metrics["dead_total_max"] = int(dead.sum(axis=1).max())

    seed_numbers = trained.get("seeds", np.arange(n_seeds))
    rows = [[str(int(seed_numbers[s]))] + [str(d) for d in dead[s]] + [f"{z:.1%}" for z in zero_live[s]]
            for s in range(n_seeds)]
    rows.append(["平均"] + [f"{d:.1f}" for d in dead.mean(axis=0)]
                + [f"{z:.1%}" for z in np.nanmean(zero_live, axis=0)])
    header = (["随机种子"] + [f"第 {i + 1} 个隐藏层的死亡神经元（共 {n} 个）" for i, n in enumerate(sizes)]
              + [f"第 {i + 1} 个隐藏层中活神经元输出 0 的比例" for i in range(len(sizes))])
    plot_code = "\n\n".join(inspect.getsource(f).rstrip() for f in (use_chinese_font, plot_activations)) + "\n"
    return Result(
        figures=[Figure("heatmaps", fig,
                        caption=f"随机种子 {int(seed_numbers[0])} 的网络各层激活热力图：{len(picks)} 个测试样本"
                                f"（左半外圈、右半内圈）× 神经元；纵轴编号带 * 的是死亡神经元",
                        alt="上下三幅热力图，分别是第 1、2 个隐藏层和输出层的激活，横轴为样本，纵轴为神经元")],
        tables=[Table("dead_units", header, rows,
                      caption=f"{n_seeds} 个随机种子的网络训练 {metrics['epochs']} 轮后，隐藏层在各自全部 "
                              f"{len(on_train[0])} 个训练样本上的统计；输出 0 的比例只算活着的神经元")],
        metrics=metrics,
        listings=[listing_of(activation_model.activations_per_layer, "activation_model",
                             "笔记本中被注释掉的激活模型，改用 model.inputs 后可在 Keras 3 上运行（在第 5 节的训练进程中运行）"),
                  Listing("plot", plot_code, "画热力图：笔记本函数的另一半，先选好中文字体")],
    )
