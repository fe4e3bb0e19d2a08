"""§4 梯度消失问题: the notebook's σ'(1)^depth demonstration, then gradients measured in 10-layer networks."""
from __future__ import annotations

import contextlib
import io

import matplotlib.pyplot as plt
import numpy as np

from experiments.numpy_net import NeuralNetwork, sigmoid, sigmoid_grad
from report.model import Context, Figure, Result, Table, listing_of

TITLE = "梯度消失问题"
ORDER = 4

DEPTH = 10  # weight layers in the measured networks
WIDTH = 64  # neurons per hidden layer
N_FEATURES = 32
ACTIVATIONS = ("sigmoid", "tanh", "relu")
INITS = ("xavier", "he")
LABELS = {"sigmoid": "Sigmoid", "tanh": "Tanh", "relu": "ReLU", "xavier": "Xavier", "he": "He"}


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


def layer_gradient_norms(activation, init, X, y, seed, depth=DEPTH, width=WIDTH):
    """一个 depth 层的网络在初始化时：每一层权重的梯度范数 ‖∂L/∂W(l)‖，以及每个隐藏层激活的均方根。"""
    sizes = [X.shape[1]] + [width] * (depth - 1) + [1]
    net = NeuralNetwork(sizes, activation=activation, output_activation="sigmoid", init=init, seed=seed)
    dW, _ = net.gradients(X, y)  # gradients 内部做了一次前向传播，net.a 里是各层激活
    grad_norms = np.array([np.linalg.norm(g) for g in dW])
    activation_rms = np.array([np.sqrt(np.mean(a ** 2)) for a in net.a[1:-1]])
    return grad_norms, activation_rms


def sci_text(x: float) -> str:
    return f"{x:.2e}".replace("-", "−")


def demo_figure(depths, sigmoid_grads, relu_grads, best_case) -> plt.Figure:
    fig, ax = plt.subplots(figsize=(8, 4.6))
    ax.semilogy(depths, sigmoid_grads, "o-", label="Sigmoid：σ′(1) 连乘")
    ax.semilogy(depths, best_case, "^--", color="C0", alpha=0.6, label="Sigmoid 最好的情况：σ′(0) 连乘")
    ax.semilogy(depths, relu_grads, "s-", label="ReLU（x > 0）")
    ax.set_xlabel("网络深度")
    ax.set_ylabel("梯度值（对数坐标）")
    ax.set_title("梯度消失问题演示")
    ax.legend()
    ax.grid(True, alpha=0.3)
    return fig


def measured_figure(norms: dict, depth: int) -> plt.Figure:
    fig, axes = plt.subplots(1, len(INITS), figsize=(9.5, 4.4), sharey=True)
    layers = np.arange(1, depth + 1)
    for ax, init in zip(axes, INITS):
        for k, activation in enumerate(ACTIVATIONS):
            runs = norms[activation, init]  # (seeds, depth)
            ax.semilogy(layers, np.exp(np.log(runs).mean(axis=0)), "o-", color=f"C{k}",
                        label=LABELS[activation])
            ax.fill_between(layers, runs.min(axis=0), runs.max(axis=0), color=f"C{k}", alpha=0.15)
        ax.set_title(f"{LABELS[init]} 初始化")
        ax.set_xlabel("层（1 = 最靠近输入）")
        ax.set_xticks(layers)
        ax.grid(True, alpha=0.3)
    axes[0].set_ylabel(r"权重梯度的范数 $\Vert\partial L / \partial W\Vert$（对数坐标）")
    axes[0].legend(title="隐藏层激活函数")
    fig.tight_layout()
    return fig


def run(ctx: Context) -> Result:
    # 1. The notebook's demonstration.
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        depths, sigmoid_grads, relu_grads = demonstrate_vanishing_gradient()
    best_case = [float(sigmoid_grad(0.0)) ** d for d in depths]

    # 2. Measured: real networks at initialisation, several seeds each.
    rng = np.random.default_rng(ctx.seed)
    n_samples = 128 if ctx.quick else 256
    n_seeds = 3 if ctx.quick else 10
    X = rng.normal(size=(n_samples, N_FEATURES))
    y = (X[:, :1] * X[:, 1:2] > 0).astype(float)  # an XOR-like label
    norms, signal = {}, {}
    for act in ACTIVATIONS:
        for init in INITS:
            runs = [layer_gradient_norms(act, init, X, y, seed=ctx.seed + s) for s in range(n_seeds)]
            norms[act, init] = np.array([r[0] for r in runs])  # (seeds, depth)
            signal[act, init] = np.array([r[1] for r in runs])  # (seeds, depth - 1)

    metrics: dict[str, float | int | str] = {
        "x": 1.0, "sigma_prime_x": float(sigmoid_grad(1.0)), "sigma_prime_max": float(sigmoid_grad(0.0)),
        "min_depth": depths[0], "max_depth": depths[-1],
        "sigmoid_grad_max_depth": sigmoid_grads[-1], "best_case_max_depth": best_case[-1],
        "relu_grad_max_depth": relu_grads[-1],
        "depth": DEPTH, "width": WIDTH, "n_features": N_FEATURES, "n_samples": n_samples,
        "n_seeds": n_seeds, "hidden_layers": DEPTH - 1,
    }
    rows = []
    for act in ACTIVATIONS:
        for init in INITS:
            g = np.exp(np.log(norms[act, init]).mean(axis=0))  # geometric mean over seeds
            key = f"{act}_{init}"
            ratio = g[0] / g[-1]
            # average factor per hidden layer, from the last hidden layer down to the first
            per_layer = (g[0] / g[-2]) ** (1 / (DEPTH - 2))
            rms = np.exp(np.log(signal[act, init]).mean(axis=0))
            kept = rms[-1] / rms[0]  # forward signal: last hidden layer relative to the first
            metrics |= {f"{key}_first": float(g[0]), f"{key}_last": float(g[-1]),
                        f"{key}_ratio": float(ratio), f"{key}_per_layer": float(per_layer),
                        f"{key}_signal": float(kept)}
            rows.append([LABELS[act], LABELS[init], sci_text(g[-1]), sci_text(g[0]),
                         sci_text(ratio), f"{per_layer:.2f}", f"{kept:.2f}"])
    table = Table(
        name="norms",
        header=["激活函数", "初始化", f"‖∂L/∂W‖ 第 {DEPTH} 层（输出层）", "‖∂L/∂W‖ 第 1 层",
                f"第 1 层 / 第 {DEPTH} 层", "每经过一个隐藏层的平均倍数",
                f"前向信号：第 {DEPTH - 1} 层 / 第 1 层激活的均方根"],
        rows=rows,
        caption=f"{DEPTH} 层网络初始化时各层权重梯度的范数（{n_seeds} 个随机种子的几何平均）",
    )
    return Result(
        figures=[
            Figure("demo", demo_figure(depths, sigmoid_grads, relu_grads, best_case),
                   caption="笔记本的演示：把激活函数的导数按深度连乘",
                   alt="对数坐标下 sigmoid 导数连乘随深度指数下降，ReLU 保持为 1"),
            Figure("measured", measured_figure(norms, DEPTH),
                   caption=f"实测：{DEPTH} 层、每个隐藏层 {WIDTH} 个神经元的网络在初始化时各层权重梯度的范数"
                           f"（线为 {n_seeds} 个种子的几何平均，阴影为最小到最大）",
                   alt="左右两幅对数坐标图，分别对应 Xavier 与 He 初始化，每幅有 sigmoid、tanh、ReLU 三条曲线"),
        ],
        tables=[table],
        metrics=metrics,
        logs={"demo_output": out.getvalue()},
        listings=[listing_of(demonstrate_vanishing_gradient, "demo_code", "笔记本的梯度消失演示"),
                  listing_of(layer_gradient_norms, "measure_code", "在真实网络中测量每层的梯度")],
    )
