"""§1 从零实现神经网络: the notebook's XOR run with the corrected class, then 100 seeds per configuration."""
from __future__ import annotations

import contextlib
import inspect
import io
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np

from experiments.numpy_net import NeuralNetwork, sigmoid_grad, tanh_grad, train_many
from report.model import Context, Figure, Result, Table, listing_of

TITLE = "从零实现神经网络"
ORDER = 1

X_XOR = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
Y_XOR = np.array([[0], [1], [1], [0]])
EPOCHS = 5000  # the notebook's settings
LEARNING_RATE = 0.1


@dataclass(frozen=True)
class Config:
    key: str
    label: str
    layer_sizes: tuple[int, ...]
    activation: str
    init: str


CONFIGS = (
    Config("notebook", "笔记本原配置", (2, 4, 1), "sigmoid", "xavier"),
    Config("tanh", "Tanh 隐藏层", (2, 4, 1), "tanh", "xavier"),
    Config("relu_xavier", "ReLU 隐藏层（Xavier）", (2, 4, 1), "relu", "xavier"),
    Config("relu_he", "ReLU 隐藏层（He）", (2, 4, 1), "relu", "he"),
    Config("sigmoid_wide", "Sigmoid，16 个隐藏单元", (2, 16, 1), "sigmoid", "xavier"),
    Config("relu_wide", "ReLU + He，16 个隐藏单元", (2, 16, 1), "relu", "he"),
)
INIT_NAMES = {"xavier": "Xavier", "he": "He"}


def notebook_xor(seed):
    """笔记本中的 XOR 实验，换用修正后的类：输出层为 sigmoid，打印的是训练所用的交叉熵损失。"""
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
    y = np.array([[0], [1], [1], [0]])

    # 创建网络（隐藏层与输出层都用 sigmoid，与笔记本相同；固定随机种子）
    nn = NeuralNetwork([2, 4, 1], activation='sigmoid', output_activation='sigmoid', seed=seed)

    # 训练
    losses = nn.train(X, y, epochs=5000, learning_rate=0.1)

    # 测试
    print("\n预测结果:")
    for i in range(len(X)):
        pred = nn.predict(X[i:i+1])[0][0]
        print(f"输入: {X[i]}, 预测: {pred}, 真实: {y[i][0]}")
    return nn, losses


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval for a success rate (sensible even at 0 or n successes)."""
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass
class SweepResult:
    solved: np.ndarray  # (seeds,) bool: predict() gets all four inputs right after training
    solved_at: np.ndarray  # (seeds,) first epoch at which all four outputs were right (-1: never)
    losses: np.ndarray  # (seeds, epochs)
    solved_fraction: np.ndarray  # (epochs,) fraction of seeds whose four outputs are right
    dead_units: np.ndarray  # (seeds,) hidden units whose pre-activation is <= 0 on all four inputs


def sweep(configs: list[Config], seeds: list[int], epochs: int, learning_rate: float) -> dict[str, SweepResult]:
    """Train one network per configuration and seed; configurations that differ only in their
    initialisation share one stacked train_many call (the same steps as NeuralNetwork.train)."""
    X, y = X_XOR.astype(float), Y_XOR.astype(float)
    groups: dict[tuple, list[Config]] = {}
    for config in configs:
        groups.setdefault((config.layer_sizes, config.activation), []).append(config)
    results = {}
    for group in groups.values():
        nets = [NeuralNetwork(list(c.layer_sizes), activation=c.activation, output_activation="sigmoid",
                              init=c.init, seed=s) for c in group for s in seeds]
        losses, outputs = train_many(nets, X, y, epochs, learning_rate, return_outputs=True)
        right = ((outputs > 0.5) == (y > 0.5)).all(axis=(2, 3))  # (nets, epochs)
        solved = np.array([(net.predict(X) == y).all() for net in nets])
        hidden_z = np.stack([X @ net.weights[0] + net.biases[0] for net in nets])
        dead = (hidden_z <= 0).all(axis=1).sum(axis=1)
        for k, config in enumerate(group):
            part = slice(k * len(seeds), (k + 1) * len(seeds))
            results[config.key] = SweepResult(
                solved=solved[part], losses=losses[part], solved_fraction=right[part].mean(axis=0),
                solved_at=np.where(right[part].any(axis=1), right[part].argmax(axis=1), -1),
                dead_units=dead[part])
    return results


def loss_curve_figure(losses: np.ndarray) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(7, 3.6))
    ax.plot(np.arange(len(losses)), losses, linewidth=2, label="训练损失")
    ax.axhline(np.log(2), color="gray", linestyle="--", linewidth=1,
               label="ln 2：网络对每个样本都输出 0.5 时的损失")
    ax.legend(loc="lower left")
    ax.set_xlabel("训练轮数（epoch）")
    ax.set_ylabel("二元交叉熵损失")
    ax.set_title("XOR 训练损失")
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    return fig


def decision_boundary_figure(nn: NeuralNetwork) -> plt.Figure:
    g = np.linspace(-0.5, 1.5, 201)
    gx, gy = np.meshgrid(g, g)
    proba = nn.forward(np.column_stack([gx.ravel(), gy.ravel()])).reshape(gx.shape)
    fig, ax = plt.subplots(figsize=(5.6, 4.6))
    filled = ax.contourf(gx, gy, proba, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.8)
    filled.set_rasterized(True)  # thousands of polygon vertices: an image is lighter to draw and print
    ax.contour(gx, gy, proba, levels=[0.5], colors="black", linewidths=2)
    for label, marker, name in ((0, "o", "真实类别 0"), (1, "^", "真实类别 1")):
        pts = X_XOR[Y_XOR[:, 0] == label]
        ax.scatter(pts[:, 0], pts[:, 1], marker=marker, s=140, c="white", edgecolors="black",
                   linewidths=1.5, label=name, zorder=3)
    fig.colorbar(filled, ax=ax, label="网络输出（预测为 1 的概率）")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_title("决策边界（黑线：输出 = 0.5）")
    ax.set_aspect("equal")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2, frameon=False)
    return fig


def sweep_figure(results: dict[str, SweepResult], epochs: int) -> plt.Figure:
    fig, (ax_solved, ax_loss) = plt.subplots(1, 2, figsize=(10, 4.2))
    for i, config in enumerate(CONFIGS):
        r = results[config.key]
        style = dict(color=f"C{i}", linewidth=2.4 if config.key == "notebook" else 1.6,
                     linestyle="-" if config.layer_sizes[1] == CONFIGS[0].layer_sizes[1] else "--")
        ax_solved.plot(np.arange(epochs), r.solved_fraction * 100, label=config.label, **style)
        ax_loss.plot(np.arange(epochs), np.median(r.losses, axis=0), **style)
    ax_solved.set_ylabel("已解决 XOR 的种子（%）")
    ax_solved.set_ylim(0, 102)
    ax_solved.set_title("多少个随机种子已把四个样本全部分对")
    ax_solved.set_xlabel("训练轮数（epoch）")
    ax_loss.set_xlabel("训练轮数（epoch）")
    ax_loss.set_ylabel("交叉熵损失（各种子的中位数）")
    ax_loss.set_yscale("log")
    ax_loss.set_title("损失的中位数")
    for ax in (ax_solved, ax_loss):
        ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.legend(*ax_solved.get_legend_handles_labels(), loc="upper center", ncol=3, frameon=False,
               bbox_to_anchor=(0.5, 0.0))
    return fig


def run(ctx: Context) -> Result:
    # 1. The notebook's cell, as it prints.
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        nn, losses = notebook_xor(ctx.seed)
    proba = nn.forward(X_XOR)[:, 0]
    pred = nn.predict(X_XOR)[:, 0]
    correct = int((pred == Y_XOR[:, 0]).sum())
    predictions = Table(
        name="predictions",
        header=["输入", "网络输出（概率）", "预测", "真实"],
        rows=[[f"({x1}, {x2})", f"{p:.4f}", f"{int(c)}", f"{t}"]
              for (x1, x2), p, c, t in zip(X_XOR, proba, pred, Y_XOR[:, 0])],
        caption=f"训练 {EPOCHS} 轮后对四个 XOR 样本的预测（随机种子 {ctx.seed}）",
    )
    metrics: dict[str, float | int | str] = {
        "epochs": EPOCHS, "learning_rate": LEARNING_RATE, "seed": ctx.seed,
        "print_every": inspect.signature(NeuralNetwork.train).parameters["print_every"].default,
        "architecture": str(nn.layer_sizes), "hidden_units": CONFIGS[0].layer_sizes[1],
        "wide_units": CONFIGS[-1].layer_sizes[1],
        "sigmoid_max_grad": float(sigmoid_grad(0.0)), "tanh_max_grad": float(tanh_grad(0.0)),
        "tanh_to_sigmoid_grad": float(tanh_grad(0.0) / sigmoid_grad(0.0)),
        "demo_initial_loss": float(losses[0]), "demo_final_loss": float(losses[-1]),
        "demo_final_mse": float(np.mean((nn.forward(X_XOR) - Y_XOR) ** 2)),
        "demo_correct": correct, "n_samples": len(X_XOR),
        "demo_min_margin": float(np.min(np.abs(proba - 0.5))),
    }

    # 2. The honest picture: many seeds per configuration.
    n_seeds = 10 if ctx.quick else 100
    sweep_epochs = 2000 if ctx.quick else EPOCHS
    seeds = [ctx.seed + i for i in range(n_seeds)]
    results = sweep(list(CONFIGS), seeds, sweep_epochs, LEARNING_RATE)
    rows = []
    for c in CONFIGS:
        r = results[c.key]
        solved = int(r.solved.sum())
        low, high = wilson_interval(solved, n_seeds)
        median_epoch = float(np.median(r.solved_at[r.solved])) if solved else float("nan")
        metrics |= {f"{c.key}_solved": solved, f"{c.key}_rate": solved / n_seeds,
                    f"{c.key}_ci_low": low, f"{c.key}_ci_high": high,
                    f"{c.key}_median_loss": float(np.median(r.losses[:, -1]))}
        # -1 when no seed solved it (only possible in --quick previews)
        metrics[f"{c.key}_median_epochs"] = median_epoch if solved else -1.0
        rows.append([c.label, f"{c.layer_sizes[1]} 个 {c.activation}", INIT_NAMES[c.init],
                     f"{solved}/{n_seeds}", f"{low * 100:.0f}%–{high * 100:.0f}%",
                     f"{median_epoch:.0f}" if solved else "—",
                     f"{np.median(r.losses[:, -1]):.4f}"])
    sweep_table = Table(
        name="sweep",
        header=["配置", "隐藏层", "初始化", "解决 XOR 的种子", "95% 置信区间",
                "全部分对所需轮数（中位数）", "最终损失（中位数）"],
        rows=rows,
        caption=f"{n_seeds} 个随机种子（{seeds[0]}–{seeds[-1]}）下各配置的结果；"
                f"学习率 {LEARNING_RATE}，训练 {sweep_epochs} 轮",
    )
    # Why small ReLU networks fail: count hidden units that are dead on all four inputs.
    relu_runs = [results[k] for k in ("relu_xavier", "relu_he")]
    failed_dead = np.concatenate([r.dead_units[~r.solved] for r in relu_runs])
    solved_dead = np.concatenate([r.dead_units[r.solved] for r in relu_runs])
    notebook = results["notebook"]
    metrics |= {
        "n_seeds": n_seeds, "sweep_epochs": sweep_epochs,
        "first_seed": seeds[0], "last_seed": seeds[-1],
        "relu_small_runs": int(failed_dead.size + solved_dead.size),
        "relu_small_failed": int(failed_dead.size),
        "relu_failed_mean_dead": float(np.mean(failed_dead)) if failed_dead.size else 0.0,
        "relu_solved_mean_dead": float(np.mean(solved_dead)) if solved_dead.size else 0.0,
        "notebook_failed": int((~notebook.solved).sum()),
        "ln2": float(np.log(2)),
    }

    return Result(
        figures=[
            Figure("loss_curve", loss_curve_figure(losses),
                   caption=f"笔记本配置（[2, 4, 1]，sigmoid，学习率 {LEARNING_RATE}）在 XOR 上的训练损失，逐轮记录",
                   alt=f"交叉熵损失从 {losses[0]:.3f} 降到 {losses[-1]:.3f}"),
            Figure("decision_boundary", decision_boundary_figure(nn),
                   caption="训练后的网络在输入平面上的输出与决策边界",
                   alt="输入平面上网络输出的等高线图，四个 XOR 样本点标在图上"),
            Figure("sweep_curves", sweep_figure(results, sweep_epochs),
                   caption=f"{n_seeds} 个随机种子下各配置的训练进度：左为已解决 XOR 的种子比例，右为损失的中位数（对数坐标）",
                   alt="左图为各配置解决 XOR 的种子比例随训练轮数的变化，右图为损失中位数随训练轮数的变化"),
        ],
        tables=[predictions, sweep_table],
        metrics=metrics,
        logs={"training": out.getvalue()},
        listings=[listing_of(NeuralNetwork, "network", "修正后的 NeuralNetwork 类（experiments/numpy_net.py，本次构建实际运行的代码）"),
                  listing_of(notebook_xor, "xor_cell", "XOR 实验（与笔记本相同的设置）")],
    )
