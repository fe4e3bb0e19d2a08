"""§2 激活函数详解: the notebook's three plots, their derivatives, and measured properties."""
from __future__ import annotations

import warnings

import matplotlib.pyplot as plt
import numpy as np

from report.model import Context, Figure, Result, Table, listing_of

TITLE = "激活函数详解"
ORDER = 2

SATURATION_Z = 5.0  # where we read off how flat each function has become
OVERFLOW_ERROR_BOUND = 1e-300  # the notebook's 0.0 and the stable value differ by less than this
OVERFLOW_Z = -710.0  # just past −ln(float64 max) ≈ −709.78, where exp(−z) overflows


def relu(z: np.ndarray) -> np.ndarray:
    return np.maximum(0.0, z)


def relu_grad(z: np.ndarray) -> np.ndarray:
    return (z > 0).astype(float)


def notebook_sigmoid(z):
    """笔记本的写法：z < −709.78 时 np.exp(-z) 超出 float64 的范围（溢出）。"""
    return 1 / (1 + np.exp(-z))


def sigmoid(z: np.ndarray) -> np.ndarray:
    """数值稳定的写法：exp 只作用于非正数，z 再负也不会溢出。"""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def sigmoid_grad(z: np.ndarray) -> np.ndarray:
    s = sigmoid(z)
    return s * (1.0 - s)


def tanh(z: np.ndarray) -> np.ndarray:
    return np.tanh(z)


def tanh_grad(z: np.ndarray) -> np.ndarray:
    return 1.0 - np.tanh(z) ** 2


FUNCTIONS = {
    "ReLU": (relu, relu_grad, "[0, +∞)"),
    "Sigmoid": (sigmoid, sigmoid_grad, "(0, 1)"),
    "Tanh": (tanh, tanh_grad, "(−1, 1)"),
}


def plot_panels(z: np.ndarray, which: int, ylabel: str) -> plt.Figure:
    """One panel per function, as in the notebook; which=0 plots f, which=1 plots f'."""
    fig, axes = plt.subplots(1, 3, figsize=(6.5, 2.4))  # drawn at the size it is printed
    for ax, (name, funcs) in zip(axes, FUNCTIONS.items()):
        ax.plot(z, funcs[which](z), linewidth=1.8, color="C0")
        ax.set_title(name if which == 0 else f"{name} 的导数", fontsize=10)
        ax.set_xlabel("z")
        ax.grid(True, alpha=0.3)
    axes[0].set_ylabel(ylabel)
    fig.tight_layout(w_pad=0.8)
    return fig


def properties(z: np.ndarray) -> tuple[Table, dict[str, float]]:
    """Measure on the grid what the table claims, so the prose quotes numbers that ran."""
    rows, metrics = [], {}
    for name, (f, df, value_range) in FUNCTIONS.items():
        key = name.lower()
        mean_out = float(np.mean(f(z)))  # z is symmetric: zero mean <=> zero-centred
        max_grad = float(np.max(df(z)))
        grad_far = float(df(np.array([-SATURATION_Z]))[0])
        grad_far_plus = float(df(np.array([SATURATION_Z]))[0])
        saturates = grad_far < 0.01
        metrics |= {f"{key}_max_grad": max_grad, f"{key}_mean_output": mean_out,
                    f"{key}_grad_at_minus_far": grad_far, f"{key}_grad_at_plus_far": grad_far_plus}
        rows.append([name, value_range, "是" if abs(mean_out) < 1e-9 else f"否（均值 {mean_out:.3f}）",
                     ("两端饱和" if name != "ReLU" else "负半轴梯度为 0（死亡 ReLU）") if saturates
                     else f"不饱和（z = −{SATURATION_Z:g} 处导数 {grad_far:.3g}）",
                     f"{max_grad:.3g}"])
    table = Table(
        name="properties",
        header=["函数", "输出范围", "以零为中心", "饱和性", "最大导数"],
        rows=rows,
        caption=f"三种激活函数的性质（自变量 z 在区间 [−{SATURATION_Z:g}, {SATURATION_Z:g}] 上测得）",
    )
    return table, metrics


def measure_notebook_overflow(z=OVERFLOW_Z):
    """The notebook's formula and the stable one at z: values, and whether numpy warned."""
    with warnings.catch_warnings(record=True) as caught, np.errstate(over="warn"):
        warnings.simplefilter("always")
        value = float(notebook_sigmoid(np.float64(z)))
    overflow = [w for w in caught if issubclass(w.category, RuntimeWarning) and "overflow" in str(w.message)]
    with warnings.catch_warnings(record=True) as caught_stable, np.errstate(over="warn"):
        warnings.simplefilter("always")
        stable = float(sigmoid(np.array([z]))[0])
    # the largest z at which the notebook's formula still computes exp(−z) without overflowing
    threshold = -float(np.log(np.finfo(np.float64).max))
    with warnings.catch_warnings(record=True) as caught_near, np.errstate(over="warn"):
        warnings.simplefilter("always")
        near = float(notebook_sigmoid(np.float64(np.nextafter(threshold, 0.0))))
    return {"overflow_z": z, "notebook_at_overflow_z": value, "notebook_warned": int(bool(overflow)),
            "notebook_warning": str(overflow[0].message) if overflow else "",
            "stable_at_overflow_z": stable, "stable_warned": int(bool(caught_stable)),
            "overflow_threshold": threshold, "notebook_near_threshold": near,
            "notebook_near_threshold_warned": int(bool(caught_near)),
            "overflow_abs_error": abs(value - stable)}


def mean_derivatives(points: int = 20001, limit: float = 10.0) -> dict[str, float]:
    """练习 2.1：z 服从标准正态分布时，三种激活函数导数的期望 E[f'(z)] 与 E[f'(z)²]（在 [−10, 10] 上
    数值积分）。E[f'²] is what scales a gradient's second moment per layer (the measure §4's 练习 4.2 uses)."""
    z = np.linspace(-limit, limit, points)
    density = np.exp(-z ** 2 / 2) / np.sqrt(2 * np.pi)
    expect = lambda g: float(np.trapezoid(g * density, z))  # noqa: E731
    s = sigmoid(z)
    derivative = {"relu": (z > 0).astype(float), "sigmoid": s * (1 - s), "tanh": 1 - np.tanh(z) ** 2}
    means = {f"ex_mean_grad_{name}": expect(d) for name, d in derivative.items()}
    squares = {f"ex_mean_sq_grad_{name}": expect(d ** 2) for name, d in derivative.items()}
    return means | squares | {"ex_tanh_over_sigmoid": means["ex_mean_grad_tanh"] / means["ex_mean_grad_sigmoid"]}


def run(ctx: Context) -> Result:
    z = np.linspace(-SATURATION_Z, SATURATION_Z, 101 if ctx.quick else 1001)
    table, metrics = properties(z)
    metrics["saturation_z"] = SATURATION_Z
    metrics["tanh_to_sigmoid_max_grad"] = metrics["tanh_max_grad"] / metrics["sigmoid_max_grad"]
    metrics |= measure_notebook_overflow()
    z_grid = np.linspace(-700.0, 700.0, 2801)  # where the notebook's formula does not overflow
    with np.errstate(over="raise"):
        metrics["notebook_vs_stable_max_diff"] = float(np.max(np.abs(notebook_sigmoid(z_grid) - sigmoid(z_grid))))
    metrics["grid_limit"] = 700.0
    metrics["overflow_error_bound"] = OVERFLOW_ERROR_BOUND
    # the ratio of the largest derivatives as the prose prints it (a whole number)
    metrics["tanh_to_sigmoid_max_grad_rounded"] = float(round(metrics["tanh_to_sigmoid_max_grad"]))
    metrics |= mean_derivatives()
    return Result(
        figures=[
            Figure("functions", plot_panels(z, 0, "f(z)"),
                   caption="三种激活函数（复现笔记本中的图）",
                   alt=f"ReLU、Sigmoid、Tanh 三个函数在 z = −{SATURATION_Z:g} 到 {SATURATION_Z:g} 上的曲线"),
            Figure("derivatives", plot_panels(z, 1, "f′(z)"),
                   caption="三种激活函数的导数",
                   alt=f"ReLU 导数为阶跃，Sigmoid 导数峰值 {metrics['sigmoid_max_grad']:.2f}，"
                       f"Tanh 导数峰值 {metrics['tanh_max_grad']:.2f}"),
        ],
        tables=[table],
        metrics=metrics,
        listings=[listing_of(notebook_sigmoid, "notebook_sigmoid", "笔记本的 Sigmoid"),
                  listing_of(sigmoid, "stable_sigmoid", "数值稳定的 Sigmoid 实现")],
    )
