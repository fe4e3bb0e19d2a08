"""§7 总结: the notebook's lists, and the training runs behind every practical tip (7.1–7.5).

All tip experiments train here, in one process: TensorFlow costs ~4 s to import per
process, more than most of these small runs. The subsections (tip_*.py) USE this
result and only plot and measure the curves handed over in `arrays`.
"""
from __future__ import annotations

import numpy as np
from sklearn.datasets import make_moons
from sklearn.model_selection import train_test_split

from experiments.keras_utils import Split, circles, gradient_norms, keras, make_deterministic, train
from report.model import Context, Result, Table, listing_of

TITLE = "总结"
ORDER = 7


def build_mlp(depth, width, activation="relu", initializer="glorot_uniform",
              batchnorm=False, dropout=0.0):
    """One builder for every tip: each argument switches one practical tip on or off."""
    layers = [keras.Input(shape=(2,))]
    for _ in range(depth):
        layers.append(keras.layers.Dense(width, kernel_initializer=initializer, use_bias=not batchnorm))
        if batchnorm:  # normalise the pre-activations over the batch (BN has its own shift)
            # Our BN runs train on the full batch, so the statistics used at inference can be
            # those of the last batch (momentum=0); Keras' default 0.99 lags far behind in 60 steps.
            layers.append(keras.layers.BatchNormalization(momentum=0.0))
        layers.append(keras.layers.Activation(activation))
        if dropout:
            layers.append(keras.layers.Dropout(dropout))
    layers.append(keras.layers.Dense(1, activation="sigmoid"))
    return keras.Sequential(layers)


def settings(quick: bool) -> dict[str, float]:
    """Sizes chosen so that each effect shows clearly while the whole section stays fast."""
    if quick:
        return dict(depth=2, width=8, deep_epochs=3, deep_lr=0.05, drop_train=40, drop_test=80, drop_width=16,
                    drop_rate=0.5, drop_epochs=4, drop_lr=0.01, opt_epochs=3, opt_batch=32, small_std=0.01)
    return dict(depth=6, width=32, deep_epochs=60, deep_lr=0.05, drop_train=100, drop_test=400, drop_width=128,
                drop_rate=0.5, drop_epochs=200, drop_lr=0.01, opt_epochs=50, opt_batch=32, small_std=0.01)


def activation_stds(model, x: np.ndarray) -> np.ndarray:
    """Standard deviation of each hidden layer's output before training: does the signal survive?"""
    stds = []
    for layer in model.layers:
        x = layer(x)
        if isinstance(layer, keras.layers.Activation):
            stds.append(float(np.std(x)))
    return np.array(stds)


def deep_runs(s, data: Split, seed: int) -> dict[str, dict[str, np.ndarray]]:
    """7.1 ReLU, 7.2 BatchNorm and 7.4 initialisation: the same deep network, one switch at a time."""
    variants = {
        "sigmoid": dict(activation="sigmoid"),  # Keras' default init: Glorot (Xavier) uniform
        "sigmoid_bn": dict(activation="sigmoid", batchnorm=True),
        "relu_small": dict(initializer=keras.initializers.RandomNormal(stddev=s["small_std"])),
        "relu_xavier": dict(initializer="glorot_uniform"),
        "relu_he": dict(initializer="he_normal"),
    }
    runs, before = {}, {}
    for name, options in variants.items():
        keras.utils.set_random_seed(seed)  # every variant starts from the same random state
        model = build_mlp(s["depth"], s["width"], **options)
        before[name] = {"grad_norms": gradient_norms(model, data), "act_stds": activation_stds(model, data.x_train)}
        # SGD with momentum: plain enough that gradient scale shows (and cheap to build)
        runs[name] = (model, keras.optimizers.SGD(s["deep_lr"], momentum=0.9))
    curves = train(runs, data, epochs=s["deep_epochs"], batch_size=len(data.x_train), seed=seed)
    return {name: before[name] | curves[name] for name in runs}


def moons(s, seed: int) -> Split:
    """Few, noisy training points: a wide network can memorise them."""
    x, y = make_moons(n_samples=s["drop_train"] + s["drop_test"], noise=0.25, random_state=seed)
    x_tr, x_te, y_tr, y_te = train_test_split(x.astype("float32"), y.astype("float32"),
                                              train_size=s["drop_train"], stratify=y, random_state=seed)
    return Split(x_tr, y_tr, x_te, y_te)


def dropout_runs(s, seed: int) -> dict[str, dict[str, np.ndarray]]:
    """7.3 Dropout: the same over-sized network on few points, without and with Dropout."""
    data = moons(s, seed)
    runs = {}
    for name, rate in (("plain", 0.0), ("dropout", s["drop_rate"])):
        keras.utils.set_random_seed(seed)
        runs[name] = (build_mlp(2, s["drop_width"], dropout=rate), keras.optimizers.Adam(s["drop_lr"]))
    return train(runs, data, epochs=s["drop_epochs"], batch_size=len(data.x_train), seed=seed)


def optimizer_runs(s, data: Split, seed: int) -> dict[str, dict[str, np.ndarray]]:
    """7.5 optimisers: §5's network and data, each optimiser with Keras' default learning rate."""
    optimizers = {
        "sgd": lambda: keras.optimizers.SGD(learning_rate=0.01),
        "momentum": lambda: keras.optimizers.SGD(learning_rate=0.01, momentum=0.9),
        "adam": lambda: keras.optimizers.Adam(learning_rate=0.001),
    }
    runs = {}
    for name, make in optimizers.items():
        keras.utils.set_random_seed(seed)
        model = keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(16, activation="relu"),
                                  keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1, activation="sigmoid")])
        runs[name] = (model, make())
    return train(runs, data, epochs=s["opt_epochs"], batch_size=s["opt_batch"], seed=seed)


def run(ctx: Context) -> Result:
    s = settings(ctx.quick)
    make_deterministic(ctx.seed)
    data = circles(seed=42)
    groups = {"deep": deep_runs(s, data, ctx.seed), "drop": dropout_runs(s, ctx.seed),
              "opt": optimizer_runs(s, data, ctx.seed)}
    arrays = {f"{group}/{name}/{key}": np.asarray(value)
              for group, runs in groups.items() for name, curves in runs.items() for key, value in curves.items()}

    deep, drop, opt = groups["deep"], groups["drop"], groups["opt"]
    last = lambda run, key: float(run[key][-1])  # noqa: E731
    rows = [
        ["ReLU 缓解梯度消失", f"{s['depth']} 层网络：Sigmoid → ReLU", "训练集准确率",
         f"{last(deep['sigmoid'], 'train_accuracy'):.1%}", f"{last(deep['relu_xavier'], 'train_accuracy'):.1%}"],
        ["Batch Normalization 稳定训练", f"{s['depth']} 层 Sigmoid 网络：加 BN", "训练集准确率",
         f"{last(deep['sigmoid'], 'train_accuracy'):.1%}", f"{last(deep['sigmoid_bn'], 'train_accuracy'):.1%}"],
        ["Dropout 防止过拟合", f"{s['drop_train']} 个训练点：加 Dropout({s['drop_rate']:g})", "训练与测试准确率之差",
         f"{last(drop['plain'], 'train_accuracy') - last(drop['plain'], 'test_accuracy'):.1%}",
         f"{last(drop['dropout'], 'train_accuracy') - last(drop['dropout'], 'test_accuracy'):.1%}"],
        ["合理初始化（Xavier/He）", f"{s['depth']} 层 ReLU 网络：N(0, {s['small_std']:g}²) → He", "最终训练损失",
         f"{last(deep['relu_small'], 'train_loss'):.3f}", f"{last(deep['relu_he'], 'train_loss'):.3f}"],
        ["合适的优化器", "§5 的网络：SGD → Adam / SGD+Momentum", "最终训练损失",
         f"{last(opt['sgd'], 'train_loss'):.3f}",
         f"{last(opt['adam'], 'train_loss'):.3f} / {last(opt['momentum'], 'train_loss'):.3f}"],
    ]
    table = Table("tips", ["实践技巧", "对比", "指标", "不用", "使用"], rows,
                  caption="每条实践技巧的对照实验（详见 7.1–7.5 小节）")
    metrics = {k: v for k, v in s.items()}
    metrics["n_runs"] = sum(len(runs) for runs in groups.values())
    return Result(
        tables=[table],
        metrics=metrics,
        listings=[listing_of(build_mlp, "build_mlp", "所有技巧实验共用的网络构造函数"),
                  listing_of(train, "train", "所有技巧实验共用的训练循环（整个训练在一个 TensorFlow 图中运行）")],
        arrays=arrays,
    )
