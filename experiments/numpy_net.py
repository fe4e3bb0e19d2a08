"""从零实现的 numpy 神经网络：笔记本中 NeuralNetwork 类的修正版。

第 1 节（XOR）、第 3 节（反向传播）和第 4 节（梯度消失）都使用这个模块。
类保留了笔记本的接口（layer_sizes、weights、biases、forward、backward、
train、predict），改正了两处错误：打印的损失（均方误差）不是梯度所对应的
损失（二元交叉熵）；所有层共用一个激活函数，输出层也可能是 ReLU。
另外几处是改进：固定随机种子、逐步记录损失、检查输入、数值稳定的 Sigmoid、
初始化方式随激活函数而定。
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.special import expit


def sigmoid(z):
    """数值稳定的 Sigmoid：exp 只作用于非正数，z 再负也不会溢出。"""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def sigmoid_grad(z):
    s = sigmoid(z)
    return s * (1.0 - s)


def relu(z):
    return np.maximum(0.0, z)


def relu_grad(z):
    return (z > 0).astype(float)


def tanh(z):
    return np.tanh(z)


def tanh_grad(z):
    return 1.0 - np.tanh(z) ** 2


def softplus(z):
    """log(1 + e^z) 的稳定写法，用来计算交叉熵。"""
    return np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))


# 隐藏层激活函数：名称 -> (函数, 导数)，自变量都是 z
HIDDEN_ACTIVATIONS = {
    "relu": (relu, relu_grad),
    "sigmoid": (sigmoid, sigmoid_grad),
    "tanh": (tanh, tanh_grad),
}
# 输出层激活函数 -> 与之配对的损失。两种配对下 ∂L/∂z 都恰好是 a - y。
OUTPUT_ACTIVATIONS = {
    "sigmoid": "二元交叉熵",  # 二分类：输出是概率
    "linear": "均方误差的一半",  # 回归：输出无界
}
INITIALISATIONS = ("xavier", "he")
# 激活函数的默认初始化：ReLU 用 He（为 ReLU 推导）；Sigmoid 和 Tanh 沿用笔记本的 Xavier
# （Glorot 推导 Xavier 时假设激活函数工作在近似线性的区域）。这只是默认值，不是说
# Xavier 对 Sigmoid、Tanh 最好；需要时用 init 参数显式选择
DEFAULT_INIT = {"relu": "he", "sigmoid": "xavier", "tanh": "xavier"}
# 同样的导数用 a = f(z) 表示（结果逐位相同），train_many 因此可以直接复用 a
_GRAD_FROM_ACTIVATION = {
    "relu": lambda a: (a > 0).astype(float),
    "sigmoid": lambda a: a * (1.0 - a),
    "tanh": lambda a: 1.0 - a ** 2,
}


class TrainingDivergedError(FloatingPointError):
    """训练中损失变成 NaN 或无穷大。"""

    def __init__(self, epoch: int, loss: float):
        self.epoch, self.loss = epoch, loss
        super().__init__(f"training diverged at epoch {epoch}: the loss became {loss}; "
                         f"lower the learning rate or check the input scale")


class NeuralNetwork:
    """简单神经网络实现（修正版）

    layer_sizes:        每层神经元个数，例如 [2, 4, 1]
    activation:         隐藏层激活函数 'relu' | 'sigmoid' | 'tanh'
    output_activation:  输出层激活函数 'sigmoid'（二分类，损失为二元交叉熵）
                        | 'linear'（回归，损失为均方误差的一半）
    init:               'xavier'（Glorot 均匀分布）| 'he'（He 正态分布）；
                        默认随激活函数而定：ReLU 用 'he'，Sigmoid 和 Tanh 用 'xavier'
    seed:               随机种子；不使用 numpy 的全局随机状态
    """

    def __init__(self, layer_sizes, activation="relu", output_activation="sigmoid",
                 init=None, seed=None):
        self.layer_sizes = _check_layer_sizes(layer_sizes)
        self.activation = _check_choice("activation", activation, HIDDEN_ACTIVATIONS)
        self.output_activation = _check_choice("output_activation", output_activation,
                                               OUTPUT_ACTIVATIONS)
        if init is None:
            init = DEFAULT_INIT[self.activation]
        self.init = _check_choice("init", init, INITIALISATIONS)
        self.rng = np.random.default_rng(seed)
        self.weights = []
        self.biases = []

        # 初始化参数
        for n_in, n_out in zip(self.layer_sizes[:-1], self.layer_sizes[1:]):
            if self.init == "xavier":
                # Xavier：方差 2 / (n_in + n_out)，是 n_in 与 n_out 的折中；推导假设激活函数
                # 近似线性（导数约为 1），对 Sigmoid 这一假设并不成立
                limit = np.sqrt(6 / (n_in + n_out))
                w = self.rng.uniform(-limit, limit, (n_in, n_out))
            else:
                # He：方差 2 / n_in，补偿 ReLU 把一半的输入置零
                w = self.rng.normal(0.0, np.sqrt(2 / n_in), (n_in, n_out))
            self.weights.append(w)
            self.biases.append(np.zeros((1, n_out)))

    def _activate(self, z, layer, derivative=False):
        """第 layer 层（从 0 数）的激活函数；最后一层用输出激活函数。"""
        if layer == len(self.weights) - 1:
            if self.output_activation == "sigmoid":
                return sigmoid_grad(z) if derivative else sigmoid(z)
            return np.ones_like(z) if derivative else z
        f, f_grad = HIDDEN_ACTIVATIONS[self.activation]
        return f_grad(z) if derivative else f(z)

    def forward(self, X):
        """前向传播：返回输出层激活，并把每层的 z 和 a 缓存起来供反向传播使用。"""
        X = _check_X(self, X)
        self.a = [X]
        self.z = []

        for i in range(len(self.weights)):
            z = self.a[-1] @ self.weights[i] + self.biases[i]
            self.z.append(z)
            self.a.append(self._activate(z, i))

        return self.a[-1]

    def _loss_of_last_forward(self, y):
        """用上一次前向传播缓存的输出层 z 计算损失（对样本取平均）。"""
        z = self.z[-1]
        if self.output_activation == "sigmoid":
            # 二元交叉熵 -[y·log(a) + (1-y)·log(1-a)]，a = σ(z)
            # 化简为 softplus(z) - y·z：不会出现 log(0)
            per_sample = np.sum(softplus(z) - y * z, axis=1)
        else:
            per_sample = 0.5 * np.sum((z - y) ** 2, axis=1)
        return float(np.mean(per_sample))

    def loss(self, X, y):
        """训练所用的损失：Sigmoid 输出为二元交叉熵，linear 输出为均方误差的一半。"""
        X = _check_X(self, X)
        y = _check_y(self, X, y)
        self.forward(X)
        return self._loss_of_last_forward(y)

    def gradients(self, X, y):
        """损失对每层权重和偏置的梯度 (dW, db)；只计算，不更新参数。"""
        X = _check_X(self, X)
        y = _check_y(self, X, y)
        m = X.shape[0]
        output = self.forward(X)

        # 输出层：Sigmoid + 交叉熵（或 linear + 均方误差的一半）时 ∂L/∂z 化简为 a - y；
        # 损失对样本取平均，所以再除以样本数 m
        delta = (output - y) / m
        dW = [None] * len(self.weights)
        db = [None] * len(self.weights)

        # 反向传播：δ(l) = (δ(l+1) · W(l+1)ᵀ) ⊙ f'(z(l))
        for i in range(len(self.weights) - 1, -1, -1):
            dW[i] = self.a[i].T @ delta
            db[i] = np.sum(delta, axis=0, keepdims=True)
            if i > 0:
                delta = (delta @ self.weights[i].T) * self._activate(self.z[i - 1], i - 1,
                                                                      derivative=True)
        return dW, db

    def backward(self, X, y, learning_rate=0.01):
        """一步梯度下降；返回这一步所用梯度对应的损失（更新前的损失）。"""
        X = _check_X(self, X)
        y = _check_y(self, X, y)
        dW, db = self.gradients(X, y)
        loss = self._loss_of_last_forward(y)  # gradients 刚做过前向传播

        # 更新参数
        for i in range(len(self.weights)):
            self.weights[i] -= learning_rate * dW[i]
            self.biases[i] -= learning_rate * db[i]
        return loss

    def train(self, X, y, epochs=1000, learning_rate=0.01, verbose=True, print_every=100):
        """训练网络（全批量：每一步用全部样本），返回每一步的损失（第 k 个值是第 k 次更新前的损失）。

        参数名 epochs 沿用笔记本；全批量时一轮只有一步，所以它就是训练步数。
        """
        X = _check_X(self, X)
        y = _check_y(self, X, y)
        _check_training_settings(epochs, learning_rate)
        losses = np.empty(epochs)
        with np.errstate(over="ignore", invalid="ignore"):  # 溢出由下面的检查报告
            for epoch in range(epochs):
                loss = self.backward(X, y, learning_rate)
                if not np.isfinite(loss):
                    raise TrainingDivergedError(epoch, loss)
                losses[epoch] = loss
                if verbose and epoch % print_every == 0:
                    print(f"Epoch {epoch}, Loss: {loss:.4f}")
        if not all(np.isfinite(p).all() for p in self.weights + self.biases):
            raise TrainingDivergedError(epochs, float("nan"))
        return losses

    def predict(self, X):
        """预测：Sigmoid 输出按 0.5 取阈值得到类别；linear 输出直接返回数值。"""
        output = self.forward(X)
        if self.output_activation == "sigmoid":
            return (output > 0.5).astype(float)
        return output


def _check_X(net, X):
    """检查输入：二维、有限，特征数等于输入层神经元数。"""
    X = _as_finite_2d("X", X)
    if X.shape[1] != net.layer_sizes[0]:
        raise ValueError(f"X has {X.shape[1]} feature(s) per sample, but the network's input "
                         f"layer has {net.layer_sizes[0]}; X must have shape "
                         f"(n_samples, {net.layer_sizes[0]})")
    return X


def _check_y(net, X, y):
    """检查标签：每个样本一行、每个输出神经元一列；Sigmoid 输出时取值在 [0, 1]。"""
    y = _as_finite_2d("y", y)
    expected = (np.shape(X)[0], net.layer_sizes[-1])
    if y.shape != expected:
        hint = " (use y.reshape(-1, 1))" if y.ndim == 1 and expected[1] == 1 else ""
        raise ValueError(f"y has shape {y.shape}, expected {expected}: one row per sample of X "
                         f"and one column per output neuron{hint}")
    if net.output_activation == "sigmoid" and ((y < 0) | (y > 1)).any():
        raise ValueError("a sigmoid output is trained with binary cross-entropy, "
                         "so y must lie in [0, 1]")
    return y


def _check_layer_sizes(layer_sizes):
    """检查层宽列表：至少两层，每层是正整数。"""
    if isinstance(layer_sizes, (str, bytes)) or not isinstance(layer_sizes, Sequence):
        raise ValueError(f"layer_sizes must be a list of layer widths such as [2, 4, 1], "
                         f"got {layer_sizes!r}")
    if len(layer_sizes) < 2:
        raise ValueError(f"layer_sizes needs at least two sizes (input and output), "
                         f"got {list(layer_sizes)}")
    for size in layer_sizes:
        if isinstance(size, (bool, np.bool_)) or not isinstance(size, (int, np.integer)) or size <= 0:
            raise ValueError(f"every layer size must be a positive integer, "
                             f"got {size!r} in {list(layer_sizes)}")
    return [int(s) for s in layer_sizes]


def _check_choice(what, value, choices):
    """检查选项名称（激活函数、初始化）是否合法。"""
    if value not in choices:
        raise ValueError(f"unknown {what} {value!r}; choose one of "
                         + ", ".join(repr(c) for c in choices))
    return value


def _as_finite_2d(name, values):
    """转换为浮点数组，并拒绝空数组、NaN 和无穷大。"""
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric: {exc}") from None
    if array.ndim != 2:
        if name == "y" and array.ndim == 1:
            return array  # 由调用者报告形状，并提示 reshape
        raise ValueError(f"{name} must be a 2-D array (n_samples, n_features), "
                         f"got shape {array.shape}")
    if array.shape[0] == 0:
        raise ValueError(f"{name} has no samples")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return array


def _check_training_settings(epochs, learning_rate):
    """检查训练步数 epochs（非负整数）和学习率（正的有限数）。"""
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
        raise ValueError(f"epochs must be a non-negative integer, got {epochs!r}")
    if not np.isfinite(learning_rate) or learning_rate <= 0:
        raise ValueError(f"learning_rate must be a positive finite number, got {learning_rate!r}")


def _same_architecture(nets, who):
    """train_many 要求所有网络的层宽和输出层激活函数相同（隐藏层激活函数可以不同）。"""
    if not nets:
        raise ValueError(f"{who} needs at least one network")
    first = nets[0]
    for net in nets:
        if (net.layer_sizes, net.output_activation) != \
                (first.layer_sizes, first.output_activation):
            raise ValueError(f"{who} needs networks with the same layer sizes "
                             "and output activation")
    return first


def _runs(values):
    """相邻且相等的值归为一段：[(值, slice), ...]。"""
    runs, start = [], 0
    for k in range(1, len(values) + 1):
        if k == len(values) or values[k] != values[start]:
            runs.append((values[start], slice(start, k)))
            start = k
    return runs


def train_many(nets: Sequence[NeuralNetwork], X, y, epochs: int, learning_rate,
               return_outputs: bool = False):
    """把层宽相同的多个网络（例如每个随机种子一个）叠成一个数组同时训练。

    每个网络走的每一步都与 net.train(X, y, epochs, learning_rate) 相同
    （tests/test_numpy_net.py 逐一核对）；训练后的参数写回各个网络。
    隐藏层激活函数可以各不相同（激活函数相同的网络相邻时最快），learning_rate
    可以是一个数，也可以每个网络一个：一次调用的固定开销由所有网络分摊。
    返回损失记录，形状 (len(nets), epochs)；return_outputs 为真时还返回
    每一步计算损失所用的网络输出，形状 (len(nets), epochs, n_samples, n_out)。

    只适合 XOR 这样很小的数据集：每一步输出层的 z 都保存下来，
    循环结束后一次算出全部损失，而不是每步算一次。
    """
    first = _same_architecture(nets, "train_many")
    X, y = _check_X(first, X), _check_y(first, X, y)
    rates = np.broadcast_to(np.asarray(learning_rate, dtype=float), (len(nets),))
    for rate in np.unique(rates):
        _check_training_settings(epochs, rate)
    # 每个网络一个学习率时形状为 (网络数, 1, 1)，与逐个网络乘以各自的学习率逐位相同
    lr = rates[0] if (rates == rates[0]).all() else rates[:, None, None].copy()
    W = [np.stack([net.weights[i] for net in nets]) for i in range(len(first.weights))]
    b = [np.stack([net.biases[i] for net in nets]) for i in range(len(first.biases))]
    # 每种隐藏层激活函数：(函数, 用 a 表示的导数)。Sigmoid 用 scipy 的 expit：与上面的
    # sigmoid 是同一个数值稳定的函数，但一次算完，不必分七步
    pairs = {name: (expit if name == "sigmoid" else f, _GRAD_FROM_ACTIVATION[name])
             for name, (f, _) in HIDDEN_ACTIVATIONS.items()}
    runs = [(pairs[name], part) for name, part in _runs([net.activation for net in nets])]

    def hidden(z, which):
        """which = 0：激活函数；1：导数。每一段网络用自己的激活函数。"""
        if len(runs) == 1:
            return runs[0][0][which](z)
        out = np.empty_like(z)
        for pair, part in runs:
            out[part] = pair[which](z[part])
        return out

    out_f = expit if first.output_activation == "sigmoid" else (lambda z: z)
    n_layers, m = len(W), X.shape[0]
    ones = np.ones((1, m))
    z_history = np.empty((len(nets), epochs) + y.shape)
    with np.errstate(over="ignore", invalid="ignore"):
        for epoch in range(epochs):
            a = [X]
            for i in range(n_layers - 1):
                a.append(hidden(a[-1] @ W[i] + b[i], 0))
            z_out = a[-1] @ W[-1] + b[-1]
            z_history[:, epoch] = z_out
            delta = (out_f(z_out) - y) / m
            for i in range(n_layers - 1, -1, -1):
                dW = np.swapaxes(a[i], -1, -2) @ delta if i > 0 else X.T @ delta
                db = ones @ delta  # 对样本求和
                if i > 0:
                    delta = (delta @ np.swapaxes(W[i], -1, -2)) * hidden(a[i], 1)
                W[i] -= lr * dW
                b[i] -= lr * db
        if first.output_activation == "sigmoid":
            losses = np.mean(np.sum(softplus(z_history) - y * z_history, axis=-1), axis=-1)
        else:
            losses = np.mean(0.5 * np.sum((z_history - y) ** 2, axis=-1), axis=-1)
    bad = ~np.isfinite(losses)
    if bad.any():
        epoch = int(bad.any(axis=0).argmax())
        raise TrainingDivergedError(epoch, float(losses[bad[:, epoch], epoch][0]))
    if not all(np.isfinite(p).all() for p in W + b):
        raise TrainingDivergedError(epochs, float("nan"))
    for k, net in enumerate(nets):
        net.weights = [w[k].copy() for w in W]
        net.biases = [bb[k].copy() for bb in b]
    return (losses, out_f(z_history)) if return_outputs else losses
