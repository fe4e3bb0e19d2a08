"""§1 从零实现神经网络: the notebook's XOR run with the corrected class, then 100 seeds per configuration."""
from __future__ import annotations

import contextlib
import inspect
import io
import math
import textwrap
from dataclasses import dataclass, replace

import matplotlib.pyplot as plt
import numpy as np

from experiments import numpy_net
from experiments.numpy_net import NeuralNetwork, sigmoid_grad, softplus, tanh_grad, train_many
from report.model import Context, Figure, Listing, Result, Table

TITLE = "从零实现神经网络"
ORDER = 1

X_XOR = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
Y_XOR = np.array([[0], [1], [1], [0]])
EPOCHS = 5000  # the notebook's settings (full batch: one epoch is one step)
LEARNING_RATE = 0.1
PLATEAU_TOL = 0.01  # a failed run "sits on" a plateau when its final loss is this close to it
PLATEAU_MARGIN = 0.05  # the demo "leaves" the ln 2 plateau at the first step its loss is this far below
CI_LEVEL, CI_Z = 0.95, 1.96  # Wilson intervals: the level and its normal quantile
ALPHA = 0.05  # a Fisher p-value above this: the difference is within chance
LOSS_PERCENTILE = 90  # the sweep table's high percentile of the final loss
XOR_MIN_LIVE = 2  # live ReLU neurons that suffice for XOR: ReLU(x1 - x2) + ReLU(x2 - x1)
EXERCISE_LR = 1.0  # 练习 1.1: the notebook's network with this learning rate, same seeds and steps
N_PERMUTATIONS = 10_000  # permutation test of the rank correlation (spread vs steps to solve)


@dataclass(frozen=True)
class Config:
    key: str
    label: str
    layer_sizes: tuple[int, ...]
    activation: str
    init: str
    learning_rate: float | None = None  # None: the sweep's learning rate


CONFIGS = (
    Config("notebook", "Sigmoid，4 个（笔记本）", (2, 4, 1), "sigmoid", "xavier"),
    Config("tanh", "Tanh，4 个", (2, 4, 1), "tanh", "xavier"),
    Config("relu_xavier", "ReLU，4 个，Xavier", (2, 4, 1), "relu", "xavier"),
    Config("relu_he", "ReLU，4 个，He", (2, 4, 1), "relu", "he"),
    Config("sigmoid_wide", "Sigmoid，16 个", (2, 16, 1), "sigmoid", "xavier"),
    Config("relu_wide", "ReLU，16 个，He", (2, 16, 1), "relu", "he"),
)
# Line style and marker per configuration, so the sweep figure reads in black and white.
STYLES = {"notebook": ("-", "o"), "tanh": ("--", "s"), "relu_xavier": (":", "^"),
          "relu_he": ("-.", "v"), "sigmoid_wide": ("-", "D"), "relu_wide": ("--", "x")}


def notebook_xor(seed):
    """笔记本中的 XOR 实验，换用修正后的类：输出层为 Sigmoid，打印的是训练所用的交叉熵损失。"""
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
    y = np.array([[0], [1], [1], [0]])

    # 创建网络（隐藏层与输出层都用 Sigmoid，与笔记本相同；固定随机种子）
    nn = NeuralNetwork([2, 4, 1], activation='sigmoid', output_activation='sigmoid', seed=seed)

    # 训练（全批量：每一轮只更新一次参数，所以 5000 轮就是 5000 步）
    losses = nn.train(X, y, epochs=5000, learning_rate=0.1)

    # 测试
    print("\n预测结果:")
    for i in range(len(X)):
        pred = nn.predict(X[i:i+1])[0][0]
        print(f"输入: {X[i]}, 预测: {pred}, 真实: {y[i][0]}")
    return nn, losses


def wilson_interval(successes: int, n: int, z: float = CI_Z) -> tuple[float, float]:
    """95% Wilson score interval for a success rate (sensible even at 0 or n successes)."""
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, float(centre - half)), min(1.0, float(centre + half))


def fisher_exact(a_success: int, a_n: int, b_success: int, b_n: int) -> float:
    """Two-sided Fisher exact test for two success rates (the 2×2 table's hypergeometric tail).

    The p-value sums the probabilities of every table with the same margins that is no more
    likely than the observed one (scipy.stats.fisher_exact's two-sided definition).
    """
    successes, n = a_success + b_success, a_n + b_n
    lo, hi = max(0, successes - b_n), min(successes, a_n)

    def prob(k):
        return math.comb(a_n, k) * math.comb(b_n, successes - k) / math.comb(n, successes)

    observed = prob(a_success)
    return min(1.0, sum(p for p in map(prob, range(lo, hi + 1)) if p <= observed * (1 + 1e-7)))


@dataclass
class SweepResult:
    solved: np.ndarray  # (seeds,) bool: predict() gets all four inputs right after training
    solved_at: np.ndarray  # (seeds,) first step at which all four outputs were right (-1: never)
    losses: np.ndarray  # (seeds, epochs)
    solved_fraction: np.ndarray  # (epochs,) fraction of seeds whose four outputs are right
    hidden_z: np.ndarray  # (seeds, 4 inputs, hidden neurons): pre-activations after training
    final_outputs: np.ndarray  # (seeds, 4 inputs): the outputs behind the last recorded loss

    @property
    def dead_units(self) -> np.ndarray:
        """Hidden neurons whose pre-activation is <= 0 on all four inputs, per seed."""
        return (self.hidden_z <= 0).all(axis=1).sum(axis=1)

    @property
    def live_units(self) -> np.ndarray:
        return self.hidden_z.shape[2] - self.dead_units

    @property
    def uncovered(self) -> np.ndarray:
        """(seeds, 4) bool: inputs in the zero region of every hidden neuron (no ReLU responds)."""
        return (self.hidden_z <= 0).all(axis=2)

    @property
    def all_live_always_on(self) -> np.ndarray:
        """(seeds,) bool: some neuron is live and every live neuron is active on all four inputs,
        so the ReLU network is one linear function on the four points."""
        active = self.hidden_z > 0  # (seeds, inputs, neurons)
        live = active.any(axis=1)
        return live.any(axis=1) & (active.all(axis=1) | ~live).all(axis=1)


def sweep(configs: list[Config], seeds: list[int], epochs: int, learning_rate: float) -> dict[str, SweepResult]:
    """Train one network per configuration and seed; configurations with the same layer sizes share
    one stacked train_many call (the same steps as NeuralNetwork.train, one learning rate per
    network), ordered by activation so that each activation is applied once per step."""
    X, y = X_XOR.astype(float), Y_XOR.astype(float)
    groups: dict[tuple, list[Config]] = {}
    for config in configs:
        groups.setdefault(config.layer_sizes, []).append(config)
    results = {}
    for group in groups.values():
        group = sorted(group, key=lambda c: c.activation)  # stable: the given order within an activation
        nets = [NeuralNetwork(list(c.layer_sizes), activation=c.activation, output_activation="sigmoid",
                              init=c.init, seed=s) for c in group for s in seeds]
        rates = [c.learning_rate or learning_rate for c in group for _ in seeds]
        losses, outputs = train_many(nets, X, y, epochs, rates, return_outputs=True)
        right = ((outputs > 0.5) == (y > 0.5)).all(axis=(2, 3))  # (nets, epochs)
        solved = np.array([(net.predict(X) == y).all() for net in nets])
        hidden_z = np.stack([X @ net.weights[0] + net.biases[0] for net in nets])
        for k, config in enumerate(group):
            part = slice(k * len(seeds), (k + 1) * len(seeds))
            results[config.key] = SweepResult(
                solved=solved[part], losses=losses[part], solved_fraction=right[part].mean(axis=0),
                solved_at=np.where(right[part].any(axis=1), right[part].argmax(axis=1), -1),
                hidden_z=hidden_z[part], final_outputs=outputs[part, -1, :, 0])
    return results


# 练习 1.1: the notebook's configuration with EXERCISE_LR; trained in the sweep's call
EXERCISE_CONFIG = replace(CONFIGS[0], key="exercise_lr", learning_rate=EXERCISE_LR)


def exercise_learning_rate(r: SweepResult, notebook: SweepResult) -> dict[str, float]:
    """练习 1.1：笔记本的网络（Sigmoid，4 个神经元）把学习率换成 EXERCISE_LR，同样的种子和步数（r），能解几次？"""
    solved, n = int(r.solved.sum()), len(r.solved)
    low, high = wilson_interval(solved, n)
    # the same definition as the sweep table: the first step with all four right, over the seeds solved at the end
    median = float(np.median(r.solved_at[r.solved])) if solved else -1.0
    notebook_median = float(np.median(notebook.solved_at[notebook.solved])) if notebook.solved.any() else -1.0
    # small steps follow the gradient flow: the steps needed should scale like 1/η
    return {"ex_lr": EXERCISE_LR, "ex_lr_solved": solved, "ex_lr_rate": solved / n, "ex_lr_ci_low": low,
            "ex_lr_ci_high": high, "ex_lr_median_epochs": median,
            "ex_lr_p": fisher_exact(solved, n, int(notebook.solved.sum()), n),
            "ex_lr_factor": EXERCISE_LR / LEARNING_RATE,
            "ex_lr_steps_ratio": notebook_median / median if median > 0 else 0.0}


EXERCISE_EQUAL_WEIGHT = 0.3  # 练习 1.3: every hidden weight starts at this value


def exercise_symmetry(seed: int, epochs: int) -> dict[str, float]:
    """练习 1.3：隐藏层权重全取 EXERCISE_EQUAL_WEIGHT（偏置为 0），输出层权重也相同或仍随机；
    按笔记本的设置训练后，4 个隐藏神经元（W⁽¹⁾ 的 4 列）还一样吗？"""
    X, y = X_XOR.astype(float), Y_XOR.astype(float)
    nets = [NeuralNetwork([2, 4, 1], activation="sigmoid", output_activation="sigmoid", init="xavier", seed=seed)
            for _ in range(2)]
    for net in nets:
        net.weights[0] = np.full_like(net.weights[0], EXERCISE_EQUAL_WEIGHT)
        net.biases = [np.zeros_like(b) for b in net.biases]
    nets[0].weights[1] = np.full_like(nets[0].weights[1], EXERCISE_EQUAL_WEIGHT)  # all layers equal
    train_many(nets, X, y, epochs, LEARNING_RATE)  # nets[1] keeps its random (Xavier) output weights
    spread = [float(np.ptp(net.weights[0], axis=1).max()) for net in nets]  # largest gap between columns
    columns = np.linalg.norm(nets[1].weights[0], axis=0)
    return {"ex_equal_weight": EXERCISE_EQUAL_WEIGHT, "ex_sym_all_equal_spread": spread[0],
            "ex_sym_random_out_spread": spread[1],
            "ex_sym_random_out_column_min": float(columns.min()), "ex_sym_random_out_column_max": float(columns.max())}


def initial_outputs(activation: str, seeds: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Untrained [2, 4, 1] Xavier networks: outputs on the four inputs (seeds, 4), their loss,
    and the loss of a constant output at each network's mean output-layer z."""
    X, y = X_XOR.astype(float), Y_XOR.astype(float)
    nets = [NeuralNetwork([2, 4, 1], activation=activation, init="xavier", seed=s) for s in seeds]
    outputs = np.stack([net.forward(X)[:, 0] for net in nets])
    loss = np.array([net.loss(X, y) for net in nets])
    mean_z = np.array([net.z[-1].mean() for net in nets])
    constant = np.mean(softplus(mean_z[:, None]) - y[:, 0] * mean_z[:, None], axis=1)
    return outputs, loss, constant


def plateau_losses() -> dict[str, float]:
    """Cross-entropy when k inputs must share one output: the best shared output is their mean label."""
    def shared(labels):
        p = float(np.mean(labels))
        return -sum(math.log(p) if t else math.log(1 - p) for t in labels) / len(Y_XOR)
    return {"two": shared([0, 1]), "three": shared([0, 1, 1]), "four": shared([0, 1, 1, 0])}


def method_listing(name: str, caption: str, *methods) -> Listing:
    """Several methods of the class that ran, one after another (dedented)."""
    code = "\n".join(textwrap.dedent(inspect.getsource(m)) for m in methods)
    return Listing(name=name, code=code, caption=caption)


def loss_curve_figure(losses: np.ndarray) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(6.4, 3.0))
    ax.plot(np.arange(len(losses)), losses, linewidth=2, color="C0", label="训练损失（二元交叉熵）")
    ax.axhline(np.log(2), color="black", linestyle="--", linewidth=1,
               label="ln 2：对每个样本都输出 0.5 时的损失")
    ax.legend(loc="lower left", fontsize=8.5)
    ax.set_xlabel("训练步数（全批量，一步 = 一轮）")
    ax.set_ylabel("二元交叉熵损失")
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    return fig


def decision_boundary_figure(nn: NeuralNetwork) -> plt.Figure:
    g = np.linspace(-0.5, 1.5, 201)
    gx, gy = np.meshgrid(g, g)
    proba = nn.forward(np.column_stack([gx.ravel(), gy.ravel()])).reshape(gx.shape)
    fig, ax = plt.subplots(figsize=(5.0, 3.9))
    filled = ax.contourf(gx, gy, proba, levels=np.linspace(0, 1, 11), cmap="cividis")
    filled.set_rasterized(True)  # thousands of polygon vertices: an image is lighter to draw and print
    ax.contour(gx, gy, proba, levels=[0.5], colors="white", linewidths=3.5)
    ax.contour(gx, gy, proba, levels=[0.5], colors="black", linewidths=1.5)
    for label, marker, face, edge, name in ((0, "o", "white", "black", "真实类别 0"),
                                            (1, "^", "black", "white", "真实类别 1")):
        pts = X_XOR[Y_XOR[:, 0] == label]
        ax.scatter(pts[:, 0], pts[:, 1], marker=marker, s=150, c=face, edgecolors=edge,
                   linewidths=1.8, label=name, zorder=3)
    fig.colorbar(filled, ax=ax, label="网络输出（预测为 1 的概率）")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_aspect("equal")
    legend = ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, frameon=True, fontsize=9)
    legend.get_frame().set_facecolor("#bbbbbb")  # the white-edged triangle stays visible in the key
    return fig


def sweep_figure(results: dict[str, SweepResult], epochs: int) -> plt.Figure:
    fig, (ax_solved, ax_loss) = plt.subplots(1, 2, figsize=(6.5, 3.55))
    steps = np.arange(epochs)
    for i, config in enumerate(CONFIGS):
        r = results[config.key]
        linestyle, marker = STYLES[config.key]
        style = dict(color=f"C{i}", linewidth=1.4, linestyle=linestyle, marker=marker, markersize=4.5,
                     markevery=(i * epochs // 60, epochs // 10))
        ax_solved.plot(steps, r.solved_fraction * 100, label=config.label, **style)
        ax_loss.plot(steps, r.losses.mean(axis=0), **style)
    ax_solved.set_ylabel("已解决 XOR 的种子（%）")
    ax_solved.set_ylim(0, 102)
    ax_loss.set_ylabel("损失（所有种子的平均）")
    ax_loss.set_yscale("log")
    for ax in (ax_solved, ax_loss):
        ax.set_xlabel("训练步数")
        ax.grid(True, alpha=0.3)
    fig.tight_layout(rect=(0, 0.14, 1, 1))
    fig.legend(*ax_solved.get_legend_handles_labels(), loc="lower center", ncol=3, frameon=False,
               fontsize=8, bbox_to_anchor=(0.5, 0.0), handlelength=2.6)
    return fig


def rank_correlation(x: np.ndarray, y: np.ndarray, permutations: int = N_PERMUTATIONS,
                     seed: int = 0) -> tuple[float, float]:
    """Spearman's rank correlation and a two-sided permutation p-value (ties get average ranks)."""
    def ranks(v):
        order = np.argsort(v, kind="stable")
        r = np.empty(len(v))
        r[order] = np.arange(len(v), dtype=float)
        for value in np.unique(v):  # average the ranks of tied values
            tied = v == value
            r[tied] = r[tied].mean()
        return r

    rx, ry = ranks(np.asarray(x, float)), ranks(np.asarray(y, float))
    rx, ry = rx - rx.mean(), ry - ry.mean()
    rho = float(rx @ ry / np.sqrt((rx @ rx) * (ry @ ry)))
    rng = np.random.default_rng(seed)
    shuffled = np.stack([rng.permutation(ry) for _ in range(permutations)])
    null = shuffled @ rx / np.sqrt((rx @ rx) * (ry @ ry))
    p = (1 + int((np.abs(null) >= abs(rho) - 1e-12).sum())) / (permutations + 1)
    return rho, float(p)


def module_lines(module, first: str, last: str) -> str:
    """The lines of a module's source from the line starting with `first` to the one starting with `last`."""
    lines = inspect.getsource(module).splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(first))
    end = next(i for i, line in enumerate(lines) if i >= start and line.startswith(last))
    return "\n".join(lines[start:end + 1]) + "\n"


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
        caption=f"训练 {EPOCHS} 步后对 {len(X_XOR)} 个 XOR 样本的预测（随机种子 {ctx.seed}）",
    )
    plateaus = plateau_losses()
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
        # the first step at which the loss is clearly below the plateau, and below half of ln 2
        "demo_steps_leave_plateau": int(np.argmax(losses < np.log(2) - PLATEAU_MARGIN)),
        "plateau_margin": PLATEAU_MARGIN, "plateau_tol": PLATEAU_TOL, "n_plateau_levels": len(plateaus),
        "ci_level": CI_LEVEL, "alpha": ALPHA, "loss_percentile": LOSS_PERCENTILE,
        "xor_min_live": XOR_MIN_LIVE, "many_live": XOR_MIN_LIVE + 1,
        "n_inputs": CONFIGS[0].layer_sizes[0], "n_outputs": CONFIGS[0].layer_sizes[-1],
        "demo_steps_half": int(np.argmax(losses < np.log(2) / 2)),
        "ln2": float(np.log(2)), "plateau_two": plateaus["two"], "plateau_three": plateaus["three"],
        # the Xavier limits sqrt(6 / (n_in + n_out)) of the demo's two layers, from the weights that ran
        "xavier_limit_hidden": float(np.sqrt(6 / sum(nn.weights[0].shape))),
        "xavier_limit_output": float(np.sqrt(6 / sum(nn.weights[1].shape))),
        "default_init_relu": numpy_net.DEFAULT_INIT["relu"], "default_init_sigmoid": numpy_net.DEFAULT_INIT["sigmoid"],
    }

    n_seeds = 10 if ctx.quick else 100
    seeds = [ctx.seed + i for i in range(n_seeds)]

    # 2. Why the loss starts near ln 2: the untrained network's output hardly depends on the input.
    init_out, init_loss, init_constant = initial_outputs("sigmoid", seeds)
    tanh_out, _, _ = initial_outputs("tanh", seeds)
    spread, tanh_spread = np.ptp(init_out, axis=1), np.ptp(tanh_out, axis=1)
    metrics |= {
        "demo_init_spread": float(spread[0]),
        "init_spread_median": float(np.median(spread)), "init_spread_max": float(spread.max()),
        "init_spread_tanh_median": float(np.median(tanh_spread)),
        "init_spread_tanh_ratio": float(np.median(tanh_spread) / np.median(spread)),
        "init_loss_mean": float(init_loss.mean()), "init_loss_min": float(init_loss.min()),
        "init_loss_max": float(init_loss.max()),
        "init_constant_loss_mean": float(init_constant.mean()),
    }

    # 3. The honest picture: many seeds per configuration.
    sweep_epochs = 2000 if ctx.quick else EPOCHS
    results = sweep(list(CONFIGS) + [EXERCISE_CONFIG], seeds, sweep_epochs, LEARNING_RATE)
    rows = []
    for c in CONFIGS:
        r = results[c.key]
        solved = int(r.solved.sum())
        low, high = wilson_interval(solved, n_seeds)
        median_epoch = float(np.median(r.solved_at[r.solved])) if solved else float("nan")
        final = r.losses[:, -1]
        metrics |= {f"{c.key}_solved": solved, f"{c.key}_rate": solved / n_seeds,
                    f"{c.key}_ci_low": low, f"{c.key}_ci_high": high,
                    f"{c.key}_mean_loss": float(final.mean()),
                    f"{c.key}_p90_loss": float(np.quantile(final, LOSS_PERCENTILE / 100)),
                    f"{c.key}_median_loss": float(np.median(final))}
        # -1 when no seed solved it (only possible in --quick previews)
        metrics[f"{c.key}_median_epochs"] = median_epoch if solved else -1.0
        rows.append([c.label, f"{solved}/{n_seeds}", f"{low * 100:.0f}%–{high * 100:.0f}%",
                     f"{median_epoch:.0f}" if solved else "—",
                     f"{final.mean():.3f}", f"{np.quantile(final, LOSS_PERCENTILE / 100):.3f}"])
    sweep_table = Table(
        name="sweep",
        header=["隐藏层激活函数、神经元数、初始化", "解决 XOR 的种子", f"成功率的 {CI_LEVEL:.0%} 置信区间",
                "全部分对所需步数（仅成功种子，中位数）", "最终损失（平均）",
                f"最终损失（第 {LOSS_PERCENTILE} 百分位）"],
        rows=rows,
        caption=f"{n_seeds} 个随机种子（{seeds[0]}–{seeds[-1]}）下各配置的结果；一个隐藏层，"
                f"Sigmoid 与 Tanh 都用 Xavier 初始化；学习率 {LEARNING_RATE}，全批量训练 {sweep_epochs} 步",
    )

    # Are the differences in success rate more than chance? Fisher's exact test on the 2×2 tables.
    def rate_test(a: str, b: str) -> float:
        return fisher_exact(metrics[f"{a}_solved"], n_seeds, metrics[f"{b}_solved"], n_seeds)

    metrics |= {
        "p_sigmoid_wide_vs_notebook": rate_test("sigmoid_wide", "notebook"),
        "p_relu_wide_vs_relu_he": rate_test("relu_wide", "relu_he"),
        "p_relu_he_vs_relu_xavier": rate_test("relu_he", "relu_xavier"),
        "p_tanh_vs_notebook": rate_test("tanh", "notebook"),
        "sigmoid_wide_gain_points": (metrics["sigmoid_wide_rate"] - metrics["notebook_rate"]) * 100,
        "tanh_gain_points": (metrics["tanh_rate"] - metrics["notebook_rate"]) * 100,
        # how many times fewer steps Tanh needs than the notebook's Sigmoid (medians over solved seeds)
        "tanh_speedup": (metrics["notebook_median_epochs"] / metrics["tanh_median_epochs"]
                         if metrics["tanh_median_epochs"] > 0 else 0.0),
    }

    # Does a seed's small initial output spread predict a slow solve? Rank correlation over the
    # notebook configuration's successful seeds (sweep and initial_outputs use the same seeds).
    nb = results["notebook"]
    if nb.solved.sum() >= 3:
        rho, p_rho = rank_correlation(spread[nb.solved], nb.solved_at[nb.solved])
    else:  # only possible in --quick previews
        rho, p_rho = 0.0, 1.0
    metrics |= {"spread_steps_rho": rho, "spread_steps_p": p_rho, "n_permutations": N_PERMUTATIONS}

    # 4. Why small ReLU networks fail: live neurons, plateaus, inputs no live neuron responds to.
    relu = [results[k] for k in ("relu_xavier", "relu_he")]
    solved = np.concatenate([r.solved for r in relu])
    failed = ~solved
    final = np.concatenate([r.losses[:, -1] for r in relu])
    live = np.concatenate([r.live_units for r in relu])
    uncovered = np.concatenate([r.uncovered for r in relu])  # (runs, 4 inputs)
    labels = Y_XOR[:, 0].astype(bool)
    mixed = (uncovered & labels).any(axis=1) & (uncovered & ~labels).any(axis=1)  # both classes stuck
    linear = np.concatenate([r.all_live_always_on for r in relu])
    final_out = np.concatenate([r.final_outputs for r in relu])
    # the inputs some live neuron responds to, in failed runs with stuck inputs: already fitted?
    covered_error = np.abs(final_out - Y_XOR[:, 0])[(failed & mixed)[:, None] & ~uncovered]
    near = lambda level: np.abs(final - level) < PLATEAU_TOL  # noqa: E731
    units = CONFIGS[2].layer_sizes[1]
    metrics |= {
        "relu_small_runs": int(solved.size), "relu_small_failed": int(failed.sum()),
        "relu_small_solved": int(solved.sum()),
        "fail_at_plateau_two": int((failed & near(plateaus["two"])).sum()),
        "fail_at_plateau_three": int((failed & near(plateaus["three"])).sum()),
        "fail_at_ln2": int((failed & near(np.log(2))).sum()),
        "fail_max_final_loss": float(final[failed].max()) if failed.any() else 0.0,
        "fail_min_final_loss": float(final[failed].min()) if failed.any() else 0.0,
        "solved_max_final_loss": float(final[solved].max()) if solved.any() else 0.0,
        "solved_two_live": int((solved & (live == XOR_MIN_LIVE)).sum()),
        "solved_min_live": int(live[solved].min()) if solved.any() else -1,
        "failed_three_plus_live": int((failed & (live >= XOR_MIN_LIVE + 1)).sum()),
        "fail_uncovered": int((failed & uncovered.any(axis=1)).sum()),
        "fail_uncovered_mixed": int((failed & mixed).sum()),
        "fail_linear": int((failed & linear).sum()),
        "fail_no_live": int((failed & (live == 0)).sum()),
        "fail_explained": int((failed & (mixed | linear)).sum()),
        "fail_covered_max_error": float(covered_error.max()) if covered_error.size else 0.0,
        "solved_uncovered": int((solved & uncovered.any(axis=1)).sum()),
        "solved_uncovered_mixed": int((solved & mixed).sum()),
        "solved_uncovered_class1": int((solved & (uncovered & labels).any(axis=1)).sum()),
        "solved_uncovered_class0": int((solved & (uncovered & ~labels).any(axis=1)).sum()),
        "fail_not_mixed": int((failed & ~mixed).sum()),
        "small_runs_uncovered": int(uncovered.any(axis=1).sum()),
        "wide_runs_uncovered": int(results["relu_wide"].uncovered.any(axis=1).sum()),
        "wide_runs_mixed": int(((results["relu_wide"].uncovered & labels).any(axis=1)
                                & (results["relu_wide"].uncovered & ~labels).any(axis=1)).sum()),
        "relu_failed_mean_live": float(live[failed].mean()) if failed.any() else 0.0,
        "relu_solved_mean_live": float(live[solved].mean()) if solved.any() else 0.0,
        "notebook_failed": int((~results["notebook"].solved).sum()),
        "relu_xavier_solved_by_tenth": float(results["relu_xavier"].solved_fraction[sweep_epochs // 10]),
        # the rise of the left curve after the tenth of training, in seeds: solved at the end
        # minus those whose four outputs were right at that step
        **{f"{k}_solved_after_tenth": int(results[k].solved.sum())
           - int(round(results[k].solved_fraction[sweep_epochs // 10] * n_seeds))
           for k in ("relu_xavier", "relu_he")},
        "relu_he_solved_by_tenth": float(results["relu_he"].solved_fraction[sweep_epochs // 10]),
        "notebook_solved_by_tenth": float(results["notebook"].solved_fraction[sweep_epochs // 10]),
        "tenth_steps": sweep_epochs // 10,
        "n_seeds": n_seeds, "sweep_epochs": sweep_epochs, "first_seed": seeds[0], "last_seed": seeds[-1],
    }
    live_table = Table(
        name="relu_live",
        header=["训练后活着的隐藏层神经元", "成功的运行", "失败的运行",
                "失败且有输入落在所有神经元的零区", f"失败且活神经元对 {len(X_XOR)} 个输入都激活"],
        rows=[[f"{k} 个", str(int((solved & (live == k)).sum())), str(int((failed & (live == k)).sum())),
               str(int((failed & (live == k) & uncovered.any(axis=1)).sum())),
               str(int((failed & (live == k) & linear).sum()))] for k in range(units + 1)]
        + [["合计", str(int(solved.sum())), str(int(failed.sum())),
            str(metrics["fail_uncovered"]), str(metrics["fail_linear"])]],
        caption=f"{units} 个神经元的 ReLU 隐藏层（Xavier 与 He 两种初始化各 {n_seeds} 个随机种子）训练 "
                f"{sweep_epochs} 步后：活着的神经元（至少对一个输入的 z > 0）个数与成败",
    )

    full_module = Listing(name="network_full", code=inspect.getsource(numpy_net),
                          caption="完整的 experiments/numpy_net.py（修正后的 NeuralNetwork 类与辅助函数）")
    metrics |= exercise_learning_rate(results[EXERCISE_CONFIG.key], results["notebook"])
    metrics |= exercise_symmetry(ctx.seed, sweep_epochs)
    return Result(
        figures=[
            Figure("loss_curve", loss_curve_figure(losses),
                   caption=f"笔记本配置（[2, 4, 1]，Sigmoid，学习率 {LEARNING_RATE}，随机种子 {ctx.seed}）"
                           f"在 XOR 上的训练损失，逐步记录",
                   alt=f"交叉熵损失从 {losses[0]:.3f} 降到 {losses[-1]:.3f}"),
            Figure("decision_boundary", decision_boundary_figure(nn),
                   caption=f"训练后的网络（随机种子 {ctx.seed}）在输入平面上的输出与决策边界（黑线：输出 = 0.5）；"
                           "圆点为类别 0，三角为类别 1",
                   alt=f"输入平面上网络输出的等高线图，颜色由深到浅表示输出由 0 到 1，{len(X_XOR)} 个 XOR 样本点标在图上"),
            Figure("sweep_curves", sweep_figure(results, sweep_epochs),
                   caption=f"{n_seeds} 个随机种子下各配置的训练进度：左为已解决 XOR 的种子比例，"
                           "右为所有种子损失的平均（对数坐标，失败的种子把平均值托在高处）；"
                           "图例为隐藏层的激活函数、神经元个数和初始化（Sigmoid 与 Tanh 用 Xavier）",
                   alt="左图为各配置解决 XOR 的种子比例随训练步数的变化，右图为平均损失随训练步数的变化"),
        ],
        tables=[predictions, sweep_table, live_table],
        metrics={k: v.item() if isinstance(v, np.generic) else v for k, v in metrics.items()},
        logs={"training": out.getvalue()},
        listings=[
            Listing(name="helpers", code=module_lines(numpy_net, "def sigmoid(", "DEFAULT_INIT = "),
                    caption="激活函数及其导数、softplus，以及构造函数用到的几张表（experiments/numpy_net.py）"),
            method_listing("init", "构造函数：按层创建权重与偏置（experiments/numpy_net.py）",
                           NeuralNetwork.__init__),
            method_listing("forward", "前向传播：逐层计算 z 与 a，隐藏层与输出层的激活函数分开选",
                           NeuralNetwork._activate, NeuralNetwork.forward),
            method_listing("gradients", "损失与反向传播：训练所用的损失，以及它对每层参数的梯度",
                           NeuralNetwork._loss_of_last_forward, NeuralNetwork.gradients),
            method_listing("train", "一步梯度下降与训练循环",
                           NeuralNetwork.backward, NeuralNetwork.train),
            Listing(name="xor_cell", code=inspect.getsource(notebook_xor),
                    caption="XOR 实验（与笔记本相同的设置）"),
            full_module,
        ],
    )
