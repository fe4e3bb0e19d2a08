"""§6 逐层激活可视化: the notebook's commented-out cell, working on Keras 3, on the §5 model.

The activation model runs in §5's process, on the model it has just trained (see
activation_model.py); this section plots the activations and counts dead ReLU units.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from experiments import activation_model
from report.model import Context, Figure, Result, Table, listing_of

TITLE = "逐层激活可视化"
ORDER = 6
USES = ("keras_circles",)

SAMPLES_PER_CLASS = 8


def plot_activations(activations: list[np.ndarray]) -> plt.Figure:
    """The plotting half of the notebook's function: one heatmap per layer, neurons x samples."""
    fig, axes = plt.subplots(1, len(activations), figsize=(12, 4),
                             gridspec_kw={"width_ratios": [a.shape[1] ** 0.5 + 1 for a in activations]})
    for i, (activation, ax) in enumerate(zip(activations, axes)):
        im = ax.imshow(activation.T, aspect="auto", cmap="viridis", interpolation="nearest")
        ax.set_title(f"层 {i + 1}（{activation.shape[1]} 个神经元）")
        ax.set_xlabel("样本")
        ax.set_ylabel("神经元")
        ax.set_yticks(range(activation.shape[1]))
        ax.set_yticklabels([str(n + 1) for n in range(activation.shape[1])], fontsize=7)
        fig.colorbar(im, ax=ax)
    fig.tight_layout()
    return fig


def layers(arrays: dict[str, np.ndarray], part: str) -> list[np.ndarray]:
    """§5's activations of every layer on one data set ("train" or "test")."""
    count = sum(1 for key in arrays if key.startswith(f"{part}_activation_"))
    return [arrays[f"{part}_activation_{i}"] for i in range(count)]


def run(ctx: Context) -> Result:
    trained = ctx.inputs["keras_circles"].arrays  # no second training run, no second model
    # Sample inputs: test points, the first few of each class, outer ring then inner ring.
    picks = np.concatenate([np.flatnonzero(trained["y_test"] == c)[:SAMPLES_PER_CLASS] for c in (0, 1)])
    activations = [a[picks] for a in layers(trained, "test")]
    fig = plot_activations(activations)
    for ax in fig.axes[:len(activations)]:
        ax.axvline(SAMPLES_PER_CLASS - 0.5, color="w", linewidth=1.5)
        ax.set_xticks([SAMPLES_PER_CLASS / 2 - 0.5, 1.5 * SAMPLES_PER_CLASS - 0.5], ["外圈", "内圈"])

    # Dead ReLU units: output 0 for every training point, so they never receive a gradient.
    on_train = layers(trained, "train")[:-1]  # the hidden layers
    dead = [int(np.sum(np.all(a <= 0, axis=0))) for a in on_train]
    inactive_share = [float(np.mean(a <= 0)) for a in on_train]
    rows = [[f"层 {i + 1}", f"Dense({a.shape[1]}, relu)", str(a.shape[1]), str(d), f"{s:.1%}"]
            for i, (a, d, s) in enumerate(zip(on_train, dead, inactive_share))]
    sizes = [a.shape[1] for a in on_train]
    outer, inner = activations[1][:SAMPLES_PER_CLASS], activations[1][SAMPLES_PER_CLASS:]
    metrics = {
        "layer2_outer_stronger": int(np.sum(outer.mean(axis=0) > inner.mean(axis=0))),
        "output_mean_outer": float(activations[-1][:SAMPLES_PER_CLASS].mean()),
        "output_mean_inner": float(activations[-1][SAMPLES_PER_CLASS:].mean()),
        "n_layers": len(activations), "n_samples_shown": len(picks), "samples_per_class": SAMPLES_PER_CLASS,
        "n_train": len(on_train[0]), "dead_total": sum(dead), "hidden_total": sum(sizes),
        "output_min": float(activations[-1].min()), "output_max": float(activations[-1].max()),
        **{f"dead_layer{i + 1}": d for i, d in enumerate(dead)},
        **{f"size_layer{i + 1}": s for i, s in enumerate(sizes)},
        **{f"inactive_share_layer{i + 1}": s for i, s in enumerate(inactive_share)},
    }
    return Result(
        figures=[Figure("heatmaps", fig,
                        caption=f"各层激活热力图：{len(picks)} 个测试样本（左半外圈、右半内圈）× 神经元",
                        alt="三幅热力图，分别是第 1、2 个隐藏层和输出层的激活，横轴为样本，纵轴为神经元")],
        tables=[Table("dead_units", ["层", "类型", "神经元数", "死亡神经元数", "输出为 0 的比例"], rows,
                      caption=f"隐藏层在全部 {len(on_train[0])} 个训练样本上的激活统计")],
        metrics=metrics,
        listings=[listing_of(activation_model.activations_per_layer, "activation_model",
                             "笔记本中被注释掉的激活模型，修正后可在 Keras 3 上运行（在第 5 节的训练进程中运行）"),
                  listing_of(plot_activations, "plot", "画热力图：笔记本函数的另一半")],
    )
