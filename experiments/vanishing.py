"""§4 梯度消失问题: the notebook's σ'(1)^depth demonstration, gradients measured in networks with
9 hidden layers over several seeds, exploding gradients, and why initial weights must be random."""
from __future__ import annotations

import contextlib
import io

import matplotlib.pyplot as plt
import numpy as np

from experiments.numpy_net import HIDDEN_ACTIVATIONS, NeuralNetwork, sigmoid, sigmoid_grad, train_many
from report.model import Context, Figure, Result, Table, listing_of

TITLE = "梯度消失问题"
ORDER = 4

DEMO_X = 1.0  # the notebook's z in its σ'(z)^depth demonstration
DEPTH = 10  # weight layers in the measured networks: 9 hidden layers + the output layer
HIDDEN = DEPTH - 1
WIDTH = 64  # neurons per hidden layer
N_FEATURES = 32
ACTIVATIONS = ("sigmoid", "tanh", "relu")
INITS = ("xavier", "he")
LABELS = {"sigmoid": "Sigmoid", "tanh": "Tanh", "relu": "ReLU", "xavier": "Xavier", "he": "He"}
STYLES = {"sigmoid": ("o", "-"), "tanh": ("s", "--"), "relu": ("^", ":")}  # greyscale: marker + line style
# The span over which a per-layer factor is measured: weight layer 9 (the last hidden layer) down to
# weight layer 1. The output layer is left out: its δ = a − y is not the product of a hidden layer.
SPAN_TOP = HIDDEN  # 1-based layer number
SPAN_STEPS = SPAN_TOP - 1
EXPLODE_SCALES = (1, 2, 3, 4)  # Tanh with Xavier weights multiplied by this
DEPTH_CHECK = (HIDDEN, 19, 39)  # ReLU + He measured again with this many hidden layers
# One wording rule for a quantity's total change over the SPAN_STEPS steps (the same in every seed):
KEEP = (0.5, 2.0)  # “基本不变”: between these; “衰减”: below KEEP[0]; “放大”: above KEEP[1]
VANISH_BELOW = 1e-3  # “消失”: below this
EXERCISE_WIDTH = 16  # 练习 4.1: Sigmoid + Xavier measured again with this many neurons per hidden layer
SYM_SIZES = [2, 8, 1]
SYM_STEPS, SYM_LR, SYM_SAMPLES = 400, 2.0, 100
SYM_SEEDS = 8
SYM_EQUAL_RANGE = (0.1, 0.5)  # the shared initial value c is drawn from this interval, per seed


def demonstrate_vanishing_gradient(depths=range(2, 11), x=1.0):
    """演示梯度消失（笔记本的计算，画图部分单独放在后面）"""
    sigmoid_grads = []
    relu_grads = []

    for depth in depths:
        # Sigmoid 梯度：每一层都乘上 σ'(x)
        sigmoid_grad = 1
        for _ in range(depth):
            sigmoid_grad *= sigmoid(x) * (1 - sigmoid(x))
        sigmoid_grads.append(float(sigmoid_grad))

        # ReLU 梯度：x > 0 时每一层都乘上 1
        relu_grad = 1
        for _ in range(depth):
            relu_grad *= 1 if x > 0 else 0
        relu_grads.append(float(relu_grad))

    print("Sigmoid 梯度随深度变化:")
    for d, grad in zip(depths, sigmoid_grads):
        print(f"深度 {d}: {grad:.6e}")
    return list(depths), sigmoid_grads, relu_grads


def layer_gradient_norms(activation, init, X, y, seed, depth=DEPTH, width=WIDTH, scale=1.0):
    """初始化时（还没训练）测量一个有 depth - 1 个隐藏层的网络，返回一个字典：
    grad：每一层权重梯度的范数 ‖∂L/∂W(l)‖；delta：每一层误差项的范数 ‖δ(l)‖；
    weight_term：δ(l+1) 乘上 W(l+1)ᵀ 之后范数放大的倍数（权重这一项）；
    centred：把第 l 层的输入 a(l-1) 减去它在样本上的均值之后的 ‖(a(l-1) − ā(l-1))ᵀ δ(l)‖；
    spread：每个隐藏层的前向信号。"""
    sizes = [X.shape[1]] + [width] * (depth - 1) + [1]
    net = NeuralNetwork(sizes, activation=activation, output_activation="sigmoid", init=init, seed=seed)
    net.weights = [w * scale for w in net.weights]  # scale > 1：故意把初始权重放大（梯度爆炸的实验）
    dW, _ = net.gradients(X, y)  # gradients 内部做了一次前向传播，net.a 和 net.z 里是各层的值
    # 误差项 δ(l) = ∂L/∂z(l)：和 gradients 一样从输出层往回算，只是把每一层的 δ 都记下来
    f_prime = HIDDEN_ACTIVATIONS[activation][1]
    deltas = [(net.a[-1] - y) / len(X)]
    weight_term = []
    for i in range(len(net.weights) - 1, 0, -1):
        back = deltas[0] @ net.weights[i].T  # 权重这一项
        weight_term.insert(0, np.linalg.norm(back) / np.linalg.norm(deltas[0]))
        deltas.insert(0, back * f_prime(net.z[i - 1]))  # 再乘激活函数的导数这一项
    # 前向信号：每个神经元的激活在样本之间的标准差（减去了均值，只看随输入变化的部分），
    # 再对同一层的神经元取均方根
    return {
        "grad": np.array([np.linalg.norm(g) for g in dW]),
        "delta": np.array([np.linalg.norm(d) for d in deltas]),
        "weight_term": np.array(weight_term),
        # aᵀδ = (a − ā)ᵀδ + āᵀ(Σᵢ δᵢ)：减去均值那一项，剩下随输入变化的部分
        "centred": np.array([np.linalg.norm(g - np.outer(a.mean(axis=0), d.sum(axis=0)))
                             for g, a, d in zip(dW, net.a[:-1], deltas)]),
        "spread": np.array([np.sqrt(np.mean(a.var(axis=0))) for a in net.a[1:-1]]),
    }


def hidden_rms_and_mean(activation, init, X, seed, depth=DEPTH, width=WIDTH):
    """For comparison with the spread: the RMS of each hidden layer's activations (mean included), their
    mean, and for every weight layer's input (X, a(1), …) the mean |column mean| over the mean column std."""
    net = NeuralNetwork([X.shape[1]] + [width] * (depth - 1) + [1], activation=activation,
                        output_activation="sigmoid", init=init, seed=seed)
    net.forward(X)
    hidden = net.a[1:-1]
    mean_over_std = np.array([np.abs(a.mean(axis=0)).mean() / a.std(axis=0).mean() for a in net.a[:-1]])
    return (np.array([np.sqrt(np.mean(a ** 2)) for a in hidden]), np.array([a.mean() for a in hidden]),
            mean_over_std)


def symmetric_init(net, c):
    """把所有权重设成同一个值 c（偏置本来就是 0）：同一层的隐藏神经元完全一样。"""
    net.weights = [np.full_like(w, c) for w in net.weights]
    return net


def neuron_spread(net):
    """隐藏神经元之间的最大差异：同一个输入连到不同隐藏神经元的权重 W⁽¹⁾、不同隐藏神经元的偏置 b⁽¹⁾、
    不同隐藏神经元连到输出的权重 W⁽²⁾，各取最大值减最小值，再取其中最大的一个。"""
    W1, b1, W2 = net.weights[0], net.biases[0], net.weights[1]
    return float(max(np.ptp(W1, axis=1).max(), np.ptp(b1), np.ptp(W2[:, 0])))


def xor_data(rng, n=SYM_SAMPLES):
    X = rng.normal(size=(n, 2))
    y = (X[:, :1] * X[:, 1:2] > 0).astype(float)  # 同号为 1：XOR 型的标签
    return X, y


SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def sci_text(x: float) -> str:
    """9.29 × 10⁻², the form the prose uses (the sci filter)."""
    mantissa, exponent = f"{x:.2e}".split("e")
    return f"{mantissa.replace('-', '−')} × 10{str(int(exponent)).translate(SUPERSCRIPT)}"


def demo_figure(depths, sigmoid_grads, relu_grads, best_case, x: float) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(5.6, 3.3))
    ax.semilogy(depths, sigmoid_grads, "o-", color="C0", label=f"Sigmoid：σ′({x:g}) 连乘")
    ax.semilogy(depths, best_case, "^--", color="C0", alpha=0.6, label="Sigmoid 最好的情况：σ′(0) 连乘")
    ax.semilogy(depths, relu_grads, "s:", color="C1", label="ReLU（z > 0）")
    ax.set_xlabel("连乘的层数")
    ax.set_ylabel("梯度值（对数坐标）")
    ax.legend(fontsize=8.5)
    ax.grid(True, alpha=0.3)
    fig.subplots_adjust(left=0.14, right=0.98, bottom=0.15, top=0.97)  # fixed margins: tight_layout 在对数坐标上很慢
    return fig


def measured_figure(norms: dict, depth: int) -> plt.Figure:
    fig, axes = plt.subplots(1, len(INITS), figsize=(6.5, 3.4), sharey=True)
    layers = np.arange(1, depth + 1)
    for ax, init in zip(axes, INITS):
        ax.set_yscale("log")
        for k, activation in enumerate(ACTIVATIONS):
            runs = norms[activation, init]  # (seeds, depth)
            marker, style = STYLES[activation]
            mean = np.exp(np.log(runs).mean(axis=0))
            # greyscale print: the min–max range is a vertical bar beside the point, each line shifted sideways
            x = layers + (k - 1) * 0.18
            ax.errorbar(x, mean, yerr=[mean - runs.min(axis=0), runs.max(axis=0) - mean], marker=marker,
                        linestyle=style, color=f"C{k}", markersize=4, capsize=1.5, elinewidth=0.8,
                        label=LABELS[activation])
        ax.set_title(f"{LABELS[init]} 初始化", fontsize=10)
        ax.set_xlabel("权重层（1 = 最靠近输入）")
        ax.set_xticks(layers)
        ax.grid(True, alpha=0.3)
    axes[0].set_ylabel(r"$\Vert\partial L / \partial W^{(l)}\Vert$（对数坐标）")
    axes[0].legend(title="隐藏层激活函数", fontsize=8.5, title_fontsize=8.5)
    fig.subplots_adjust(left=0.12, right=0.99, bottom=0.15, top=0.92, wspace=0.06)
    return fig


def exploding_figure(norms: dict, depth: int) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(5.6, 3.3))
    layers = np.arange(1, depth + 1)
    ax.set_yscale("log")
    markers = ("o", "s", "^", "D")
    styles = ("-", "--", "-.", ":")
    for k, scale in enumerate(EXPLODE_SCALES):
        runs = norms[scale]
        mean = np.exp(np.log(runs).mean(axis=0))
        ax.errorbar(layers + (k - 1.5) * 0.15, mean, yerr=[mean - runs.min(axis=0), runs.max(axis=0) - mean],
                    marker=markers[k], linestyle=styles[k], color=plt.cm.viridis(k / len(EXPLODE_SCALES)),
                    markersize=4, capsize=1.5, elinewidth=0.8, label=f"Xavier × {scale}")
    ax.set_xlabel("权重层（1 = 最靠近输入）")
    ax.set_ylabel(r"$\Vert\partial L / \partial W^{(l)}\Vert$（对数坐标）")
    ax.set_xticks(layers)
    ax.legend(title="Tanh，初始权重", fontsize=8.5, title_fontsize=8.5)
    ax.grid(True, alpha=0.3)
    fig.subplots_adjust(left=0.14, right=0.98, bottom=0.15, top=0.97)
    return fig


def verdict(total: float) -> str:
    """The wording rule for a total change over the SPAN_STEPS steps."""
    return "消失" if total < VANISH_BELOW else "衰减" if total < KEEP[0] else "放大" if total > KEEP[1] else "基本不变"


def per_layer_factor(norms: np.ndarray) -> np.ndarray:
    """每个种子：从第 SPAN_TOP 层到第 1 层，权重梯度范数平均每层乘上的倍数。"""
    return (norms[:, 0] / norms[:, SPAN_TOP - 1]) ** (1 / SPAN_STEPS)


def run(ctx: Context) -> Result:
    # 1. The notebook's demonstration.
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        depths, sigmoid_grads, relu_grads = demonstrate_vanishing_gradient(x=DEMO_X)
    best_case = [float(sigmoid_grad(0.0)) ** d for d in depths]

    # 2. Measured: real networks at initialisation; every seed draws its own data and weights.
    n_samples = 128 if ctx.quick else 256
    n_seeds = 3 if ctx.quick else 10
    seeds = [ctx.seed + s for s in range(n_seeds)]
    data = {}
    for seed in seeds:
        rng = np.random.default_rng(seed)
        X = rng.normal(size=(n_samples, N_FEATURES))
        data[seed] = X, (X[:, :1] * X[:, 1:2] > 0).astype(float)  # label: XOR of the signs of features 1 and 2
    meas = {(act, init): [layer_gradient_norms(act, init, *data[seed], seed=seed) for seed in seeds]
            for act in ACTIVATIONS for init in INITS}
    stack = {k: {name: np.array([r[name] for r in runs]) for name in runs[0]} for k, runs in meas.items()}
    norms = {k: v["grad"] for k, v in stack.items()}  # (seeds, depth)

    metrics: dict[str, float | int | str] = {
        "x": DEMO_X, "sigma_prime_x": float(sigmoid_grad(DEMO_X)), "sigma_prime_max": float(sigmoid_grad(0.0)),
        "min_depth": depths[0], "max_depth": depths[-1],
        "sigmoid_grad_max_depth": sigmoid_grads[-1], "best_case_max_depth": best_case[-1],
        "relu_grad_max_depth": relu_grads[-1],
        "depth": DEPTH, "width": WIDTH, "n_features": N_FEATURES, "n_samples": n_samples,
        "n_seeds": n_seeds, "first_seed": seeds[0], "last_seed": seeds[-1],
        "hidden_layers": HIDDEN, "span_top": SPAN_TOP, "span_steps": SPAN_STEPS,
        "keep_low": KEEP[0], "keep_high": KEEP[1], "vanish_below": VANISH_BELOW,
    }
    rows = []
    for act in ACTIVATIONS:
        for init in INITS:
            st = stack[act, init]
            runs = st["grad"]
            g = np.exp(np.log(runs).mean(axis=0))  # geometric mean over seeds
            key = f"{act}_{init}"
            ratio = g[0] / g[SPAN_TOP - 1]
            per_layer = ratio ** (1 / SPAN_STEPS)
            seed_factors = per_layer_factor(runs)
            # the error term over the same span: ‖δ(1)‖ / ‖δ(9)‖ per seed
            d_total = st["delta"][:, 0] / st["delta"][:, SPAN_TOP - 1]
            d_factor = d_total ** (1 / SPAN_STEPS)
            d_total_mean = float(np.exp(np.log(d_total).mean()))
            # the weight term of the same 8 steps: W(2) … W(9)
            w_term = np.exp(np.log(st["weight_term"][:, :SPAN_STEPS]).mean(axis=1))
            # forward signal: spread across samples, last hidden layer vs first, over the same 8 steps
            spread = st["spread"]
            seed_signal = (spread[:, -1] / spread[:, 0]) ** (1 / SPAN_STEPS)
            kept = float(np.exp(np.log(spread[:, -1] / spread[:, 0]).mean()))
            signal_per_layer = kept ** (1 / SPAN_STEPS)
            metrics |= {f"{key}_first": float(g[0]), f"{key}_top": float(g[SPAN_TOP - 1]),
                        f"{key}_out": float(g[-1]),
                        f"{key}_ratio": float(ratio), f"{key}_per_layer": float(per_layer),
                        f"{key}_ratio_min": float(seed_factors.min() ** SPAN_STEPS),
                        f"{key}_ratio_max": float(seed_factors.max() ** SPAN_STEPS),
                        f"{key}_per_layer_min": float(seed_factors.min()),
                        f"{key}_per_layer_max": float(seed_factors.max()),
                        f"{key}_decay_total": float(1 / ratio),
                        f"{key}_n_decay": int((seed_factors < 1).sum()),
                        f"{key}_delta_total": d_total_mean,
                        f"{key}_delta_total_min": float(d_total.min()),
                        f"{key}_delta_total_max": float(d_total.max()),
                        f"{key}_delta_n_same": sum(verdict(t) == verdict(d_total_mean) for t in d_total),
                        f"{key}_delta_per_layer": d_total_mean ** (1 / SPAN_STEPS),
                        f"{key}_delta_per_layer_min": float(d_factor.min()),
                        f"{key}_delta_per_layer_max": float(d_factor.max()),
                        f"{key}_weight_term": float(np.exp(np.log(w_term).mean())),
                        # the derivative term: δ's factor divided by the weight term (the two multiply exactly)
                        f"{key}_deriv_term": d_total_mean ** (1 / SPAN_STEPS) / float(np.exp(np.log(w_term).mean())),
                        f"{key}_ratio_n_kept": int(((seed_factors ** SPAN_STEPS >= KEEP[0])
                                                    & (seed_factors ** SPAN_STEPS <= KEEP[1])).sum()),
                        f"{key}_weight_term_min": float(w_term.min()),
                        f"{key}_weight_term_max": float(w_term.max()),
                        f"{key}_n_signal_decay": int((seed_signal < 1).sum()),
                        f"{key}_signal": kept, f"{key}_signal_per_layer": float(signal_per_layer),
                        f"{key}_signal_per_layer_min": float(seed_signal.min()),
                        f"{key}_signal_per_layer_max": float(seed_signal.max()),
                        f"{key}_first_min": float(runs[:, 0].min()),
                        f"{key}_first_max": float(runs[:, 0].max())}
            rows.append([f"{LABELS[act]} + {LABELS[init]}", sci_text(g[0]),
                         f"{ratio:.2f}" if ratio >= 0.01 else sci_text(ratio),
                         f"{per_layer:.2f}（{seed_factors.min():.2f}–{seed_factors.max():.2f}）",
                         f"{d_total_mean ** (1 / SPAN_STEPS):.2f}（{d_factor.min():.2f}–{d_factor.max():.2f}）",
                         f"{verdict(d_total_mean)}（{d_total_mean:.2f}）" if d_total_mean >= 0.01
                         else f"{verdict(d_total_mean)}（{sci_text(d_total_mean)}）",
                         f"{signal_per_layer:.2f}（{seed_signal.min():.2f}–{seed_signal.max():.2f}）"])
    stats = [hidden_rms_and_mean("sigmoid", "xavier", data[seed][0], seed) for seed in seeds]
    rms = np.array([r[0] for r in stats])
    means = np.array([r[1] for r in stats])
    metrics |= {"sigmoid_xavier_rms_ratio": float(np.exp(np.log(rms[:, -1] / rms[:, 0]).mean())),
                "sigmoid_xavier_last_mean_min": float(means[:, -1].min()),
                "sigmoid_xavier_last_mean_max": float(means[:, -1].max())}
    metrics["relu_he_vs_sigmoid_first"] = metrics["relu_he_first"] / metrics["sigmoid_xavier_first"]
    metrics["tanh_he_vs_xavier_first"] = metrics["tanh_he_first"] / metrics["tanh_xavier_first"]
    metrics["sigmoid_xavier_below_sigma_prime"] = 1 - metrics["sigmoid_xavier_delta_per_layer"] / metrics["sigma_prime_max"]
    metrics["relu_he_vs_xavier_first"] = metrics["relu_he_first"] / metrics["relu_xavier_first"]
    metrics["sqrt2"] = float(np.sqrt(2.0))  # He doubles the variance: the weight term should be about √2
    # ReLU + He: where the drop of ‖∂L/∂W‖ from W(9) to W(1) happens
    st = stack["relu", "he"]
    top = st["grad"][:, SPAN_TOP - 1]
    step1 = st["grad"][:, 0] / st["grad"][:, 1]
    later = (st["grad"][:, 1] / top) ** (1 / (SPAN_STEPS - 1))
    centred = np.exp(np.log(st["centred"][:, :SPAN_TOP] / top[:, None]).mean(axis=0))  # layers 1 … 9
    relu_stats = [hidden_rms_and_mean("relu", "he", data[seed][0], seed)[2] for seed in seeds]
    mean_over_std = np.array(relu_stats).mean(axis=0)  # inputs of W(1) … W(10): X, a(1), …, a(9)
    metrics |= {"relu_he_step1": float(np.exp(np.log(step1).mean())),
                "relu_he_step1_min": float(step1.min()), "relu_he_step1_max": float(step1.max()),
                "relu_he_later": float(np.exp(np.log(later).mean())),
                "relu_he_later_min": float(later.min()), "relu_he_later_max": float(later.max()),
                "relu_he_n_step1_below_later": int((step1 < later).sum()),
                "relu_he_step1_share": float(np.log(step1).mean() / np.log(st["grad"][:, 0] / top).mean()),
                "relu_he_centred_first": float(centred[0]),
                "relu_he_centred_lo": float(centred.min()), "relu_he_centred_hi": float(centred.max()),
                "relu_he_mean_std_x": float(mean_over_std[0]), "relu_he_mean_std_a1": float(mean_over_std[1]),
                "relu_he_mean_std_top": float(mean_over_std[SPAN_TOP - 1]),
                "later_steps": SPAN_STEPS - 1}
    table = Table(
        name="norms",
        header=["激活函数 + 初始化", "‖∂L/∂W(1)‖", f"r：第 1 层 / 第 {SPAN_TOP} 层", "q（范围）",
                "δ 的每层倍数 q_δ（范围）", f"δ 在 {SPAN_STEPS} 步中的变化", "s 的每层倍数（范围）"],
        rows=rows,
        caption=f"{HIDDEN} 个隐藏层的网络在初始化时的梯度、误差项与前向信号（{n_seeds} 个随机种子的几何平均，"
                f"括号内为最小–最大）。r 与 q 都取第 {SPAN_TOP} 层到第 1 层这 {SPAN_STEPS} 步，"
                f"q = r 的 {SPAN_STEPS} 次方根；q_δ 是 ‖δ(1)‖ / ‖δ({SPAN_TOP})‖ 的 {SPAN_STEPS} 次方根，"
                "“变化”一栏对 ‖δ(1)‖ / ‖δ("
                f"{SPAN_TOP})‖ 的几何平均（括号内）按正文的规则判断；前向信号 s 是激活在样本之间的标准差（对同层神经元取均方根），"
                f"它的每层倍数取第 1 到第 {HIDDEN} 个隐藏层",
    )

    # 2b. Depth check: ReLU + He with more hidden layers, same data and seeds.
    depth_rows = []
    for hidden in DEPTH_CHECK:
        if hidden == HIDDEN:
            st = stack["relu", "he"]
        else:
            runs = [layer_gradient_norms("relu", "he", *data[seed], seed=seed, depth=hidden + 1) for seed in seeds]
            st = {name: np.array([r[name] for r in runs]) for name in ("grad", "delta")}
        r = st["grad"][:, 0] / st["grad"][:, hidden - 1]
        d = (st["delta"][:, 0] / st["delta"][:, hidden - 1]) ** (1 / (hidden - 1))
        r_mean = float(np.exp(np.log(r).mean()))
        d_mean = float(np.exp(np.log(d).mean()))
        metrics |= {f"depth_{hidden}_r": r_mean, f"depth_{hidden}_r_min": float(r.min()),
                    f"depth_{hidden}_r_max": float(r.max()), f"depth_{hidden}_delta_per_layer": d_mean,
                    f"depth_{hidden}_delta_per_layer_min": float(d.min()),
                    f"depth_{hidden}_delta_per_layer_max": float(d.max()),
                    f"depth_{hidden}_if_constant": metrics["relu_he_per_layer"] ** (hidden - 1)}
        depth_rows.append([f"{hidden}", f"{hidden} → 1（{hidden - 1} 步）", f"{r_mean:.2f}（{r.min():.2f}–{r.max():.2f}）",
                           sci_text(metrics[f"depth_{hidden}_if_constant"]),
                           f"{d_mean:.2f}（{d.min():.2f}–{d.max():.2f}）"])
    r_depth = [metrics[f"depth_{h}_r"] for h in DEPTH_CHECK]
    dl_depth = [metrics[f"depth_{h}_delta_per_layer_{e}"] for h in DEPTH_CHECK for e in ("min", "max")]
    metrics |= {"depth_r_lo": min(r_depth), "depth_r_hi": max(r_depth),
                "depth_delta_lo": min(dl_depth), "depth_delta_hi": max(dl_depth),
                "depth_check_min": DEPTH_CHECK[0], "depth_check_mid": DEPTH_CHECK[1],
                "depth_check_max": DEPTH_CHECK[-1]}
    depth_table = Table(
        name="depth",
        header=["隐藏层数", "测量的一段", "r：第 1 层 / 最后一个隐藏层", f"若每层都乘 {metrics['relu_he_per_layer']:.2f}",
                "δ 的每层倍数（范围）"],
        rows=depth_rows,
        caption=f"ReLU + He 加深网络：r 不随深度变小（{n_seeds} 个随机种子的几何平均，括号内为最小–最大；"
                f"第 4 列是假如梯度每层都乘上 {HIDDEN} 个隐藏层时测得的 q，r 应有的值）",
    )

    # 3. Exploding gradients: Tanh with Xavier weights multiplied by 1, 2, 3, 4.
    explode = {}
    for scale in EXPLODE_SCALES:
        if scale == 1:  # the same networks as Tanh + Xavier above
            explode[scale] = norms["tanh", "xavier"]
            continue
        runs = [layer_gradient_norms("tanh", "xavier", *data[seed], seed=seed, scale=float(scale))["grad"]
                for seed in seeds]
        explode[scale] = np.array(runs)
    explode_rows = []
    for scale in EXPLODE_SCALES:
        runs = explode[scale]
        factors = per_layer_factor(runs)
        g = np.exp(np.log(runs).mean(axis=0))
        metrics |= {f"explode_{scale}_per_layer": float(g[0] / g[SPAN_TOP - 1]) ** (1 / SPAN_STEPS),
                    f"explode_{scale}_per_layer_min": float(factors.min()),
                    f"explode_{scale}_per_layer_max": float(factors.max()),
                    f"explode_{scale}_n_grew": int((factors > 1).sum()),
                    f"explode_{scale}_ratio": float(g[0] / g[SPAN_TOP - 1]),
                    f"explode_{scale}_first": float(g[0])}
        explode_rows.append([f"Xavier × {scale}", sci_text(g[SPAN_TOP - 1]), sci_text(g[0]),
                             f"{g[0] / g[SPAN_TOP - 1]:.2f}",
                             f"{metrics[f'explode_{scale}_per_layer']:.2f}（{factors.min():.2f}–{factors.max():.2f}）",
                             f"{int((factors > 1).sum())} / {n_seeds}"])
    metrics["explode_scales"] = ", ".join(str(s) for s in EXPLODE_SCALES)
    # the smallest scale from which every larger one grew in every seed (0 if none)
    grew_all = [scale for scale in EXPLODE_SCALES if metrics[f"explode_{scale}_n_grew"] == n_seeds]
    metrics["explode_first_all_grew"] = next(
        (scale for scale in EXPLODE_SCALES if all(k in grew_all for k in EXPLODE_SCALES if k >= scale)), 0)
    metrics["explode_max_scale"] = EXPLODE_SCALES[-1]
    explode_table = Table(
        name="exploding",
        header=["Tanh 的初始权重", f"‖∂L/∂W‖ 第 {SPAN_TOP} 层", "‖∂L/∂W‖ 第 1 层", f"第 1 层 / 第 {SPAN_TOP} 层",
                "梯度每层倍数（范围）", "每层倍数 > 1 的种子数"],
        rows=explode_rows,
        caption=f"梯度爆炸：把 Tanh 网络（{HIDDEN} 个隐藏层）的 Xavier 初始权重放大若干倍（{n_seeds} 个随机种子）",
    )

    # 4. Symmetry breaking: all weights equal vs random, trained on XOR-like data, per seed.
    sym = {"equal": [], "random": []}
    for seed in [ctx.seed + s for s in range(3 if ctx.quick else SYM_SEEDS)]:
        rng = np.random.default_rng(10_000 + seed)
        X, y = xor_data(rng)
        c = rng.uniform(*SYM_EQUAL_RANGE)
        nets = {"equal": symmetric_init(NeuralNetwork(SYM_SIZES, activation="tanh", output_activation="sigmoid",
                                                      init="xavier", seed=seed), c),
                "random": NeuralNetwork(SYM_SIZES, activation="tanh", output_activation="sigmoid",
                                        init="xavier", seed=seed)}
        losses = train_many(list(nets.values()), X, y, SYM_STEPS if not ctx.quick else 300, SYM_LR)
        for k, (mode, net) in enumerate(nets.items()):
            sym[mode].append((neuron_spread(net), float((net.predict(X) == y).mean()),
                              float(net.loss(X, y)), float(losses[k, 0])))
    sym_rows = []
    for mode, label in (("equal", "全部相同（c）"), ("random", "随机（Xavier）")):
        spread, acc, loss, _ = (np.array(v) for v in zip(*sym[mode]))
        metrics |= {f"sym_{mode}_spread_min": float(spread.min()), f"sym_{mode}_spread_max": float(spread.max()),
                    f"sym_{mode}_acc_mean": float(acc.mean()), f"sym_{mode}_acc_min": float(acc.min()),
                    f"sym_{mode}_acc_max": float(acc.max()), f"sym_{mode}_loss_mean": float(loss.mean()),
                    f"sym_{mode}_loss_min": float(loss.min()), f"sym_{mode}_loss_max": float(loss.max())}
        sym_rows.append([label, f"{spread.min():.3g} – {spread.max():.3g}",
                         f"{acc.mean():.1%}（{acc.min():.1%}–{acc.max():.1%}）",
                         f"{loss.mean():.3f}（{loss.min():.3f}–{loss.max():.3f}）"])
    n_sym = len(sym["equal"])
    metrics |= {"sym_n_seeds": n_sym, "sym_steps": SYM_STEPS if not ctx.quick else 300, "sym_lr": SYM_LR,
                "sym_samples": SYM_SAMPLES, "sym_hidden": SYM_SIZES[1],
                "sym_c_low": SYM_EQUAL_RANGE[0], "sym_c_high": SYM_EQUAL_RANGE[1],
                "sym_n_equal_identical": sum(s[0] < 1e-9 for s in sym["equal"]),
                "sym_n_random_better": sum(e[1] < r[1] for e, r in zip(sym["equal"], sym["random"]))}
    sym_table = Table(
        name="symmetry",
        header=["初始权重", "训练后隐藏神经元之间的最大权重差（最小 – 最大）", "训练集准确率（范围）", "训练后的损失（范围）"],
        rows=sym_rows,
        caption=f"对称性破缺：{SYM_SIZES[1]} 个 Tanh 隐藏神经元，XOR 型数据 {SYM_SAMPLES} 个样本，"
                f"全批量梯度下降 {metrics['sym_steps']} 步（{n_sym} 个随机种子，每个种子的数据、c 与随机权重各不相同）",
    )

    # 练习 4.1: the Sigmoid + Xavier network with EXERCISE_WIDTH neurons per hidden layer, same seeds and data.
    # Both widths ran on the same seeds and data, so r is compared seed by seed (a paired ratio).
    narrow = [layer_gradient_norms("sigmoid", "xavier", *data[seed], seed=seed, width=EXERCISE_WIDTH) for seed in seeds]
    narrow_grad = np.array([n["grad"] for n in narrow])
    narrow_ratio = narrow_grad[:, 0] / narrow_grad[:, SPAN_TOP - 1]
    wide_grad = stack["sigmoid", "xavier"]["grad"]
    paired = narrow_ratio / (wide_grad[:, 0] / wide_grad[:, SPAN_TOP - 1])  # r(16) / r(64), per seed

    def span_terms(st):
        """Per seed: the weight term and δ's factor, each per layer over the SPAN_STEPS steps W(2) … W(9)."""
        weight = np.exp(np.log(st["weight_term"][:, :SPAN_STEPS]).mean(axis=1))
        delta = (st["delta"][:, 0] / st["delta"][:, SPAN_TOP - 1]) ** (1 / SPAN_STEPS)
        return weight, delta

    narrow_weight, narrow_delta = span_terms({k: np.array([n[k] for n in narrow]) for k in ("weight_term", "delta")})
    wide_weight, wide_delta = span_terms(stack["sigmoid", "xavier"])
    metrics |= {"ex_width": EXERCISE_WIDTH, "ex_narrow_ratio": float(np.exp(np.log(narrow_ratio).mean())),
                "ex_narrow_ratio_min": float(narrow_ratio.min()), "ex_narrow_ratio_max": float(narrow_ratio.max()),
                "ex_narrow_first": float(np.exp(np.log(narrow_grad[:, 0]).mean())),
                "ex_paired_ratio": float(np.exp(np.log(paired).mean())),
                "ex_paired_ratio_min": float(paired.min()), "ex_paired_ratio_max": float(paired.max()),
                "ex_n_narrow_smaller": int((paired < 1).sum()),
                "ex_narrow_weight_min": float(narrow_weight.min()), "ex_narrow_weight_max": float(narrow_weight.max()),
                "ex_wide_weight_min": float(wide_weight.min()), "ex_wide_weight_max": float(wide_weight.max()),
                "ex_narrow_delta_min": float(narrow_delta.min()), "ex_narrow_delta_max": float(narrow_delta.max()),
                "ex_wide_delta_min": float(wide_delta.min()), "ex_wide_delta_max": float(wide_delta.max()),
                # 练习 4.2: a = ReLU(z), z ~ N(0, σ²): E[a²] = σ²/2, E[a] = σ/√(2π), so Var(a) = (1/2 − 1/(2π)) σ²
                "ex_relu_var_share": 0.5 - 1 / (2 * np.pi)}
    return Result(
        figures=[
            Figure("demo", demo_figure(depths, sigmoid_grads, relu_grads, best_case, DEMO_X),
                   caption="笔记本的演示：把激活函数的导数按深度连乘",
                   alt="对数坐标下 Sigmoid 导数连乘随深度指数下降，ReLU 保持为 1"),
            Figure("measured", measured_figure(norms, DEPTH),
                   caption=f"实测：{HIDDEN} 个隐藏层、每层 {WIDTH} 个神经元的网络在初始化时各层权重梯度的范数"
                           f"（点为 {n_seeds} 个随机种子的几何平均，竖线为最小到最大；同一层的三条线左右错开）",
                   alt="左右两幅对数坐标图，分别对应 Xavier 与 He 初始化，每幅有 Sigmoid、Tanh、ReLU 三条曲线"),
            Figure("explode", exploding_figure(explode, DEPTH),
                   caption=f"梯度爆炸：Tanh 网络（{HIDDEN} 个隐藏层）的初始权重放大后，梯度越靠近输入越大"
                           f"（点为 {n_seeds} 个随机种子的几何平均，竖线为最小到最大；同一层的四条线左右错开）",
                   alt="对数坐标图，四条曲线对应 Xavier 权重乘以 1 到 4；倍数越大，曲线越向输入一侧抬高"),
        ],
        tables=[table, depth_table, explode_table, sym_table],
        metrics=metrics,
        logs={"demo_output": out.getvalue()},
        listings=[listing_of(demonstrate_vanishing_gradient, "demo_code", "笔记本的梯度消失演示"),
                  listing_of(layer_gradient_norms, "measure_code", "在真实网络中测量每层的梯度、误差项和前向信号"),
                  listing_of(symmetric_init, "symmetric_code", "所有权重取同一个值"),
                  listing_of(neuron_spread, "spread_code", "隐藏神经元之间的差异")],
    )
