"""§3 反向传播算法: the notebook's [2, 3, 1] walk-through, made consistent with the class, and checked."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Circle

from experiments.numpy_net import NeuralNetwork, sigmoid
from report.model import Context, Figure, Result, Table, listing_of

TITLE = "反向传播算法"
ORDER = 3

X_SAMPLE = np.array([[0.5, 0.5]])  # the notebook's single sample
Y_SAMPLE = np.array([[1.0]])
EPSILON = 1e-6  # finite-difference step
CONFIDENTLY_WRONG = 0.01  # an output far from the target y = 1, to compare the two deltas


def backprop_step_by_step(nn, X, y):
    """逐层写出一个样本的反向传播（Sigmoid 隐藏层 + Sigmoid 输出 + 二元交叉熵），与类的 gradients 相同。"""
    # 约定：一个样本是行向量；W(l) 的形状是 (n_{l-1}, n_l)，b(l) 的形状是 (1, n_l)
    # 前向传播：z(l) = a(l-1) W(l) + b(l)，a(l) = σ(z(l))，a(0) = x
    a = [X]
    z = []
    for W, b in zip(nn.weights, nn.biases):
        z.append(a[-1] @ W + b)
        a.append(sigmoid(z[-1]))

    # 输出层：δ(L) = ∂L/∂z(L) = a(L) - y（交叉熵的导数与 σ' 相消）
    deltas = [a[-1] - y]
    # 隐藏层：δ(l) = (δ(l+1) W(l+1)ᵀ) ⊙ σ'(z(l))，其中 σ'(z(l)) = a(l) ⊙ (1 - a(l))
    for layer in range(len(nn.weights) - 1, 0, -1):
        back = deltas[0] @ nn.weights[layer].T
        deltas.insert(0, back * a[layer] * (1 - a[layer]))

    # 参数梯度：∂L/∂W(l) = a(l-1)ᵀ δ(l)，∂L/∂b(l) = δ(l)
    dW = [a[layer].T @ deltas[layer] for layer in range(len(nn.weights))]
    db = [deltas[layer] for layer in range(len(nn.weights))]
    return z, a, deltas, dW, db


def numerical_gradient(nn, X, y, params, index, eps=EPSILON):
    """中心差分：把一个参数加减 eps，看损失怎么变。"""
    old = params[index]
    params[index] = old + eps
    loss_plus = nn.loss(X, y)
    params[index] = old - eps
    loss_minus = nn.loss(X, y)
    params[index] = old
    return (loss_plus - loss_minus) / (2 * eps)


def parameter_indices(nn):
    """(参数数组, 下标)，顺序与梯度表相同：每层先 W 后 b。"""
    for W, b in zip(nn.weights, nn.biases):
        yield from ((W, (i, j)) for i in range(W.shape[0]) for j in range(W.shape[1]))
        yield from ((b, (0, j)) for j in range(b.shape[1]))


def half_mse_gradient(nn, X, y, params, index, eps=EPSILON):
    """均方误差的一半 ½(a − y)² 的中心差分梯度：笔记本的 δ 对应的损失。"""
    def half_mse():
        return 0.5 * float(np.mean(np.sum((nn.forward(X) - y) ** 2, axis=1)))
    old = params[index]
    params[index] = old + eps
    plus = half_mse()
    params[index] = old - eps
    minus = half_mse()
    params[index] = old
    return (plus - minus) / (2 * eps)


def relative_error(a: float, b: float) -> float:
    return abs(a - b) / max(abs(a) + abs(b), 1e-300)


SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def sci_text(x: float, digits: int = 1) -> str:
    """1.5 × 10⁻¹¹: the form the prose uses."""
    mantissa, exponent = f"{x:.{digits}e}".split("e")
    return f"{mantissa.replace('-', '−')} × 10{str(int(exponent)).translate(SUPERSCRIPT)}"


def num(x: float) -> str:
    return f"{x:.6f}".replace("-", "−")


def short(x: float) -> str:
    return f"{x:.4f}".replace("-", "−")


def network_figure(nn: NeuralNetwork, a: list, deltas: list, target: float, loss: float) -> plt.Figure:
    """The notebook's visualize_backprop as a picture: a and δ at every neuron, weights on the edges."""
    sizes = nn.layer_sizes
    dx, dy = 3.0, 1.45  # distance between layers / between neurons of a layer (data units)
    fig, ax = plt.subplots(figsize=(6.4, 3.7))
    pos = {}
    for layer, n in enumerate(sizes):
        for j in range(n):
            pos[layer, j] = (layer * dx, ((n - 1) / 2 - j) * dy)
    w_max = max(np.abs(w).max() for w in nn.weights)
    for layer, W in enumerate(nn.weights):
        for i in range(W.shape[0]):
            for j in range(W.shape[1]):
                (x0, y0), (x1, y1) = pos[layer, i], pos[layer + 1, j]
                negative = W[i, j] < 0  # greyscale print: negative weights are also dashed
                ax.plot([x0, x1], [y0, y1], color="C3" if negative else "C0", linestyle="--" if negative else "-",
                        linewidth=0.8 + 2.5 * abs(W[i, j]) / w_max, alpha=0.7, zorder=1)
    names = ["输入层", "隐藏层", "输出层"] if len(sizes) == 3 else [f"第 {k} 层" for k in range(len(sizes))]
    for (layer, j), (x, y) in pos.items():
        ax.add_patch(Circle((x, y), 0.42, facecolor="white", edgecolor="black", linewidth=1.2, zorder=2))
        ax.text(x, y, f"{a[layer][0, j]:.3f}", ha="center", va="center", fontsize=8.5, zorder=3)
        if layer > 0:
            ax.text(x, y - 0.5, f"δ = {deltas[layer - 1][0, j]:.4f}".replace("-", "−"),
                    ha="center", va="top", fontsize=8, color="C3", zorder=3,
                    bbox=dict(facecolor="white", edgecolor="none", pad=0.5, alpha=0.85))
    half = (max(sizes) - 1) / 2 * dy
    for layer, name in enumerate(names):
        ax.text(layer * dx, half + 0.6, name, ha="center", va="bottom", fontsize=9)
    x_out, y_out = pos[len(sizes) - 1, 0]
    ax.text(x_out + 0.6, y_out, f"目标 y = {target:g}\n损失 L = {loss:.4f}", ha="left", va="center", fontsize=8.5)
    ax.text((len(sizes) - 1) * dx / 2, -half - 1.2,
            "圆内：激活值 a　圆下方：误差项 δ = ∂L/∂z\n实线 / 虚线：正 / 负权重，线宽 ∝ |W|",
            ha="center", va="top", fontsize=8, color="0.25")
    ax.set_xlim(-0.6, (len(sizes) - 1) * dx + 2.4)
    ax.set_ylim(-half - 1.75, half + 1.0)
    ax.set_aspect("equal")
    ax.axis("off")
    fig.tight_layout(pad=0.2)
    return fig


def weights_table(nn: NeuralNetwork) -> Table:
    """The initial weights and biases, one row per matrix row, so a student can redo the example by hand."""
    rows = []
    for layer, (W, b) in enumerate(zip(nn.weights, nn.biases), start=1):
        n_in, n_out = W.shape
        for i in range(n_in):
            source = f" x{i + 1}" if layer == 1 else f"隐藏神经元 {i + 1}"
            rows.append([f"W({layer})", f"{n_in} × {n_out}", f"第 {i + 1} 行（来自{source}）",
                         "  ".join(num(v) for v in W[i])])
        rows.append([f"b({layer})", f"1 × {n_out}", "—", "  ".join(num(v) for v in b[0])])
    return Table("weights", ["参数", "形状", "行", "数值（第 1 列 … 第 n 列）"], rows,
                 caption="例子所用的初始权重与偏置（由本次构建的随机种子生成；偏置初始化为 0）")


def run(ctx: Context) -> Result:
    nn = NeuralNetwork([2, 3, 1], activation="sigmoid", output_activation="sigmoid", init="xavier",
                       seed=ctx.seed)
    X, y = X_SAMPLE, Y_SAMPLE
    z, a, deltas, dW, db = backprop_step_by_step(nn, X, y)
    class_dW, class_db = nn.gradients(X, y)
    L = len(nn.weights)

    forward_rows = [["输入层 (0)", f"x{j + 1}", "—", num(X[0, j])] for j in range(X.shape[1])]
    for layer in range(1, L + 1):
        kind = "输出层" if layer == L else "隐藏层"
        forward_rows += [[f"{kind} ({layer})", f"{j + 1}", num(z[layer - 1][0, j]), num(a[layer][0, j])]
                         for j in range(nn.layer_sizes[layer])]
    forward = Table("forward", ["层", "神经元", "z", "a = σ(z)"], forward_rows,
                    caption=f"前向传播：样本 x = ({X[0, 0]}, {X[0, 1]})，目标 y = {y[0, 0]:g}")

    delta_rows = [[f"输出层 ({L})", "1", "—", "—", num(deltas[-1][0, 0])]]
    for layer in range(L - 1, 0, -1):
        back = deltas[layer] @ nn.weights[layer].T
        slope = a[layer] * (1 - a[layer])
        delta_rows += [[f"隐藏层 ({layer})", f"{j + 1}", num(back[0, j]), num(slope[0, j]),
                        num(deltas[layer - 1][0, j])] for j in range(nn.layer_sizes[layer])]
    delta_table = Table("deltas", ["层", "神经元", "δ(l+1) W(l+1)ᵀ", "σ′(z) = a(1 − a)", "δ = ∂L/∂z"],
                        delta_rows, caption="反向传播：每个神经元的误差项 δ（隐藏层的 δ 是前两列的乘积）")

    grad_rows, check_rows, rel_errors, class_diffs = [], [], [], []
    analytic, numeric_values = [], []
    for layer in range(L):
        n_in, n_out = nn.weights[layer].shape
        for i in range(n_in):
            for j in range(n_out):
                name = f"W({layer + 1})[{i + 1},{j + 1}]"
                source = f"x{i + 1}" if layer == 0 else f"a({layer})[{i + 1}]"
                grad_rows.append([name, f"{source} · δ({layer + 1})[{j + 1}]", num(dW[layer][i, j])])
                numeric = numerical_gradient(nn, X, y, nn.weights[layer], (i, j))
                rel_errors.append(relative_error(dW[layer][i, j], numeric))
                analytic.append(dW[layer][i, j])
                numeric_values.append(numeric)
                class_diffs.append(abs(dW[layer][i, j] - class_dW[layer][i, j]))
                check_rows.append([name, num(dW[layer][i, j]), num(class_dW[layer][i, j]), num(numeric),
                                   sci_text(rel_errors[-1])])
        for j in range(n_out):
            name = f"b({layer + 1})[{j + 1}]"
            grad_rows.append([name, f"δ({layer + 1})[{j + 1}]", num(db[layer][0, j])])
            numeric = numerical_gradient(nn, X, y, nn.biases[layer], (0, j))
            rel_errors.append(relative_error(db[layer][0, j], numeric))
            analytic.append(db[layer][0, j])
            numeric_values.append(numeric)
            class_diffs.append(abs(db[layer][0, j] - class_db[layer][0, j]))
            check_rows.append([name, num(db[layer][0, j]), num(class_db[layer][0, j]), num(numeric),
                               sci_text(rel_errors[-1])])
    gradients = Table("gradients", ["参数", "链式法则", "∂L/∂参数"], grad_rows,
                      caption="每个参数的梯度：前一层的激活乘以后一层的误差项")
    check = Table("gradcheck", ["参数", "逐层推导", "NeuralNetwork.gradients", "有限差分", "相对误差"],
                  check_rows, caption=f"梯度检验：三种方法算出的梯度（有限差分步长 ε = {sci_text(EPSILON, 0)}）")

    # The notebook's visualize_backprop started from the MSE delta (a - y)·a(1 - a). With one
    # output neuron every later delta and gradient is scaled by that same factor a(1 - a); the
    # gradient check shows these are not the gradients of the loss the class trains with.
    # They ARE the gradients of half the squared error, ½(a − y)²: check that by finite differences too.
    slope = float(a[-1][0, 0] * (1 - a[-1][0, 0]))
    notebook_errors = [relative_error(g * slope, g_num) for g, g_num in zip(analytic, numeric_values)]
    half_mse_numeric = [half_mse_gradient(nn, X, y, params, index)
                        for params, index in parameter_indices(nn)]
    half_mse_errors = [relative_error(g * slope, g_num) for g, g_num in zip(analytic, half_mse_numeric)]

    out = float(a[-1][0, 0])
    target = float(y[0, 0])
    wrong = CONFIDENTLY_WRONG
    metrics = {
        "x1": float(X[0, 0]), "x2": float(X[0, 1]), "y": target, "seed": ctx.seed,
        "architecture": str(nn.layer_sizes), "n_hidden": nn.layer_sizes[1],
        "output": out,
        "loss_bce": nn.loss(X, y),
        "loss_mse_notebook": float(np.mean((a[-1] - y) ** 2)),
        "delta_out": float(deltas[-1][0, 0]),
        "delta_out_notebook": (out - target) * out * (1 - out),
        "sigma_slope_out": slope,
        "wrong_output": wrong,
        "wrong_delta_bce": wrong - target,
        "wrong_delta_mse": (wrong - target) * wrong * (1 - wrong),
        "n_params": len(rel_errors),
        "epsilon": EPSILON,
        "max_rel_error": float(max(rel_errors)),
        "max_class_diff": float(max(class_diffs)),
        "notebook_max_rel_error": float(max(notebook_errors)),
        "notebook_half_mse_max_rel_error": float(max(half_mse_errors)),
        "w1_row_grad_diff": float(np.abs(dW[0][0] - dW[0][1]).max()),
        "n_in": nn.layer_sizes[0], "n_out": nn.layer_sizes[-1],
        "bias_abs_max": float(max(np.abs(b).max() for b in nn.biases)),
    }
    # 练习 3.1: the same network and input, with the target y = 0
    y0 = np.zeros_like(y)
    dW0, db0 = nn.gradients(X, y0)  # one sample: the output bias gradient is δ⁽²⁾ itself
    metrics |= {"ex_y0": 0.0, "ex_y0_delta_out": float(db0[-1][0, 0]),
                "ex_y0_dw2_max": float(np.abs(dW0[-1]).max()), "ex_y1_dw2_max": float(np.abs(class_dW[-1]).max()),
                "ex_y0_dw2_positive": int((dW0[-1] > 0).all()), "ex_y1_dw2_negative": int((class_dW[-1] < 0).all())}
    return Result(
        figures=[Figure("network", network_figure(nn, a, deltas, float(y[0, 0]), nn.loss(X, y)),
                        caption=f"网络 {nn.layer_sizes} 处理样本 ({X[0, 0]}, {X[0, 1]}) 时各神经元的激活值与误差项",
                        alt="三层网络示意图：每个神经元标出激活值 a 和误差项 δ，连线粗细表示权重大小")],
        tables=[weights_table(nn), forward, delta_table, gradients, check],
        metrics=metrics,
        listings=[listing_of(backprop_step_by_step, "step_by_step", "逐层反向传播（修正笔记本的 visualize_backprop）"),
                  listing_of(numerical_gradient, "numerical", "数值梯度：中心差分")],
    )
