"""§5 深度学习框架: the notebook's Keras model on make_circles, on Keras 3, honestly evaluated."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from experiments.activation_model import activations_per_layer
from experiments.keras_utils import Split, circles, keras, make_deterministic, tf
from report.model import Context, Figure, Result, Table, listing_of

TITLE = "深度学习框架"
ORDER = 5

EPOCHS = 100
BATCH_SIZE = 32
TEST_SIZE = 0.3


def build_model() -> keras.Model:
    """The notebook's network; Keras 3 starts from keras.Input instead of input_shape=."""
    return keras.Sequential([
        keras.Input(shape=(2,)),
        keras.layers.Dense(16, activation="relu"),
        keras.layers.Dense(8, activation="relu"),
        keras.layers.Dense(1, activation="sigmoid"),
    ])


class EpochEnd(keras.callbacks.Callback):
    """After every epoch: loss and accuracy on the training and the test set, same weights."""

    def __init__(self, data: Split):
        super().__init__()
        self.data = data
        self.curves = {k: [] for k in ("train_loss", "train_accuracy", "test_loss", "test_accuracy")}

    def on_train_begin(self, logs=None):
        self.predict = tf.function(lambda x: self.model(x, training=False))

    def on_epoch_end(self, epoch, logs=None):
        for part, x, y in (("train", self.data.x_train, self.data.y_train),
                           ("test", self.data.x_test, self.data.y_test)):
            p = np.clip(self.predict(x).numpy()[:, 0].astype(float), 1e-7, 1 - 1e-7)
            self.curves[f"{part}_loss"].append(float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))))
            self.curves[f"{part}_accuracy"].append(float(np.mean((p > 0.5) == y)))


def train_and_evaluate(data: Split, seed: int, epochs: int = EPOCHS):
    make_deterministic(seed)  # same seed -> same weights, same shuffles, same numbers
    model = build_model()
    steps = -(-len(data.x_train) // BATCH_SIZE)  # batches per epoch
    # steps_per_execution: one call into the TensorFlow graph per epoch instead of per batch
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"],
                  steps_per_execution=steps)
    # The same batches of 32 as fit(x, y, batch_size=32, shuffle=True), reshuffled every
    # epoch, but the input pipeline is built once instead of once per epoch.
    batches = (tf.data.Dataset.from_tensor_slices((data.x_train, data.y_train))
               .shuffle(len(data.x_train), seed=seed).batch(BATCH_SIZE).repeat())
    curves = EpochEnd(data)
    model.fit(batches, epochs=epochs, steps_per_epoch=steps, shuffle=False, verbose=0, callbacks=[curves])

    # The notebook stops here: evaluate() on the data the model was trained on.
    train_loss, train_acc = model.evaluate(data.x_train, data.y_train, verbose=0)
    # The honest number: points the model has never seen.
    test_loss, test_acc = model.evaluate(data.x_test, data.y_test, verbose=0)
    return model, curves.curves, {"train_loss": train_loss, "train_accuracy": train_acc,
                                  "test_loss": test_loss, "test_accuracy": test_acc}


def plot_curves(curves: dict[str, list[float]]) -> plt.Figure:
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    epochs = np.arange(1, len(curves["train_loss"]) + 1)
    for ax, what, label in ((axes[0], "loss", "二元交叉熵损失"), (axes[1], "accuracy", "准确率")):
        ax.plot(epochs, curves[f"train_{what}"], label="训练集", color="C0")
        ax.plot(epochs, curves[f"test_{what}"], label="测试集", color="C1", linestyle="--")
        ax.set_xlabel("轮次（epoch）")
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.3)
        ax.legend()
    axes[0].set_title("损失")
    axes[1].set_title("准确率")
    fig.tight_layout()
    return fig


def plot_boundary(model: keras.Model, data: Split, resolution: int) -> plt.Figure:
    lo, hi = -1.6, 1.6
    g = np.linspace(lo, hi, resolution, dtype="float32")
    gx, gy = np.meshgrid(g, g)
    p = model.predict(np.c_[gx.ravel(), gy.ravel()], batch_size=4096, verbose=0).reshape(gx.shape)
    fig, ax = plt.subplots(figsize=(5.6, 5))
    im = ax.contourf(gx, gy, p, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.75)
    im.set_rasterized(True)  # thousands of polygon vertices: an image is lighter to draw and print
    ax.contour(gx, gy, p, levels=[0.5], colors="k", linewidths=1.5)
    for cls, marker, name in ((0, "o", "外圈（类别 0）"), (1, "^", "内圈（类别 1）")):
        sel = data.y_test == cls
        ax.scatter(data.x_test[sel, 0], data.x_test[sel, 1], marker=marker, s=22,
                   c="C0" if cls == 0 else "C3", edgecolors="k", linewidths=0.5, label=name)
    fig.colorbar(im, ax=ax, label="预测为类别 1 的概率")
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_aspect("equal")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    return fig


def run(ctx: Context) -> Result:
    data = circles(test_size=TEST_SIZE, seed=42)  # the notebook's data: random_state=42
    epochs = 5 if ctx.quick else EPOCHS
    model, curves, final = train_and_evaluate(data, ctx.seed, epochs)
    best = int(np.argmin(curves["test_loss"]))
    metrics = {
        "n_samples": len(data.x_train) + len(data.x_test), "n_train": len(data.x_train),
        "n_test": len(data.x_test), "test_size": TEST_SIZE, "epochs": epochs, "batch_size": BATCH_SIZE,
        "steps_per_epoch": -(-len(data.x_train) // BATCH_SIZE),
        "n_params": int(model.count_params()),
        **{k: float(v) for k, v in final.items()},
        "accuracy_gap": float(final["train_accuracy"] - final["test_accuracy"]),
        "test_errors": int(round((1 - final["test_accuracy"]) * len(data.x_test))),
        "best_test_loss_epoch": best + 1, "best_test_loss": curves["test_loss"][best],
    }
    table = Table(
        name="scores",
        header=["数据", "样本数", "准确率", "二元交叉熵损失"],
        rows=[["训练集（笔记本只报告了这一行）", str(metrics["n_train"]), f"{final['train_accuracy']:.2%}",
               f"{final['train_loss']:.4f}"],
              ["测试集（训练时从未见过）", str(metrics["n_test"]), f"{final['test_accuracy']:.2%}",
               f"{final['test_loss']:.4f}"]],
        caption=f"训练 {epochs} 轮后在训练集与测试集上的表现",
    )
    log = (f"训练集准确率: {final['train_accuracy']:.2%}\n"
           f"测试集准确率: {final['test_accuracy']:.2%}\n")
    return Result(
        figures=[
            Figure("curves", plot_curves(curves),
                   caption="学习曲线：每轮结束时在训练集和测试集上的损失与准确率",
                   alt="两幅折线图，训练集与测试集的损失随轮次下降、准确率上升，两条曲线接近"),
            Figure("boundary", plot_boundary(model, data, 60 if ctx.quick else 200),
                   caption="训练后的决策边界（黑线为概率 0.5）与测试集样本",
                   alt="平面上的预测概率等高线图，黑色圆形边界把内圈与外圈的测试点分开"),
        ],
        tables=[table],
        metrics=metrics,
        logs={"accuracy": log},
        listings=[
            listing_of(build_model, "build_model", "Keras 3 写法的模型：以 keras.Input 开头"),
            listing_of(train_and_evaluate, "train_and_evaluate", "训练与评估（本次构建实际运行的代码）"),
        ],
        arrays=handover(model, data),
    )


def handover(model: keras.Model, data: Split) -> dict[str, np.ndarray]:
    """What §6 needs: the trained weights, and every layer's activations on both data sets,
    computed here where the model lives instead of in a second TensorFlow process."""
    arrays = {f"weight_{i}": w for i, w in enumerate(model.get_weights())} | {"y_test": data.y_test}
    for part, x in (("train", data.x_train), ("test", data.x_test)):
        for i, activation in enumerate(activations_per_layer(model, x)):
            arrays[f"{part}_activation_{i}"] = activation
    return arrays
