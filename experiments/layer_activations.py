"""§6 逐层激活可视化: the notebook's commented-out cell, working on Keras 3, on the §5 model."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from experiments.keras_circles import TEST_SIZE, build_model
from experiments.keras_utils import circles, keras
from report.model import Context, Figure, Result, Table, listing_of

TITLE = "逐层激活可视化"
ORDER = 6
USES = ("keras_circles",)

SAMPLES_PER_CLASS = 8


def visualize_layer_activations(model: keras.Model, x: np.ndarray):
    """The notebook's function, fixed for Keras 3: model.inputs exists because the model
    starts with keras.Input, so the activation model can be built without calling it first."""
    layer_outputs = [layer.output for layer in model.layers]
    activation_model = keras.Model(inputs=model.inputs, outputs=layer_outputs)
    activations = activation_model.predict(x, verbose=0)

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
    return fig, activations


def run(ctx: Context) -> Result:
    trained = ctx.inputs["keras_circles"].arrays  # the §5 weights: no second training run
    model = build_model()
    model.set_weights([trained[f"weight_{i}"] for i in range(len(trained))])

    data = circles(test_size=TEST_SIZE, seed=42)
    # Sample inputs: test points, the first few of each class, outer ring then inner ring.
    picks = np.concatenate([np.flatnonzero(data.y_test == c)[:SAMPLES_PER_CLASS] for c in (0, 1)])
    fig, activations = visualize_layer_activations(model, data.x_test[picks])
    for ax in fig.axes[:len(activations)]:
        ax.axvline(SAMPLES_PER_CLASS - 0.5, color="w", linewidth=1.5)
        ax.set_xticks([SAMPLES_PER_CLASS / 2 - 0.5, 1.5 * SAMPLES_PER_CLASS - 0.5], ["外圈", "内圈"])

    # Dead ReLU units: output 0 for every training point, so they never receive a gradient.
    hidden = keras.Model(model.inputs, [layer.output for layer in model.layers[:-1]])
    on_train = [np.asarray(a) for a in hidden([data.x_train])]
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
        "n_train": len(data.x_train), "dead_total": sum(dead), "hidden_total": sum(sizes),
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
                      caption=f"隐藏层在全部 {len(data.x_train)} 个训练样本上的激活统计")],
        metrics=metrics,
        listings=[listing_of(visualize_layer_activations, "visualize", "笔记本中被注释掉的函数，修正后可在 Keras 3 上运行")],
    )
