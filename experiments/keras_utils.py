"""Keras set-up shared by §5–§7: quiet, deterministic TensorFlow, the data, and a lean training loop.

Not a section (no TITLE/ORDER). Importing it imports TensorFlow (~4 s), so only the
experiments that train or run a Keras model import it.
"""
from __future__ import annotations

import os

# Before TensorFlow is imported, also when tests call run() in-process.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from dataclasses import dataclass  # noqa: E402
from typing import Mapping  # noqa: E402

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from sklearn.datasets import make_circles  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402


def make_deterministic(seed: int) -> None:
    """Same seed, same numbers: seeds Python, NumPy and TensorFlow; deterministic kernels.

    clear_session resets Keras' layer names and TensorFlow's graph; free_memory=False skips the
    full garbage collection it runs by default (~0.4 s CPU with TensorFlow loaded), which frees
    memory but changes no number."""
    keras.utils.clear_session(free_memory=False)
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


@dataclass(frozen=True)
class Split:
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def circles(n_samples: int = 500, noise: float = 0.1, test_size: float = 0.3, seed: int = 42) -> Split:
    """The notebook's make_circles data with a stratified train/test split."""
    x, y = make_circles(n_samples=n_samples, noise=noise, factor=0.5, random_state=seed)
    x_train, x_test, y_train, y_test = train_test_split(
        x.astype("float32"), y.astype("float32"), test_size=test_size, stratify=y, random_state=seed)
    return Split(x_train, y_train, x_test, y_test)


def train(runs: dict[str, tuple[keras.Model, keras.optimizers.Optimizer]], data: Split | Mapping[str, Split], *,
          epochs: int, batch_size: int, seed: int) -> dict[str, dict[str, np.ndarray]]:
    """Train several networks side by side on the same mini-batches (binary cross-entropy).

    `data` is one Split for all networks, or one Split per network (same sizes: e.g. one data
    seed per network), so that many seeds train as one batched ensemble. All epochs of all
    networks run inside one TensorFlow graph: model.fit pays a large fixed cost per epoch and
    per model on data this small. After every epoch the loss and accuracy of each network on
    the training and the test set are recorded.
    """
    splits = [data[name] for name in runs] if isinstance(data, Mapping) else [data] * len(runs)
    if len({(len(d.x_train), len(d.x_test)) for d in splits}) != 1:
        raise ValueError("every network's data must have the same training and test sizes")
    x_train = tf.constant(np.stack([d.x_train for d in splits]))
    y_train = tf.constant(np.stack([d.y_train[:, None] for d in splits]))
    x_both = tf.concat([x_train, tf.constant(np.stack([d.x_test for d in splits]))], 1)
    y_test = tf.constant(np.stack([d.y_test[:, None] for d in splits]))
    n = len(splits[0].x_train)
    steps = -(-n // batch_size)
    rng = np.random.default_rng(seed)  # a fresh shuffle every epoch, as fit(shuffle=True) does
    order = tf.constant(np.stack([rng.permutation(n) for _ in range(epochs)]), dtype=tf.int32)
    for model, optimizer in runs.values():
        optimizer.build(model.trainable_variables)

    # Autograph turns the loops in run_all into graph loops; Keras' own code is left alone.
    @tf.autograph.experimental.do_not_convert
    def train_step(batch):
        for r, (model, optimizer) in enumerate(runs.values()):
            x, y = tf.gather(x_train[r], batch), tf.gather(y_train[r], batch)
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(keras.losses.binary_crossentropy(y, model(x, training=True)))
            grads = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(grads, model.trainable_variables))

    @tf.autograph.experimental.do_not_convert
    def evaluate():
        scores = []
        for r, (model, _) in enumerate(runs.values()):
            p = model(x_both[r], training=False)  # one pass over training and test points
            for part, y in ((p[:n], y_train[r]), (p[n:], y_test[r])):
                scores += [tf.reduce_mean(keras.losses.binary_crossentropy(y, part)),
                           tf.reduce_mean(tf.cast(tf.equal(tf.cast(part > 0.5, tf.float32), y), tf.float32))]
        return tf.stack(scores)

    @tf.function
    def run_all():
        curves = tf.TensorArray(tf.float32, size=epochs)
        for epoch in tf.range(epochs):
            for i in tf.range(steps):
                train_step(order[epoch, i * batch_size:(i + 1) * batch_size])
            curves = curves.write(epoch, evaluate())
        return curves.stack()

    c = run_all().numpy().astype(float).reshape(epochs, len(runs), 4)
    if not np.all(np.isfinite(c)):
        raise FloatingPointError("training diverged: a loss became NaN or infinite")
    keys = ("train_loss", "train_accuracy", "test_loss", "test_accuracy")
    return {name: {k: c[:, j, i] for i, k in enumerate(keys)} for j, name in enumerate(runs)}


def gradient_norms(model: keras.Model, data: Split) -> np.ndarray:
    """Norm of dLoss/dW for each Dense layer's kernel, on the whole training set, before training."""
    x, y = tf.constant(data.x_train), tf.constant(data.y_train[:, None])
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(keras.losses.binary_crossentropy(y, model(x, training=False)))
    kernels = [layer.kernel for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    return np.array([float(tf.norm(g)) for g in tape.gradient(loss, kernels)])
