"""批量集成：许多个结构相同的小网络（不同的随机种子、数据和超参数）作为一个张量程序一起训练。

Not a section (no TITLE/ORDER). §7 runs every tip over many seeds. With one Keras model per
seed, TensorFlow's fixed cost per operation and per model dominates networks this small. Here
member r of an ensemble owns slice r of every weight tensor (kernels of shape (R, n_in, n_out)),
its own data (x of shape (R, N, d)) and its own hyperparameters (learning rate, momentum, Dropout
rate, BN momentum); one batched matrix product computes a layer of all R networks at once.
Members never interact: the loss is the sum of the members' mean losses, every optimiser update
is elementwise, BN's statistics are taken per member and neuron, Dropout masks are drawn per
element. tests/test_ensemble.py checks that a member trains as the same network does alone in
Keras (same layers, same optimiser arithmetic).
"""
from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from dataclasses import dataclass  # noqa: E402
from typing import Callable, Mapping, Sequence  # noqa: E402

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

BN_EPSILON = 1e-3  # Keras' default
ADAM = dict(beta_1=0.9, beta_2=0.999, epsilon=1e-7)  # Keras' defaults


@dataclass(frozen=True)
class Net:
    """The structure all members share."""

    sizes: tuple[int, ...]  # (2, 32, ..., 32, 1): input, hidden layers, one sigmoid output neuron
    activation: str = "relu"  # of the hidden layers: "relu", "sigmoid" or "tanh"
    batchnorm: bool = False  # BN between each hidden layer's product and its activation
    # BN's moving averages, one set per momentum (Keras' default is 0.99). They do not influence
    # training (training mode uses the batch's statistics), so one run serves every momentum.
    bn_momenta: tuple[float, ...] = (0.0,)
    dropout: bool = False  # a Dropout layer after each hidden activation (rate per member)
    optimizer: str = "sgd"  # "sgd" (with momentum per member, 0 = plain SGD) or "adam"

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
    """初始权重：Xavier（Glorot）均匀分布、He 正态分布，或给定标准差的正态分布。"""
    if init == "glorot_uniform":
        limit = np.sqrt(6 / (n_in + n_out))  # Var(W) = 2 / (n_in + n_out)
        return rng.uniform(-limit, limit, (n_in, n_out))
    if init == "he_normal":
        return rng.normal(0, np.sqrt(2 / n_in), (n_in, n_out))  # Var(W) = 2 / n_in
    if init.startswith("normal:"):
        return rng.normal(0, float(init.split(":")[1]), (n_in, n_out))
    raise ValueError(f"unknown initialisation {init!r}")


def initial_kernels(net: Net, members: Sequence[Member]) -> list[np.ndarray]:
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
    return [np.stack(k).astype("float32") for k in kernels]


def per_member(members: Sequence[Member], name: str) -> tf.Tensor:
    """A hyperparameter of every member, shaped (R, 1, 1) to broadcast over a layer's weights."""
    return tf.constant(np.array([getattr(m, name) for m in members], "float32")[:, None, None])


class Ensemble:
    """R networks of one structure, trained together. Weights: kernels (R, n_in, n_out), biases (R, 1, n_out)."""

    def __init__(self, net: Net, members: Sequence[Member], kernels: Sequence[np.ndarray] | None = None):
        self.net, self.members, self.size = net, list(members), len(members)
        kernels = initial_kernels(net, members) if kernels is None else kernels
        self.kernels = [tf.Variable(k) for k in kernels]
        # As Keras' Dense(use_bias=False) before BN: BN's β is the shift.
        self.biases = [None if net.batchnorm and i < net.depth else tf.Variable(tf.zeros((self.size, 1, k.shape[-1])))
                       for i, k in enumerate(kernels)]
        hidden = [(self.size, 1, n) for n in net.sizes[1:-1]]
        bn = net.batchnorm
        self.gamma = [tf.Variable(tf.ones(s)) for s in hidden] if bn else []
        self.beta = [tf.Variable(tf.zeros(s)) for s in hidden] if bn else []
        # moving_mean[k][i]: layer i's moving average with momentum net.bn_momenta[k]
        self.moving_mean = [[tf.Variable(tf.zeros(s), trainable=False) for s in hidden] for _ in net.bn_momenta]
        self.moving_var = [[tf.Variable(tf.ones(s), trainable=False) for s in hidden] for _ in net.bn_momenta]
        self.trainable = self.kernels + [b for b in self.biases if b is not None] + self.gamma + self.beta
        self.learning_rate = per_member(members, "learning_rate")
        self.momentum = per_member(members, "momentum")
        self.dropout_rate = per_member(members, "dropout")
        slots = {"sgd": 1, "adam": 2}[net.optimizer]
        self.slots = [[tf.Variable(tf.zeros_like(v)) for _ in range(slots)] for v in self.trainable]
        self.steps = tf.Variable(0.0)  # updates so far (Adam's t)

    def __call__(self, x, training: bool, step=0, record: list | None = None, update_statistics: bool = True,
                 statistics: int = 0):
        """Logits of every member, shape (R, N, 1). `record` receives each hidden layer's z before BN;
        update_statistics=False measures in training mode without touching BN's moving averages;
        in inference mode BN uses the moving averages of momentum net.bn_momenta[statistics]."""
        net, a = self.net, x
        activation = {"relu": tf.nn.relu, "sigmoid": tf.sigmoid, "tanh": tf.tanh}[net.activation]
        for i in range(net.depth):
            z = tf.matmul(a, self.kernels[i])
            if self.biases[i] is not None:
                z = z + self.biases[i]
            if record is not None:
                record.append(z)
            if net.batchnorm:
                z = self.batch_norm(i, z, training, update_statistics, statistics)
            a = activation(z)
            if net.dropout and training:
                a = inverted_dropout(a, self.dropout_rate, tf.stack([tf.cast(step, tf.int32), i]))
        return tf.matmul(a, self.kernels[-1]) + self.biases[-1]

    def batch_norm(self, i: int, z, training: bool, update_statistics: bool = True, statistics: int = 0):
        """BN：训练模式下，每个神经元用这一批样本的均值和方差标准化，同时更新移动平均；
        推理模式下改用训练中累积的移动平均（与批次无关）。z 的形状是 (成员, 样本, 神经元)。"""
        if training:
            mean, var = tf.nn.moments(z, axes=[1], keepdims=True)  # 只在样本这一维上求均值和方差
            if update_statistics:
                for k, m in enumerate(self.net.bn_momenta):
                    self.moving_mean[k][i].assign(m * self.moving_mean[k][i] + (1 - m) * mean)
                    self.moving_var[k][i].assign(m * self.moving_var[k][i] + (1 - m) * var)
        else:
            mean, var = self.moving_mean[statistics][i], self.moving_var[statistics][i]
        return self.gamma[i] * (z - mean) / tf.sqrt(var + BN_EPSILON) + self.beta[i]

    def apply_gradients(self, grads) -> None:
        self.steps.assign_add(1.0)
        for g, w, slots in zip(grads, self.trainable, self.slots):
            if self.net.optimizer == "sgd":
                sgd_update(w, g, *slots, self.learning_rate, self.momentum)
            else:
                adam_update(w, g, *slots, self.learning_rate, self.steps)


def inverted_dropout(a, rate, seed):
    """Inverted Dropout：以概率 rate 把输出置零，留下的除以 (1 − rate)，每个输出的期望不变。"""
    keep = tf.random.stateless_uniform(tf.shape(a), seed) >= rate
    return tf.where(keep, a / (1 - rate), 0.0)


def sgd_update(w, g, v, lr, mu) -> None:
    """SGD 与 Momentum（Keras 的写法）：v ← μv − ηg，w ← w + v。μ = 0 就是普通 SGD：w ← w − ηg。"""
    v.assign(mu * v - lr * g)
    w.assign_add(v)


def adam_update(w, g, m, v, lr, t, beta_1=ADAM["beta_1"], beta_2=ADAM["beta_2"], epsilon=ADAM["epsilon"]) -> None:
    """Adam：梯度的一阶矩 m 与二阶矩 v 取指数平均，偏差校正后走 η·m̂/(√v̂ + ε)。

    Keras 把两个偏差校正并进学习率：η·√(1 − β₂ᵗ)/(1 − β₁ᵗ) · m/(√v + ε)，与公式只差在 ε 的位置。
    """
    m.assign(beta_1 * m + (1 - beta_1) * g)
    v.assign(beta_2 * v + (1 - beta_2) * tf.square(g))
    w.assign_sub(lr * tf.sqrt(1 - beta_2 ** t) / (1 - beta_1 ** t) * m / (tf.sqrt(v) + epsilon))


def member_losses(logits, y):
    """Each member's mean binary cross-entropy: shape (R,)."""
    return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=logits), axis=[1, 2])


def member_accuracies(logits, y):
    return tf.reduce_mean(tf.cast(tf.equal(tf.cast(logits > 0, tf.float32), y), tf.float32), axis=[1, 2])


def stack_data(splits: Sequence[Mapping[str, tuple[np.ndarray, np.ndarray]]]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Members' data {part: (x, y)} stacked: x (R, N, d), y (R, N, 1). Every member's parts have the same sizes."""
    return {p: (np.stack([s[p][0] for s in splits]).astype("float32"),
                np.stack([np.reshape(s[p][1], (-1, 1)) for s in splits]).astype("float32"))
            for p in splits[0]}


def train(ensemble: Ensemble, data: Mapping[str, tuple[np.ndarray, np.ndarray]], *, epochs: int,
          batch_size: int | None = None, seed: int = 0, evaluate_every: int = 1,
          track: Callable[[Ensemble], tf.Tensor] | None = None) -> dict[str, np.ndarray]:
    """训练所有成员。记录每一步每个成员的训练损失（训练模式）；每 evaluate_every 轮在每份数据上
    用推理模式记录一次损失和准确率，以及 track(ensemble)（最后一维是成员）。

    batch_size 为 None 表示全批量：每轮一步。全部训练步在一个 TensorFlow 图里运行（tf.while_loop）：
    网络这么小，每一步从 Python 调用一次图的开销比这一步的计算还大。
    返回 "step_loss"（步数, R）以及 "<数据>_loss" / "<数据>_accuracy"（评估次数, R）。
    """
    x_train, y_train = (tf.constant(a) for a in data["train"])
    parts = {p: (tf.constant(x), tf.constant(y)) for p, (x, y) in data.items()}
    n = x_train.shape[1]
    batch_size = batch_size or n
    steps = -(-n // batch_size)
    rng = np.random.default_rng(seed)  # 每轮重新打乱一次，所有成员用同一个顺序
    order = tf.constant(np.stack([rng.permutation(n) if steps > 1 else np.arange(n) for _ in range(epochs)]),
                        dtype=tf.int32)
    if epochs % evaluate_every:
        raise ValueError(f"evaluate_every={evaluate_every} does not divide epochs={epochs}")
    n_evaluations = epochs // evaluate_every

    def train_step(batch, step):
        x, y = tf.gather(x_train, batch, axis=1), tf.gather(y_train, batch, axis=1)
        with tf.GradientTape() as tape:
            losses = member_losses(ensemble(x, training=True, step=step), y)
            total = tf.reduce_sum(losses)  # 成员之间互不影响：每个成员的梯度只来自它自己的损失
        ensemble.apply_gradients(tape.gradient(total, ensemble.trainable))
        return losses

    def evaluate():
        scores = []
        for x, y in parts.values():
            logits = ensemble(x, training=False)
            scores += [member_losses(logits, y), member_accuracies(logits, y)]
        return tf.stack(scores), (track(ensemble) if track is not None else tf.zeros(()))

    @tf.function(autograph=False)  # 直接写 tf.while_loop：这么短的训练，构图（tracing）本身就占了不少时间
    def run_all():
        def one_step(step, losses):
            epoch, i = step // steps, step % steps
            batch = order[epoch, i * batch_size:(i + 1) * batch_size]
            return step + 1, losses.write(step, train_step(batch, step))

        def one_round(k, losses, history, tracked):  # 训练 evaluate_every 轮，然后评估一次
            end = (k + 1) * evaluate_every * steps
            _, losses = tf.while_loop(lambda step, _: step < end, one_step, (k * evaluate_every * steps, losses))
            scores, tracks = evaluate()
            return k + 1, losses, history.write(k, scores), tracked.write(k, tracks)

        arrays = [tf.TensorArray(tf.float32, size=size) for size in (epochs * steps, n_evaluations, n_evaluations)]
        _, *arrays = tf.while_loop(lambda k, *_: k < n_evaluations, one_round, (tf.constant(0), *arrays))
        return [a.stack() for a in arrays]

    step_losses, history, tracked = (t.numpy().astype(float) for t in run_all())
    curves = {"step_loss": step_losses}
    for j, p in enumerate(parts):
        curves[f"{p}_loss"], curves[f"{p}_accuracy"] = history[:, 2 * j], history[:, 2 * j + 1]
    if track is not None:
        curves["track"] = tracked
    return curves
