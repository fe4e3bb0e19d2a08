"""§6 逐层激活可视化: the notebook's commented-out cell, working on Keras 3, on the §5 model.

The activation model runs in §5's process, on the model it has just trained (see
activation_model.py); this section plots the activations and counts dead ReLU neurons, for the
representative seed and for every seed §5 trained.
"""
from __future__ import annotations

import inspect
import sys

import matplotlib.pyplot as plt
import numpy as np

from experiments import activation_model
from report.model import Context, Figure, Listing, Result, Table, listing_of

TITLE = "逐层激活可视化"
ORDER = 6
USES = ("keras_circles",)

SAMPLES_PER_CLASS = 8


def use_chinese_font(candidates=("Noto Sans CJK SC", "Noto Sans CJK JP", "Source Han Sans SC",
                                  "PingFang SC", "Heiti TC", "Songti SC", "Microsoft YaHei", "SimHei",
                                  "WenQuanYi Micro Hei", "Arial Unicode MS")) -> str:
    """让 matplotlib 用本机已安装的中文字体画标签，返回选中的字体名。
    （有的 matplotlib 版本只认出 .ttc 字体文件里的第一个字体，所以也列出 Noto Sans CJK JP。）"""
    from matplotlib import font_manager

    installed = {font.name for font in font_manager.fontManager.ttflist}
    name = next((c for c in candidates if c in installed), None)
    if name is None:
        raise RuntimeError("没有找到中文字体，请先安装（Debian/Ubuntu：sudo apt-get install fonts-noto-cjk）")
    plt.rcParams["font.family"] = "sans-serif"
    plt.rcParams["font.sans-serif"] = [name, "DejaVu Sans"]  # 中文用它，其余字符退回默认字体
    plt.rcParams["axes.unicode_minus"] = False  # 负号用 ASCII 的 -，中文字体里可能没有 U+2212
    return name


def plot_activations(activations, names, dead, per_class, classes=("外圈样本", "内圈样本")):
    """笔记本函数画图的一半：每层一幅热力图，纵轴是神经元，横轴是样本，上下排列共用横轴。
    activations：每层一个数组（样本数 × 神经元数），前 per_class 个样本属于第一类，其余属于第二类；
    dead：每层的死亡神经元编号（从 0 起），在纵轴上标 *。最后一层是输出概率，颜色固定为 0 到 1。"""
    use_chinese_font()  # 标签是中文：先选好字体
    heights = [max(a.shape[1], 3.5) for a in activations]
    fig, axes = plt.subplots(len(activations), 1, figsize=(6.5, 4.1), sharex=True,
                             gridspec_kw={"height_ratios": heights})
    for k, (activation, ax, name, dead_here) in enumerate(zip(activations, axes, names, dead)):
        output = k == len(activations) - 1
        low, high = (0.0, 1.0) if output else (0.0, float(activation.max()))
        im = ax.imshow(activation.T, aspect="auto", cmap="viridis", interpolation="nearest",
                       vmin=low, vmax=high)
        n = activation.shape[1]
        # 神经元多时只标奇数编号（死亡神经元总是标出），免得标签挤在一起
        shown = [i for i in range(n) if n <= 10 or i % 2 == 0 or i in dead_here]
        ax.set_yticks(shown, [f"{i + 1}*" if i in dead_here else str(i + 1) for i in shown], fontsize=7.5)
        ax.set_ylabel(name, fontsize=8)
        ax.axvline(per_class - 0.5, color="w", linewidth=1.5)  # 左边第一类，右边第二类
        bar = fig.colorbar(im, ax=ax, pad=0.015, aspect=max(4, n))
        top = f"{high:.0f}" if output else f"{high:.2f}"
        bar.set_ticks([low, high], labels=[f"{low:.0f}", top])  # 颜色条只标两端
        bar.ax.tick_params(labelsize=7.5)
    total = activations[0].shape[0]
    axes[-1].set_xticks([(per_class - 1) / 2, (per_class + total - 1) / 2], list(classes), fontsize=8)
    axes[-1].set_xlabel("样本", fontsize=8)
    return fig


def import_lines() -> str:
    """The import lines of this module that the plotting listing needs (they ran, at import)."""
    wanted = ("import matplotlib.pyplot as plt", "import numpy as np")
    source = inspect.getsource(sys.modules[__name__]).splitlines()
    found = [line for line in source if line in wanted]
    assert found == list(wanted), found
    return "\n".join(found) + "\n"


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


def separating_neurons(hidden: np.ndarray, y: np.ndarray) -> tuple[int, int]:
    """Neurons whose class means differ by more than the pooled standard deviation:
    (outer ring higher, inner ring higher). y == 0 is the outer ring."""
    outer, inner = hidden[y == 0], hidden[y == 1]
    diff = outer.mean(axis=0) - inner.mean(axis=0)
    pooled = np.sqrt((outer.var(axis=0, ddof=1) + inner.var(axis=0, ddof=1)) / 2)
    return int(np.sum(diff > pooled)), int(np.sum(-diff > pooled))


def forward_hidden(weights: list[np.ndarray], x: np.ndarray) -> list[np.ndarray]:
    """The ReLU hidden layers of one network (kernel, bias per layer; the last layer is the output)."""
    out = []
    for kernel, bias in zip(weights[0:-2:2], weights[1:-2:2]):
        x = np.maximum(0.0, x @ kernel + bias)
        out.append(x)
    return out


def revival_epochs(alive: np.ndarray) -> list[int]:
    """Checks at which a dead neuron is alive again (index e = after epoch e; 0 = before training)."""
    return [e for e in range(1, len(alive)) if alive[e - 1] == 0 and alive[e] == 1]


def run(ctx: Context) -> Result:
    trained = ctx.inputs["keras_circles"].arrays  # no second training run, no second model
    # Sample inputs: test points, the first few of each class, outer ring then inner ring.
    picks = np.concatenate([np.flatnonzero(trained["y_test"] == c)[:SAMPLES_PER_CLASS] for c in (0, 1)])
    activations = [a[picks] for a in layers(trained, "test_activation_")]
    on_train = layers(trained, "train_activation_")[:-1]  # the representative seed's hidden layers
    dead_sets = [set(np.flatnonzero(dead_neurons(a)).tolist()) for a in on_train] + [set()]
    sizes = [a.shape[1] for a in on_train]
    names = [f"第 {i + 1} 个隐藏层" for i in range(len(on_train))] + ["输出层"]
    fig = plot_activations(activations, names, dead_sets, SAMPLES_PER_CLASS)

    # Every seed §5 trained: dead neurons at the end, zero shares of the live ones, revivals.
    per_seed = layers(trained, "seeds_train_activation_")  # (S, samples, neurons) per hidden layer
    n_seeds = per_seed[0].shape[0]
    dead_mask = [dead_neurons(layer) for layer in per_seed]  # (S, neurons) per layer
    dead = np.array([[int(mask[s].sum()) for mask in dead_mask] for s in range(n_seeds)])
    zero_live = np.array([[zero_share_of_live(layer[s]) for layer in per_seed] for s in range(n_seeds)])
    alive = layers(trained, "seeds_alive_")  # (1 + epochs, S, neurons): at start, after each epoch
    revivals = [int(np.sum((a[:-1] == 0) & (a[1:] == 1))) for a in alive]
    revived = [np.any((a[:-1] == 0) & (a[1:] == 1), axis=0) for a in alive]  # (S, neurons)
    seeds_revived = [int(np.sum(np.any(r, axis=1))) for r in revived]
    dead_at_start = [int(np.sum(a[0] == 0)) for a in alive]
    ever_dead = [int(np.sum(np.any(a == 0, axis=0))) for a in alive]  # (seed, neuron) pairs dead at some check

    # The whole test set of the representative seed: which layer-2 neurons separate the rings?
    test_hidden = layers(trained, "test_activation_")
    outer_higher, inner_higher = separating_neurons(test_hidden[1], trained["y_test"])
    metrics: dict[str, float | int | str] = {
        "layer2_outer_higher": outer_higher, "layer2_inner_higher": inner_higher,
        "n_test": len(trained["y_test"]),
        "output_mean_outer": float(activations[-1][:SAMPLES_PER_CLASS].mean()),
        "output_mean_inner": float(activations[-1][SAMPLES_PER_CLASS:].mean()),
        "n_layers": len(activations), "n_hidden_layers": len(on_train),
        "n_samples_shown": len(picks), "samples_per_class": SAMPLES_PER_CLASS,
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
        metrics[f"dead_layer{layer}_sum"] = int(dead[:, i].sum())
        metrics[f"seeds_with_dead_layer{layer}"] = int(np.sum(dead[:, i] > 0))
        metrics[f"zero_share_live_layer{layer}_mean"] = float(np.nanmean(zero_live[:, i]))
        metrics[f"zero_share_live_layer{layer}_min"] = float(np.nanmin(zero_live[:, i]))
        metrics[f"zero_share_live_layer{layer}_max"] = float(np.nanmax(zero_live[:, i]))
        metrics[f"revivals_layer{layer}"] = revivals[i]
        metrics[f"revived_layer{layer}"] = int(revived[i].sum())  # (seed, neuron) pairs that ever revived
        metrics[f"revived_alive_end_layer{layer}"] = int(np.sum(revived[i] & (alive[i][-1] == 1)))
        metrics[f"seeds_revived_layer{layer}"] = seeds_revived[i]
        metrics[f"dead_at_start_layer{layer}"] = dead_at_start[i]
        metrics[f"ever_dead_layer{layer}"] = ever_dead[i]
        # the neurons dead at the end: dead from the start of training, or died on the way?
        final_dead = alive[i][-1] == 0
        metrics[f"final_dead_from_start_layer{layer}"] = int(np.sum(final_dead & (alive[i][0] == 0)))
        metrics[f"final_dead_died_layer{layer}"] = int(np.sum(final_dead & (alive[i][0] == 1)))
    metrics["dead_total"] = sum(len(d) for d in dead_sets)
    metrics["dead_total_mean"] = float(dead.sum(axis=1).mean())
    metrics["dead_total_min"] = int(dead.sum(axis=1).min())
    metrics["dead_total_max"] = int(dead.sum(axis=1).max())
    metrics |= dead_elsewhere(trained, dead_mask, n_seeds)
    metrics |= accuracy_by_dead(trained, dead[:, -1])
    metrics |= worked_example(alive[-1][:, 0, :], dead_sets[len(on_train) - 1])

    seed_numbers = trained.get("seeds", np.arange(n_seeds))
    rows = [[str(int(seed_numbers[s]))] + [str(d) for d in dead[s]] + [f"{z:.1%}" for z in zero_live[s]]
            for s in range(n_seeds)]
    rows.append(["平均"] + [f"{d:.1f}" for d in dead.mean(axis=0)]
                + [f"{z:.1%}" for z in np.nanmean(zero_live, axis=0)])
    header = (["随机种子"] + [f"第 {i + 1} 个隐藏层的死亡神经元（共 {n} 个）" for i, n in enumerate(sizes)]
              + [f"第 {i + 1} 个隐藏层中活神经元输出 0 的比例" for i in range(len(sizes))])
    plot_code = import_lines() + "\n\n" + "\n\n".join(
        inspect.getsource(f).rstrip() for f in (use_chinese_font, plot_activations)) + "\n"
    # 练习 6.1: per seed, the share of zero outputs among all (training point, neuron) pairs of each hidden layer
    zero_all = np.array([[float(np.mean(layer[s] <= 0)) for layer in per_seed] for s in range(n_seeds)])
    metrics |= {"ex_zero_layer1_mean": float(zero_all[:, 0].mean()), "ex_zero_layer1_min": float(zero_all[:, 0].min()),
                "ex_zero_layer1_max": float(zero_all[:, 0].max()), "ex_zero_layer2_mean": float(zero_all[:, 1].mean()),
                "ex_zero_layer2_min": float(zero_all[:, 1].min()), "ex_zero_layer2_max": float(zero_all[:, 1].max()),
                "ex_n_layer2_sparser": int(np.sum(zero_all[:, 1] > zero_all[:, 0]))}
    # the two layers are measured on the same seeds: a paired comparison, seed by seed (a two-sided sign test)
    from scipy import stats
    layer1_more = int(np.sum(zero_all[:, 0] > zero_all[:, 1]))
    untied = int(np.sum(zero_all[:, 0] != zero_all[:, 1]))
    metrics |= {"ex_n_layer1_sparser": layer1_more, "ex_n_untied": untied,
                "ex_sign_p": float(stats.binomtest(layer1_more, untied, 0.5).pvalue) if untied else 1.0}
    return Result(
        figures=[Figure("heatmaps", fig,
                        caption=f"随机种子 {int(seed_numbers[0])} 的网络各层激活热力图：{len(picks)} 个测试样本"
                                f"（左半外圈、右半内圈）× 神经元；纵轴编号带 * 的是死亡神经元；"
                                f"输出层的颜色条固定为概率 0 到 1",
                        alt=f"上下 {len(activations)} 幅热力图，分别是各隐藏层和输出层的激活，横轴为样本，纵轴为神经元")],
        tables=[Table("dead_units", header, rows,
                      caption=f"{n_seeds} 个随机种子的网络训练 {metrics['epochs']} 轮后，隐藏层在各自全部 "
                              f"{len(on_train[0])} 个训练样本上的统计；输出 0 的比例只算活着的神经元")],
        metrics=metrics,
        listings=[listing_of(activation_model.activations_per_layer, "activation_model",
                             "笔记本中被注释掉的激活模型，改用 model.inputs 后可在 Keras 3 上运行（在第 5 节的训练进程中运行）"),
                  Listing("plot", plot_code, "画热力图：笔记本函数的另一半，连同导入和中文字体的设置")],
    )


PLANE = 1.5  # the square [-PLANE, PLANE]² around the data


def dead_elsewhere(trained, dead_mask: list[np.ndarray], n_seeds: int) -> dict[str, float | int]:
    """Neurons dead on the training points: also silent on the test points, and on the plane?"""
    weights = layers(trained, "seeds_weight_")
    g = np.linspace(-PLANE, PLANE, 201)
    grid = np.stack(np.meshgrid(g, g), axis=-1).reshape(-1, 2)
    on_test = layers(trained, "seeds_test_activation_")
    n_dead = silent_on_test = fire_on_plane = 0
    shares = [0.0]
    for s in range(n_seeds):
        plane = forward_hidden([w[s] for w in weights], grid)
        for layer, mask in enumerate(dead_mask):
            for j in np.flatnonzero(mask[s]):
                n_dead += 1
                silent_on_test += int(np.all(on_test[layer][s][:, j] <= 0))
                share = float(np.mean(plane[layer][:, j] > 0))
                fire_on_plane += int(share > 0)
                shares.append(share)
    return {"dead_all_seeds": n_dead, "dead_silent_on_test": silent_on_test,
            "dead_fire_on_plane": fire_on_plane, "dead_plane_share_max": max(shares), "plane": PLANE}


def accuracy_by_dead(trained, dead_last: np.ndarray) -> dict[str, float | int]:
    """§5's test accuracy of the seeds with and without dead neurons in the last hidden layer."""
    from scipy import stats

    accuracy = np.asarray(trained["seeds_test_accuracy"], dtype=float)
    with_dead, without = accuracy[dead_last > 0], accuracy[dead_last == 0]
    # -1 where a group is empty (a metric may not be NaN; the claim needs both groups anyway)
    p = float(stats.mannwhitneyu(with_dead, without).pvalue) if len(with_dead) and len(without) else -1.0
    return {"n_seeds_with_dead": len(with_dead), "n_seeds_without_dead": len(without),
            "accuracy_with_dead_mean": float(with_dead.mean()) if len(with_dead) else -1.0,
            "accuracy_without_dead_mean": float(without.mean()) if len(without) else -1.0,
            "accuracy_dead_p": p}


def worked_example(alive: np.ndarray, dead_now: set[int]) -> dict[str, int | str]:
    """The representative seed's last hidden layer: a neuron that revived at least once
    (alive: (1 + epochs, neurons)); prefer one that is dead again at the end."""
    candidates = [j for j in range(alive.shape[1]) if revival_epochs(alive[:, j])]
    if not candidates:
        return {"example_neuron": 0, "example_revivals": 0, "example_revival_epochs": "",
                "example_dead_at_start": 0, "example_alive_end": 0, "example_marked": 0}
    j = next((c for c in candidates if c in dead_now), candidates[0])
    epochs = revival_epochs(alive[:, j])
    return {"example_neuron": j + 1, "example_revivals": len(epochs),
            "example_revival_epochs": "、".join(f"第 {e} 轮" for e in epochs),
            "example_dead_at_start": int(alive[0, j] == 0), "example_alive_end": int(alive[-1, j] == 1),
            "example_marked": int(j in dead_now)}
