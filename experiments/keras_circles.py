"""§5 深度学习框架: the notebook's Keras model on make_circles, on Keras 3, honestly evaluated.

Eight seeds (data, initialisation and batch order) train side by side as one batched ensemble:
the weights of every layer carry a leading seed axis, so one graph step updates all networks at
once. The lesson's plain one-model loop (train_step, train) also runs, for the representative
seed, and must give the same network. The representative seed's weights go back into the
notebook's Keras model for the figures and §6.
"""
from __future__ import annotations

import inspect
import warnings
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import train_test_split

from experiments.activation_model import activations_per_layer
from experiments.keras_utils import circles, keras, make_deterministic, tf
from report.model import Context, Figure, Listing, Result, Table, listing_of

TITLE = "深度学习框架"
ORDER = 5

N_SAMPLES = 500
TEST_SIZE = 0.3  # 150 test points
VAL_SIZE = 100  # taken from the remaining 350: 250 train, 100 validation
EPOCHS = 100
BATCH_SIZE = 32
N_SEEDS = 8
LEARNING_RATE = 0.001  # Keras' default for Adam, as the notebook's optimizer="adam"
Z95 = 1.959964  # two-sided 95 % normal quantile


# ---------------------------------------------------------------- the model, and the notebook's

def build_model() -> keras.Model:
    """笔记本的网络，Keras 3 写法：以 keras.Input 声明输入形状，而不是第一层的 input_shape=。"""
    return keras.Sequential([
        keras.Input(shape=(2,)),
        keras.layers.Dense(16, activation="relu"),
        keras.layers.Dense(8, activation="relu"),
        keras.layers.Dense(1, activation="sigmoid"),
    ])


def notebook_model() -> keras.Model:
    """笔记本的原始写法：输入形状写在第一层的 input_shape= 里。"""
    return keras.Sequential([
        keras.layers.Dense(16, activation="relu", input_shape=(2,)),
        keras.layers.Dense(8, activation="relu"),
        keras.layers.Dense(1, activation="sigmoid"),
    ])


def check_keras3() -> dict[str, object]:
    """在本机的 Keras 上检验：笔记本第 6 节的代码到底卡在哪一步。"""
    found: dict[str, object] = {"keras_version": keras.__version__}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = notebook_model()  # input_shape= 只引出一条警告
    found["n_warnings"] = len(caught)
    found["warning"] = "; ".join(f"{w.category.__name__}: {w.message}" for w in caught)
    found["built"] = model.built  # 模型已经建好，权重也已创建
    found["inputs"] = str(model.inputs[0].shape)  # 复数的 model.inputs 可以用
    for name, m in (("notebook", model), ("keras_input", build_model())):
        try:
            m.input  # 单数的 model.input：笔记本的写法
            found[f"{name}_input_error"] = ""
        except AttributeError as error:
            found[f"{name}_input_error"] = str(error)
    # 改用 model.inputs 后，笔记本自己的模型就能搭出激活模型
    per_layer = [layer.output for layer in model.layers]
    activation_model = keras.Model(inputs=model.inputs, outputs=per_layer)
    outputs = activation_model([np.zeros((1, 2), dtype="float32")])
    found["fixed_outputs"] = len(outputs)
    return found


# ---------------------------------------------------------------- data

@dataclass(frozen=True)
class Splits:
    """One seed's data: training, validation and test points."""
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def three_way(seed: int) -> Splits:
    """make_circles(random_state=seed), stratified: 150 test points, then 100 validation points
    out of the other 350 (seed 42 has the notebook's data and the same test set as before)."""
    data = circles(n_samples=N_SAMPLES, test_size=TEST_SIZE, seed=seed)
    x_train, x_val, y_train, y_val = train_test_split(
        data.x_train, data.y_train, test_size=VAL_SIZE, stratify=data.y_train, random_state=seed)
    return Splits(x_train, y_train, x_val, y_val, data.x_test, data.y_test)


# ---------------------------------------------------------------- training: S networks at once

def initial_weights(seeds: list[int]) -> list[tf.Variable]:
    """笔记本网络（build_model）的初始权重，每个随机种子一份；同一位置的权重叠成一个张量，
    第一维是种子：kernel 形状 (S, 输入数, 输出数)，bias 形状 (S, 输出数)。
    每层按自己的初始化器重新抽样，与每个种子各建一次 build_model() 得到的权重相同。"""
    model = build_model()
    per_seed = []
    for seed in seeds:
        keras.utils.set_random_seed(seed)
        weights = []
        for layer in model.layers:
            for init, weight in ((layer.kernel_initializer, layer.kernel),
                                 (layer.bias_initializer, layer.bias)):
                fresh = init.from_config(init.get_config())  # 新的初始化器，按当前种子抽样
                weights.append(fresh(weight.shape))
        per_seed.append(weights)
    return [tf.Variable(np.stack(w)) for w in zip(*per_seed)]


def layer_outputs(weights: list[tf.Variable], x) -> list:
    """S 个网络同时前向传播，x 形状 (S, 样本数, 2)。与 Dense 层相同：激活(x @ kernel + bias)。
    返回每一层的输出，最后一个是“属于内圈”的概率。"""
    outputs = []
    activations = (tf.nn.relu, tf.nn.relu, tf.sigmoid)
    for kernel, bias, activation in zip(weights[0::2], weights[1::2], activations):
        x = activation(x @ kernel + bias[:, None, :])
        outputs.append(x)
    return outputs


def losses_and_accuracies(weights, x, y):
    """每个网络各自的二元交叉熵损失和准确率（两个长度为 S 的向量）。"""
    p = layer_outputs(weights, x)[-1]
    loss = tf.reduce_mean(keras.losses.binary_crossentropy(y, p), axis=1)
    correct = tf.cast(tf.equal(tf.cast(p > 0.5, y.dtype), y), tf.float32)
    accuracy = tf.reduce_mean(correct, axis=[1, 2])
    return loss, accuracy


def train_step(model, optimizer, x, y):
    """一步训练（一个网络、一批数据）：前向传播、算损失、反向传播求梯度、更新参数。
    model.fit 对每一批做的就是这些。"""
    with tf.GradientTape() as tape:  # 记录前向计算，供自动求导
        p = model(x, training=True)  # 每个点“属于内圈”的概率
        loss = tf.reduce_mean(keras.losses.binary_crossentropy(y, p))  # 这一批的平均损失
    grads = tape.gradient(loss, model.trainable_variables)  # 反向传播由框架完成
    optimizer.apply_gradients(zip(grads, model.trainable_variables))  # Adam 按梯度更新权重
    return loss


def train(model, data, epochs: int, batch_size: int, seed: int):
    """训练一个网络：每轮用本种子的随机数把训练集重新打乱，每 batch_size 个点更新一次，
    最后一批可以不满。model.fit(x, y, epochs=epochs, batch_size=batch_size) 做的也是这件事，
    只是它打乱数据的随机数不同，所以结果会和这里略有出入。"""
    optimizer = keras.optimizers.Adam(learning_rate=LEARNING_RATE)  # 即 compile(optimizer="adam")
    optimizer.build(model.trainable_variables)

    # 只是为了快：把一步编译一次，之后反复调用（去掉下面这行装饰器也能运行）；
    # 批大小写成 None，最后那一批不满时也不必再编译一次
    @tf.function(autograph=False,
                 input_signature=[tf.TensorSpec([None, 2]), tf.TensorSpec([None, 1])])
    def step(x, y):
        return train_step(model, optimizer, x, y)

    rng = np.random.default_rng(seed)
    for epoch in range(epochs):
        order = rng.permutation(len(data.x_train))  # 每轮一个新的顺序
        for start in range(0, len(order), batch_size):
            batch = order[start:start + batch_size]
            step(data.x_train[batch], data.y_train[batch, None])
    return model


def ensemble_step(weights, optimizer, x, y):
    """S 个网络同时走一步：每个网络的损失相加后求梯度。每个网络的权重只出现在自己那一项里，
    所以得到的梯度与各自单独求的相同；Adam 又是逐个参数更新的，互不干扰。"""
    with tf.GradientTape() as tape:
        loss, _ = losses_and_accuracies(weights, x, y)
        total = tf.reduce_sum(loss)
    grads = tape.gradient(total, weights)
    optimizer.apply_gradients(zip(grads, weights))


def batch_orders(n: int, epochs: int, seeds: list[int]) -> np.ndarray:
    """每个种子自己的打乱顺序，形状 (轮数, S, n)：第 s 个网络的顺序只由 seeds[s] 决定，
    与 train(..., seed=seeds[s]) 用的完全相同。"""
    per_seed = []
    for seed in seeds:
        rng = np.random.default_rng(seed)
        per_seed.append([rng.permutation(n) for _ in range(epochs)])
    return np.stack(per_seed, axis=1)


def fit(weights, data: list[Splits], epochs: int, batch_size: int, seeds: list[int]) -> dict:
    """S 个网络一起训练，逐步与 train 相同：每轮按各自种子的顺序重新打乱，每 batch_size 个点
    调用一次 ensemble_step；全部轮次写成一个 tf.function 一次跑完（网络这么小，逐步调用的
    固定开销比计算本身大得多）。每轮结束时用同一组权重在训练集和验证集上评估，并记下每个
    隐藏神经元是否还对某个训练样本输出正值；测试集在这里一次也不看。"""
    # 形状 (S, 样本数, 2)：第 s 个网络只看第 s 份数据
    x_train = tf.constant(np.stack([d.x_train for d in data]))
    y_train = tf.constant(np.stack([d.y_train[:, None] for d in data]))
    x_val = tf.constant(np.stack([d.x_val for d in data]))
    y_val = tf.constant(np.stack([d.y_val[:, None] for d in data]))
    n = x_train.shape[1]
    orders = tf.constant(batch_orders(n, epochs, seeds), dtype=tf.int32)
    optimizer = keras.optimizers.Adam(LEARNING_RATE)  # 即 compile(optimizer="adam")
    optimizer.build(weights)  # Adam 的状态变量在 tf.function 之外建好
    # 这些函数里没有 Python 循环要改写：让 TensorFlow 原样使用它们，编译快得多
    step, scores, outputs = (tf.autograph.experimental.do_not_convert(f)
                             for f in (ensemble_step, losses_and_accuracies, layer_outputs))

    @tf.function
    def all_epochs():
        history = tf.TensorArray(tf.float32, size=epochs)  # 每轮记一行
        alive_1 = tf.TensorArray(tf.bool, size=epochs)
        alive_2 = tf.TensorArray(tf.bool, size=epochs)
        for epoch in tf.range(epochs):
            for start in tf.range(0, n, batch_size):
                batch = orders[epoch, :, start:start + batch_size]  # (S, 批大小)：每个网络自己的一批
                x = tf.gather(x_train, batch, axis=1, batch_dims=1)
                y = tf.gather(y_train, batch, axis=1, batch_dims=1)
                step(weights, optimizer, x, y)
            train_scores = scores(weights, x_train, y_train)
            val_scores = scores(weights, x_val, y_val)
            history = history.write(epoch, tf.stack([*train_scores, *val_scores]))
            hidden_1, hidden_2 = outputs(weights, x_train)[:2]
            alive_1 = alive_1.write(epoch, tf.reduce_any(hidden_1 > 0, axis=1))
            alive_2 = alive_2.write(epoch, tf.reduce_any(hidden_2 > 0, axis=1))
        return history.stack(), alive_1.stack(), alive_2.stack()

    curves, alive_1, alive_2 = (t.numpy() for t in all_epochs())
    keys = ("train_loss", "train_accuracy", "val_loss", "val_accuracy")
    history = {k: curves[:, i].astype(float) for i, k in enumerate(keys)}
    return history | {"alive_1": alive_1, "alive_2": alive_2}  # 曲线形状 (轮数, S)


def model_of(weights, s: int) -> keras.Model:
    """第 s 个网络的权重装回笔记本的 Keras 模型（画图和第 6 节用）。"""
    model = build_model()
    model.set_weights([w[s].numpy() for w in weights])
    return model


# ---------------------------------------------------------------- statistics

def wilson(k: float, n: int, z: float = Z95) -> tuple[float, float]:
    """95 % Wilson score interval of a proportion k/n (sane at 100 %, unlike p ± z·se)."""
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return float(centre - half), float(centre + half)


def describe(values) -> dict[str, float]:
    v = np.asarray(values, dtype=float)
    return {"mean": float(v.mean()), "min": float(v.min()), "max": float(v.max())}


# ---------------------------------------------------------------- figures

def plot_curves(history: dict[str, np.ndarray], s: int, best_epoch: int) -> plt.Figure:
    fig, axes = plt.subplots(1, 2, figsize=(6.5, 2.9))
    epochs = np.arange(1, len(history["train_loss"]) + 1)
    mark = max(1, len(epochs) // 10)
    for ax, what, label in ((axes[0], "loss", "二元交叉熵损失"), (axes[1], "accuracy", "准确率")):
        ax.plot(epochs, history[f"train_{what}"][:, s], label="训练集", color="C0", linestyle="-",
                marker="o", markevery=mark, markersize=3.5)
        ax.plot(epochs, history[f"val_{what}"][:, s], label="验证集", color="C1", linestyle="--",
                marker="^", markevery=mark, markersize=3.5)
        ax.axvline(best_epoch, color="0.3", linestyle=":", linewidth=1, label="验证损失最低")
        ax.set_xlabel("轮")
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.3)
        ax.tick_params(labelsize=8)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_boundary(model: keras.Model, data: Splits, resolution: int) -> plt.Figure:
    lo, hi = -1.6, 1.6
    g = np.linspace(lo, hi, resolution, dtype="float32")
    gx, gy = np.meshgrid(g, g)
    p = model(np.c_[gx.ravel(), gy.ravel()], training=False).numpy().reshape(gx.shape)
    fig, ax = plt.subplots(figsize=(4.8, 3.9))
    im = ax.contourf(gx, gy, p, levels=np.linspace(0, 1, 11), cmap="cividis")
    im.set_rasterized(True)  # thousands of polygon vertices: an image is lighter to draw and print
    ax.contour(gx, gy, p, levels=[0.5], colors="k", linewidths=1.5)
    for cls, marker, face, name in ((0, "o", "white", "外圈（类别 0）"), (1, "^", "black", "内圈（类别 1）")):
        sel = data.y_test == cls
        ax.scatter(data.x_test[sel, 0], data.x_test[sel, 1], marker=marker, s=16, c=face,
                   edgecolors="k" if cls == 0 else "white", linewidths=0.6, label=name)
    bar = fig.colorbar(im, ax=ax)
    bar.set_label("预测为类别 1 的概率", fontsize=8)
    bar.ax.tick_params(labelsize=8)
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_aspect("equal")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.tick_params(labelsize=8)
    ax.legend(loc="upper right", fontsize=7.5, framealpha=0.9)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------- the section

def run(ctx: Context) -> Result:
    make_deterministic(ctx.seed)  # same seed -> same weights, same shuffles, same numbers
    keras3 = check_keras3()
    seeds = list(range(ctx.seed, ctx.seed + (3 if ctx.quick else N_SEEDS)))
    epochs = 5 if ctx.quick else EPOCHS
    data = [three_way(seed) for seed in seeds]
    weights = initial_weights(seeds)
    # Which hidden neurons fire on some training point: before training, then after every epoch.
    at_start = [np.any(h.numpy() > 0, axis=1) for h in layer_outputs(weights, np.stack([d.x_train for d in data]))[:2]]
    history = fit(weights, data, epochs, BATCH_SIZE, seeds)
    for i, first in enumerate(at_start):
        history[f"alive_{i + 1}"] = np.concatenate([first[None], history[f"alive_{i + 1}"]])

    # The lesson's plain loop, one Keras model, for the representative seed: same numbers?
    r = 0  # the representative seed: ctx.seed, the notebook's random_state=42
    keras.utils.set_random_seed(seeds[r])
    plain = train(build_model(), data[r], epochs, BATCH_SIZE, seeds[r])
    plain_diff = max(float(np.max(np.abs(w - e[r].numpy()))) for w, e in zip(plain.get_weights(), weights))
    plain_p = plain(data[r].x_test, training=False).numpy()[:, 0]
    plain_test_accuracy = float(np.mean((plain_p > 0.5) == (data[r].y_test > 0.5)))
    ensemble_p = layer_outputs(weights, data[r].x_test[None])[-1].numpy()[0, :, 0]  # network 0 = seeds[r]
    plain_agree = int(np.sum((plain_p > 0.5) == (ensemble_p > 0.5)))

    # The test set, touched once: every seed's final network on its own 150 test points.
    final = {}
    for part in ("train", "val", "test"):
        x = np.stack([getattr(d, f"x_{part}") for d in data])
        y = np.stack([getattr(d, f"y_{part}")[:, None] for d in data])
        loss, accuracy = losses_and_accuracies(weights, x, y)  # eager: three calls, nothing to compile
        final[f"{part}_loss"], final[f"{part}_accuracy"] = loss.numpy().astype(float), accuracy.numpy().astype(float)
    n_train, n_val, n_test = (len(data[0].x_train), len(data[0].x_val), len(data[0].x_test))
    test_correct = np.round(final["test_accuracy"] * n_test).astype(int)
    train_correct = np.round(final["train_accuracy"] * n_train).astype(int)
    intervals = [wilson(k, n_test) for k in test_correct]
    half = np.array([(hi - lo) / 2 for lo, hi in intervals])  # about ±3 points at 97 % of 150
    gap = final["train_accuracy"] - final["test_accuracy"]
    within = np.abs(gap) <= half
    best = np.argmin(history["val_loss"], axis=0) + 1  # model selection on validation, per seed
    val_rise = history["val_loss"][-1] - history["val_loss"].min(axis=0)
    stats = gap_tests(gap, train_correct, n_train, test_correct, n_test)

    model = model_of(weights, r)
    steps_per_epoch = -(-n_train // BATCH_SIZE)
    metrics: dict[str, float | int | str] = {
        "n_samples": N_SAMPLES, "n_train": n_train, "n_val": n_val, "n_test": n_test,
        "epochs": epochs, "batch_size": BATCH_SIZE, "steps_per_epoch": steps_per_epoch,
        "total_steps": steps_per_epoch * epochs,
        # the notebook fitted all N_SAMPLES points: more updates per epoch
        "notebook_steps_per_epoch": -(-N_SAMPLES // BATCH_SIZE),
        "notebook_total_steps": -(-N_SAMPLES // BATCH_SIZE) * epochs,
        "n_params": int(model.count_params()), "units_1": int(weights[0].shape[-1]),
        "units_2": int(weights[2].shape[-1]), "units_out": int(weights[4].shape[-1]),
        "n_hidden_layers": len(weights) // 2 - 1,
        "learning_rate": LEARNING_RATE, "n_seeds": len(seeds), "first_seed": seeds[0],
        "last_seed": seeds[-1], "seed": seeds[r],
        # the notebook on Keras 3
        "keras_version": str(keras3["keras_version"]), "notebook_warning": str(keras3["warning"]),
        "n_notebook_warnings": int(keras3["n_warnings"]),
        "notebook_built": int(bool(keras3["built"])), "notebook_inputs": str(keras3["inputs"]),
        "notebook_input_error": str(keras3["notebook_input_error"]),
        "keras_input_input_error": str(keras3["keras_input_input_error"]),
        "notebook_fixed_outputs": int(keras3["fixed_outputs"]),
        # the plain one-model loop (the lesson's code) for the representative seed
        "plain_max_weight_diff": plain_diff, "plain_test_accuracy": plain_test_accuracy,
        "plain_test_agree": plain_agree,
        # the representative seed
        **{k: float(v[r]) for k, v in final.items()},
        "accuracy_gap": float(gap[r]), "accuracy_gap_pp": float(gap[r] * 100),
        "test_errors": int(n_test - test_correct[r]),
        "test_ci_low": intervals[r][0], "test_ci_high": intervals[r][1],
        "test_ci_half": float(half[r]), "test_ci_half_pp": float(half[r] * 100), "gap_within": int(within[r]),
        # 练习 5.3: the normal-approximation half-width z·√(p̂(1 − p̂)/n) for the same seed
        "ci_level": 0.95, "ci_z": Z95,
        "ex_normal_half_pp": float(Z95 * np.sqrt(final["test_accuracy"][r] * (1 - final["test_accuracy"][r]) / n_test) * 100),
        "best_val_epoch": int(best[r]), "best_val_loss": float(history["val_loss"][best[r] - 1, r]),
        "final_val_loss": float(history["val_loss"][-1, r]), "val_rise": float(val_rise[r]),
        # over all seeds
        "n_seeds_gap_within": int(within.sum()),
        "n_seeds_test_lower": int(np.sum(gap > 0)),
        "n_seeds_test_higher": int(np.sum(gap < 0)),
        "n_seeds_best_last": int(np.sum(best == epochs)),
        **stats,
    }
    for name, values in (("train_accuracy", final["train_accuracy"]), ("val_accuracy", final["val_accuracy"]),
                         ("test_accuracy", final["test_accuracy"]), ("gap", gap),
                         ("ci_half", half),
                         ("best_epoch", best), ("val_rise", val_rise)):
        for stat, value in describe(values).items():
            metrics[f"{name}_{stat}"] = value
    for name in ("gap_mean", "gap_min", "gap_max", "ci_half_mean"):
        metrics[f"{name}_pp"] = float(metrics[name]) * 100

    def points(x: float) -> str:  # the same sign as the prose filters print (U+2212)
        return f"{x * 100:+.1f}".replace("-", "−")

    rows = []
    for i, seed in enumerate(seeds):
        rows.append([str(seed), f"{final['train_accuracy'][i]:.1%}", f"{final['val_accuracy'][i]:.1%}",
                     f"{final['test_accuracy'][i]:.1%}", points(gap[i]), f"±{half[i] * 100:.1f}",
                     "是" if within[i] else "否", str(int(best[i]))])
    rows.append(["平均", f"{metrics['train_accuracy_mean']:.1%}", f"{metrics['val_accuracy_mean']:.1%}",
                 f"{metrics['test_accuracy_mean']:.1%}", points(metrics['gap_mean']),
                 f"±{metrics['ci_half_mean'] * 100:.1f}", f"{int(within.sum())}/{len(seeds)} 是",
                 f"{metrics['best_epoch_mean']:.0f}"])
    table = Table(
        name="seeds",
        header=["随机种子", "训练集准确率", "验证集准确率", "测试集准确率", "训练−测试（个百分点）",
                "测试集 95% 置信区间半宽（个百分点）", "差距在区间内", "验证损失最低的轮"],
        rows=rows,
        caption=f"{len(seeds)} 个随机种子（数据、初始化和打乱顺序都随种子变化）各训练 {epochs} 轮后的准确率；"
                f"每个种子训练集 {n_train}、验证集 {n_val}、测试集 {n_test} 个点。置信区间用 Wilson 法"
                f"（比例的 95% 置信区间的一种算法，准确率接近 100% 时也不会越界），半宽取上下端距离的一半",
    )
    log = (f"随机种子 {seeds[r]}\n"
           f"训练集准确率: {final['train_accuracy'][r]:.2%}\n"
           f"验证集准确率: {final['val_accuracy'][r]:.2%}\n"
           f"测试集准确率: {final['test_accuracy'][r]:.2%}   （训练结束后只算这一次）\n")
    lesson = Listing("train_step", "\n\n".join(inspect.getsource(f).rstrip() for f in (train_step, train)) + "\n",
                     f"训练一个网络：一步训练和逐轮逐批的循环（本次构建为随机种子 {seeds[r]} 运行了它）")
    fast = Listing("fit", "\n\n".join(inspect.getsource(f).rstrip() for f in (
        initial_weights, layer_outputs, losses_and_accuracies, ensemble_step, batch_orders, fit)) + "\n",
        f"{len(seeds)} 个随机种子并行训练（本节表格和图中的数字都来自这段代码）")
    metrics |= linear_baseline(data)
    return Result(
        figures=[
            Figure("curves", plot_curves(history, r, int(best[r])),
                   caption=f"随机种子 {seeds[r]} 的学习曲线：每轮结束时训练集与验证集上的损失和准确率"
                           f"（点线为验证损失最低的一轮）；{len(seeds)} 个种子的结果见表",
                   alt="两幅折线图，训练集与验证集的损失随轮下降、准确率上升，两条曲线接近"),
            Figure("boundary", plot_boundary(model, data[r], 60 if ctx.quick else 200),
                   caption=f"随机种子 {seeds[r]} 的网络训练后的决策边界（黑线为概率 0.5）与测试集样本；"
                           f"{n_test} 个测试点中有 {int(n_test - test_correct[r])} 个落在边界错误的一侧",
                   alt="平面上的预测概率等高线图，黑色近似圆形的边界把大部分内圈与外圈的测试点分开"),
        ],
        tables=[table],
        metrics=metrics,
        logs={"accuracy": log},
        listings=[
            Listing("keras3_check", "\n\n".join(inspect.getsource(f).rstrip() for f in (notebook_model, check_keras3)) + "\n",
                    "在本机的 Keras 上检验笔记本第 6 节失败的原因（本次构建实际运行）"),
            listing_of(build_model, "build_model", "Keras 3 写法的模型：以 keras.Input 开头"),
            lesson,
            fast,
        ],
        arrays=handover(model, data, weights, history)
        | {"seeds": np.array(seeds), "seeds_test_accuracy": final["test_accuracy"]},
    )


BEST_LINE_DIRECTIONS = 720  # 练习 5.1: directions searched for the accuracy-best line (every half degree)


def best_line(x: np.ndarray, y: np.ndarray, directions: int = BEST_LINE_DIRECTIONS) -> tuple[np.ndarray, float]:
    """The line u·x = t with the most training points right (predict 1 where u·x > t), searched over
    `directions` unit vectors u and, for each, every threshold between two neighbouring projections."""
    angles = np.arange(directions) * (2 * np.pi / directions)
    u = np.stack([np.cos(angles), np.sin(angles)], axis=1)  # (directions, 2)
    proj = x @ u.T  # (points, directions)
    order = np.argsort(proj, axis=0, kind="stable")
    labels = y.ravel()[order]  # labels in the order of each direction's projections
    # threshold after the first k points (k = 0 … n): those k are predicted 0, the rest 1
    zeros_below = np.vstack([np.zeros((1, directions)), np.cumsum(labels == 0, axis=0)])
    ones_above = np.vstack([np.sum(labels == 1, axis=0, keepdims=True), np.sum(labels == 1, axis=0) - np.cumsum(labels == 1, axis=0)])
    correct = zeros_below + ones_above  # (points + 1, directions)
    k, d = np.unravel_index(int(np.argmax(correct)), correct.shape)
    sorted_proj = np.sort(proj[:, d])
    padded = np.concatenate([[sorted_proj[0] - 1.0], sorted_proj, [sorted_proj[-1] + 1.0]])
    return u[d], float((padded[k] + padded[k + 1]) / 2)


def linear_baseline(data: list[Splits]) -> dict[str, float]:
    """练习 5.1：没有隐藏层的模型（一条直线作边界）在每个种子的同一份数据上能做到多好？

    Two lines per seed: scikit-learn's LogisticRegression (the line of least L2-penalised cross-entropy,
    C = 1) and the line with the most training points right (best_line; chosen on the training set only).
    Both are then evaluated once on the test set."""
    from sklearn.linear_model import LogisticRegression

    logistic = [LogisticRegression().fit(d.x_train, d.y_train.ravel()) for d in data]
    accuracy = np.array([m.score(d.x_test, d.y_test.ravel()) for m, d in zip(logistic, data)])
    outputs = np.concatenate([m.predict_proba(d.x_train)[:, 1] for m, d in zip(logistic, data)])
    weights = np.abs(np.concatenate([m.coef_.ravel() for m in logistic]))
    lines = [best_line(d.x_train, d.y_train) for d in data]
    right = lambda x, y, line: float(np.mean((x @ line[0] > line[1]) == (y.ravel() > 0.5)))  # noqa: E731
    line_train = np.array([right(d.x_train, d.y_train, line) for d, line in zip(data, lines)])
    line_test = np.array([right(d.x_test, d.y_test, line) for d, line in zip(data, lines)])
    return {"ex_linear_test_mean": float(accuracy.mean()), "ex_linear_test_min": float(accuracy.min()),
            "ex_linear_test_max": float(accuracy.max()),
            # guessing: the larger class's share of the test points (the split is stratified)
            "ex_chance_accuracy": float(max(np.mean([d.y_test.ravel().mean() for d in data]),
                                            1 - np.mean([d.y_test.ravel().mean() for d in data]))),
            "ex_logistic_weight_max": float(weights.max()),
            "ex_logistic_output_min": float(outputs.min()), "ex_logistic_output_max": float(outputs.max()),
            "ex_best_line_directions": BEST_LINE_DIRECTIONS,
            "ex_best_line_train_mean": float(line_train.mean()), "ex_best_line_train_min": float(line_train.min()),
            "ex_best_line_train_max": float(line_train.max()),
            "ex_best_line_test_mean": float(line_test.mean()), "ex_best_line_test_min": float(line_test.min()),
            "ex_best_line_test_max": float(line_test.max())}


def gap_tests(gap, train_correct, n_train: int, test_correct, n_test: int) -> dict[str, float]:
    """Is the training set's accuracy higher than the test set's, over all seeds together?
    Paired t-test and Wilcoxon signed-rank test on the per-seed gaps (two-sided), and Fisher's
    exact test on the pooled counts of correct points."""
    from scipy import stats

    gap = np.asarray(gap, dtype=float)
    t_p = float(stats.ttest_1samp(gap, 0.0).pvalue) if np.ptp(gap) > 0 else float("nan")
    w_p = float(stats.wilcoxon(gap).pvalue) if np.any(gap != 0) else 1.0
    k_train, k_test = int(np.sum(train_correct)), int(np.sum(test_correct))
    m_train, m_test = n_train * len(gap), n_test * len(gap)
    f_p = float(stats.fisher_exact([[k_train, m_train - k_train], [k_test, m_test - k_test]]).pvalue)
    return {"gap_ttest_p": t_p, "gap_wilcoxon_p": w_p, "fisher_p": f_p,
            "pooled_train_correct": k_train, "pooled_train_total": m_train,
            "pooled_test_correct": k_test, "pooled_test_total": m_test,
            "pooled_train_accuracy": k_train / m_train, "pooled_test_accuracy": k_test / m_test,
            "pooled_gap_pp": (k_train / m_train - k_test / m_test) * 100}


def handover(model: keras.Model, data: list[Splits], weights, history) -> dict[str, np.ndarray]:
    """What §6 needs: the representative network's weights and every layer's activations on its
    data, computed here where the model lives (the notebook's activation model); and for every
    seed the hidden layers on its training set and which neurons were alive at the start and
    after each epoch (1 + epochs, S, neurons)."""
    rep = data[0]
    arrays = {f"weight_{i}": w for i, w in enumerate(model.get_weights())} | {"y_test": rep.y_test}
    n = len(rep.x_train)  # one call for both sets: the training points, then the test points
    for i, activation in enumerate(activations_per_layer(model, np.concatenate([rep.x_train, rep.x_test]))):
        arrays[f"train_activation_{i}"], arrays[f"test_activation_{i}"] = activation[:n], activation[n:]
    hidden = layer_outputs(weights, np.stack([d.x_train for d in data]))[:2]
    on_test = layer_outputs(weights, np.stack([d.x_test for d in data]))[:2]
    for i, w in enumerate(weights):
        arrays[f"seeds_weight_{i}"] = w.numpy()
    for i, (h, t) in enumerate(zip(hidden, on_test)):
        arrays[f"seeds_train_activation_{i}"] = h.numpy()
        arrays[f"seeds_test_activation_{i}"] = t.numpy()
        arrays[f"seeds_alive_{i}"] = history[f"alive_{i + 1}"].astype(np.uint8)
    return arrays
