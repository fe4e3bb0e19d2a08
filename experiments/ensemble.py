"""批量集成：许多个结构相同的小网络（不同的随机种子、数据和超参数）用 NumPy 一起训练。

Not a section (no TITLE/ORDER). §7 runs every tip over many seeds. Member r of an ensemble owns
slice r of every weight array (kernels of shape (R, n_in, n_out)), its own data (x of shape
(R, N, d)) and its own hyperparameters (learning rate, momentum, Dropout rate); one batched
matrix product computes a layer of all R networks at once. Members never interact: each member's
loss is its own mean, every optimiser update is elementwise, BN's statistics are taken per member
and neuron, Dropout masks are drawn per element.

Forward and backward passes are written out by hand, as in §1–§3: for networks this small, NumPy
is faster than TensorFlow (no graph to build, no 7 s import), and BN's backward pass is there to
read. tests/test_ensemble.py checks the gradients against finite differences, and a member
against the same network trained alone.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np
from scipy.special import expit

KERAS_LR = {"sgd": 0.01, "adam": 0.001}  # Keras' default learning rates
KERAS_CHECK_STEPS = 5  # tests/test_ensemble.py: steps compared with the same Keras network
KERAS_ADAM_STEPS = 50  # tests/test_ensemble.py: Adam steps from N(0, 0.01²) compared with Keras


@dataclass(frozen=True)
class Net:
    """The structure all members share."""

    sizes: tuple[int, ...]  # (2, 32, ..., 32, 1): input, hidden layers, one sigmoid output neuron
    activation: str = "relu"  # of the hidden layers: "relu" or "sigmoid"
    batchnorm: bool = False  # BN between each hidden layer's product and its activation
    # BN's moving averages, one set per momentum (Keras' default is 0.99). They do not influence
    # training (training mode uses the batch's statistics), so one run serves every momentum.
    bn_momenta: tuple[float, ...] = (0.0,)
    dropout: bool = False  # Dropout after each hidden activation (rate per member)
    optimizer: str = "sgd"  # "sgd" (momentum per member, 0 = plain SGD) or "adam"

    @property
    def depth(self) -> int:
        return len(self.sizes) - 2  # hidden layers


@dataclass(frozen=True)
class Member:
    """What differs between members: seed (of the initial weights), initialisation, hyperparameters."""

    seed: int
    init: str = "glorot_uniform"  # of the hidden layers: "glorot_uniform", "he_normal" or "normal:0.01"
    learning_rate: float = 0.01
    momentum: float = 0.0  # SGD only
    dropout: float = 0.0


def initial_kernel(init: str, n_in: int, n_out: int, rng: np.random.Generator) -> np.ndarray:
    """初始权重：Xavier（Glorot）均匀分布、He 正态分布（与 Keras 的 he_normal 一样截断在两个标准差处），
    或给定标准差的正态分布。"""
    if init == "glorot_uniform":
        limit = np.sqrt(6 / (n_in + n_out))  # Var(W) = 2 / (n_in + n_out)
        return rng.uniform(-limit, limit, (n_in, n_out))
    if init == "he_normal":
        # Keras：截断正态分布，超出 ±2σ 的重新抽取；σ 除以 0.8796 使截断后的方差仍为 2 / n_in
        std = np.sqrt(2 / n_in) / 0.87962566103423978
        w = rng.normal(0, std, (n_in, n_out))
        while np.any(outside := np.abs(w) > 2 * std):
            w[outside] = rng.normal(0, std, int(outside.sum()))
        return w
    if init.startswith("normal:"):
        return rng.normal(0, float(init.split(":")[1]), (n_in, n_out))  # 给定的标准差，如 0.01
    raise ValueError(f"未知的初始化方式：{init!r}")


def initial_kernels(net: Net, members: Sequence[Member], dtype=np.float32) -> list[np.ndarray]:
    """Every member's kernels from its own seed, stacked: one array (R, n_in, n_out) per layer.

    The draws depend on the seed and the layer sizes only, so networks of the same sizes (Sigmoid
    or ReLU, with or without BN) start from the same Xavier weights for the same seed. The output
    layer is always Xavier.
    """
    layers = list(zip(net.sizes[:-1], net.sizes[1:]))
    kernels = [[] for _ in layers]
    for member in members:
        rng = np.random.default_rng(member.seed)
        for i, (n_in, n_out) in enumerate(layers):
            init = member.init if i < net.depth else "glorot_uniform"
            kernels[i].append(initial_kernel(init, n_in, n_out, rng))
    return [np.stack(k).astype(dtype) for k in kernels]


def per_member(members: Sequence[Member], name: str, dtype) -> np.ndarray:
    """A hyperparameter of every member, shaped (R, 1, 1) to broadcast over a layer's weights."""
    return np.array([getattr(m, name) for m in members], dtype)[:, None, None]


class Ensemble:
    """R networks of one structure. Parameters: kernels (R, n_in, n_out), biases and BN's γ, β (R, 1, n)."""

    def __init__(self, net: Net, members: Sequence[Member], dtype=np.float32):
        self.net, self.members, self.size, self.dtype = net, list(members), len(members), dtype
        self.kernels = initial_kernels(net, members, dtype)
        zeros = lambda n: np.zeros((self.size, 1, n), dtype)  # noqa: E731
        hidden = net.sizes[1:-1]
        # As Keras' Dense(use_bias=False) before BN: BN's β is the shift.
        self.biases = [None if net.batchnorm else zeros(n) for n in hidden] + [zeros(1)]
        self.gamma = [zeros(n) + 1 for n in hidden] if net.batchnorm else []
        self.beta = [zeros(n) for n in hidden] if net.batchnorm else []
        # moving_mean[k][i]: layer i's moving average with momentum net.bn_momenta[k]
        self.moving_mean = [[zeros(n) for n in hidden] for _ in net.bn_momenta]
        self.moving_var = [[zeros(n) + 1 for n in hidden] for _ in net.bn_momenta]
        self.learning_rate = per_member(members, "learning_rate", dtype)
        self.momentum = per_member(members, "momentum", dtype)
        self.dropout_rate = per_member(members, "dropout", dtype)
        self.slots = [[np.zeros_like(p) for _ in range({"sgd": 1, "adam": 2}[net.optimizer])] for p in self.params()]
        self.steps = 0  # updates so far (Adam's t)

    def params(self) -> list[np.ndarray]:
        return self.kernels + [b for b in self.biases if b is not None] + self.gamma + self.beta

    def forward(self, x: np.ndarray, training: bool, rng: np.random.Generator | None = None,
                update_statistics: bool = True, statistics: int = 0) -> tuple[np.ndarray, list[dict]]:
        """Logits (R, N, 1) and, per hidden layer, what the backward pass needs (a_in, z, BN's values, …)."""
        net, a, cache = self.net, x, []
        for i in range(net.depth):
            c = {"a_in": a}
            z = a @ self.kernels[i]
            if self.biases[i] is not None:
                z = z + self.biases[i]
            c["z"] = z
            if net.batchnorm:
                z = self.batch_norm(i, z, training, c, update_statistics, statistics)
            a = np.maximum(z, 0) if net.activation == "relu" else expit(z)
            c["a"] = a
            if net.dropout and training:
                c["mask"] = inverted_dropout_mask(a.shape, self.dropout_rate, rng, self.dtype)
                a = a * c["mask"]
            cache.append(c)
        cache.append({"a_in": a})
        return a @ self.kernels[-1] + self.biases[-1], cache

    def batch_norm(self, i: int, z, training: bool, c: dict, update_statistics: bool = True, statistics: int = 0):
        """Layer i's BN (the function batch_norm below), with one set of moving averages per momentum."""
        ks = range(len(self.net.bn_momenta)) if training else [statistics]
        for k in ks:  # training mode: the same output for every k, each k updates its own moving averages
            out, c["z_hat"], c["inv_std"] = batch_norm(z, self.gamma[i], self.beta[i], self.moving_mean[k][i],
                                                       self.moving_var[k][i], training, self.net.bn_momenta[k],
                                                       update_statistics)
        return out

    def backward(self, logits: np.ndarray, y: np.ndarray, cache: list[dict]) -> list[np.ndarray]:
        """Gradients of each member's mean loss, in the order of params()."""
        net, n = self.net, logits.shape[1]
        d = (expit(logits) - y) / n  # ∂L/∂logit of the mean binary cross-entropy
        grads_w = [None] * (net.depth + 1)
        grads_b = [None] * (net.depth + 1)
        grads_gamma, grads_beta = [None] * net.depth, [None] * net.depth
        grads_w[-1] = cache[-1]["a_in"].transpose(0, 2, 1) @ d
        grads_b[-1] = d.sum(axis=1, keepdims=True)
        da = d @ self.kernels[-1].transpose(0, 2, 1)
        for i in reversed(range(net.depth)):
            c = cache[i]
            if "mask" in c:
                da = da * c["mask"]
            du = da * (c["a"] > 0) if net.activation == "relu" else da * c["a"] * (1 - c["a"])
            if net.batchnorm:
                grads_gamma[i] = (du * c["z_hat"]).sum(axis=1, keepdims=True)
                grads_beta[i] = du.sum(axis=1, keepdims=True)
                dz = bn_backward(du * self.gamma[i], c["z_hat"], c["inv_std"])
            else:
                dz = du
                grads_b[i] = dz.sum(axis=1, keepdims=True)
            c["dz"] = dz  # 误差项 δ = ∂L/∂z（BN 之前的 z）
            grads_w[i] = c["a_in"].transpose(0, 2, 1) @ dz
            if i:
                da = dz @ self.kernels[i].transpose(0, 2, 1)
        return grads_w + [g for g in grads_b if g is not None] + (grads_gamma + grads_beta if net.batchnorm else [])

    def apply_gradients(self, grads: list[np.ndarray]) -> None:
        self.steps += 1
        for p, g, slots in zip(self.params(), grads, self.slots):
            if self.net.optimizer == "sgd":
                sgd_update(p, g, *slots, self.learning_rate, self.momentum)
            else:
                adam_update(p, g, *slots, self.learning_rate, self.steps)


def batch_norm(z, gamma, beta, moving_mean, moving_var, training, momentum=0.99, update=True, epsilon=1e-3):
    """BN 的一层。z 的形状是（成员, 样本, 神经元）。训练模式下，每个神经元用这一批样本的均值和方差标准化，
    并就地更新移动平均（动量 momentum）；推理模式下改用移动平均，与批次无关。
    返回 BN 的输出 γẑ + β、ẑ 和 1/√(σ² + ε)（反向传播要用）。"""
    if training:
        mean = z.mean(axis=1, keepdims=True)  # 只在样本这一维上求均值和方差
        var = z.var(axis=1, keepdims=True)
        if update:
            moving_mean *= momentum
            moving_mean += (1 - momentum) * mean
            moving_var *= momentum
            moving_var += (1 - momentum) * var
    else:
        mean, var = moving_mean, moving_var
    inv_std = 1 / np.sqrt(var + epsilon)
    z_hat = (z - mean) * inv_std
    return gamma * z_hat + beta, z_hat, inv_std


BN_EPSILON = batch_norm.__defaults__[-1]  # Keras' default


def bn_backward(dz_hat, z_hat, inv_std):
    """BN 的反向传播（训练模式）：梯度乘上 1/σ_B，再减去经过均值和方差传回的部分。"""
    return inv_std * (dz_hat - dz_hat.mean(axis=1, keepdims=True)
                      - z_hat * (dz_hat * z_hat).mean(axis=1, keepdims=True))


def inverted_dropout_mask(shape, rate, rng, dtype):
    """inverted Dropout 的掩码：以概率 rate 为 0，否则为 1/(1 − rate)，期望为 1。"""
    return (rng.random(shape, dtype=np.float32) >= rate).astype(dtype) / (1 - rate)


def sgd_update(w, g, v, lr, mu) -> None:
    """SGD 与 SGD+Momentum（Keras 的写法）：v ← μv − ηg，w ← w + v。μ = 0 就是普通 SGD：w ← w − ηg。"""
    v *= mu
    v -= lr * g
    w += v


def adam_update(w, g, m, v, lr, t, beta_1=0.9, beta_2=0.999, epsilon=1e-7) -> None:
    """Adam：梯度的一阶矩 m 与二阶矩 v 取指数平均，偏差校正后走 η·m̂/(√v̂ + ε)。

    Keras 把两个偏差校正并进学习率：η·√(1 − β₂ᵗ)/(1 − β₁ᵗ) · m/(√v + ε)，与公式只差在 ε 的位置。
    """
    m += (1 - beta_1) * (g - m)
    v += (1 - beta_2) * (g * g - v)
    w -= lr * (np.sqrt(1 - beta_2 ** t) / (1 - beta_1 ** t)) * m / (np.sqrt(v) + epsilon)


ADAM = dict(zip(("beta_1", "beta_2", "epsilon"), adam_update.__defaults__))  # Keras' defaults


def member_losses(logits: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Each member's mean binary cross-entropy, computed from the logits (stable): shape (R,)."""
    return (np.maximum(logits, 0) - logits * y + np.log1p(np.exp(-np.abs(logits)))).mean(axis=(1, 2))


def member_accuracies(logits: np.ndarray, y: np.ndarray) -> np.ndarray:
    return ((logits > 0) == (y > 0.5)).mean(axis=(1, 2))


def stack_data(splits: Sequence[Mapping[str, tuple[np.ndarray, np.ndarray]]],
               dtype=np.float32) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Members' data {part: (x, y)} stacked: x (R, N, d), y (R, N, 1). Every member's parts have the same sizes."""
    return {p: (np.stack([s[p][0] for s in splits]).astype(dtype),
                np.stack([np.reshape(s[p][1], (-1, 1)) for s in splits]).astype(dtype))
            for p in splits[0]}


def train(ensemble: Ensemble, data: Mapping[str, tuple[np.ndarray, np.ndarray]], *, epochs: int,
          batch_size: int | None = None, seed: int = 0, evaluate_every: int = 1,
          track: Callable[[Ensemble], np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """训练所有成员。记录每一步每个成员的训练损失（训练模式）；每 evaluate_every 轮在每份数据上
    用推理模式记录一次损失和准确率，以及 track(ensemble)（最后一维是成员）。

    batch_size 为 None 表示全批量：每轮一步。返回 "step_loss"（步数, 成员数）
    以及 "<数据>_loss" / "<数据>_accuracy"（评估次数, 成员数）。
    """
    if epochs % evaluate_every:
        raise ValueError(f"evaluate_every={evaluate_every} 不能整除 epochs={epochs}")
    x_train, y_train = data["train"]
    n = x_train.shape[1]
    batch_size = batch_size or n
    rng = np.random.default_rng(seed)  # 每轮重新打乱一次（所有成员用同一个顺序），也用来抽 Dropout 的掩码
    step_losses, history, tracked = [], [], []
    for epoch in range(epochs):
        order = rng.permutation(n) if batch_size < n else np.arange(n)
        for start in range(0, n, batch_size):
            batch = order[start:start + batch_size]
            x, y = x_train[:, batch], y_train[:, batch]
            logits, cache = ensemble.forward(x, training=True, rng=rng)
            step_losses.append(member_losses(logits, y))
            ensemble.apply_gradients(ensemble.backward(logits, y, cache))  # 每个成员只用自己的梯度
        if (epoch + 1) % evaluate_every == 0:  # 推理模式：不丢弃神经元，BN 用移动平均
            scores = []
            for x, y in data.values():
                logits, _ = ensemble.forward(x, training=False)
                scores += [member_losses(logits, y), member_accuracies(logits, y)]
            history.append(scores)
            if track is not None:
                tracked.append(track(ensemble))
    curves = {"step_loss": np.array(step_losses, dtype=float)}
    h = np.array(history, dtype=float)  # (evaluations, 2 × parts, R)
    for j, p in enumerate(data):
        curves[f"{p}_loss"], curves[f"{p}_accuracy"] = h[:, 2 * j], h[:, 2 * j + 1]
    if track is not None:
        curves["track"] = np.array(tracked, dtype=float)
    return curves
