"""The NumPy ensemble behind §7: gradients, independence of members, and agreement with Keras."""
from __future__ import annotations

import numpy as np
import pytest

from experiments import ensemble as E


def small(net: E.Net, seeds=(1, 2), **member) -> E.Ensemble:
    ens = E.Ensemble(net, [E.Member(s, **member) for s in seeds], dtype=np.float64)
    rng = np.random.default_rng(5)
    for b in ens.biases:  # non-zero biases and BN parameters, so their gradients are tested too
        if b is not None:
            b[:] = 0.1 * rng.normal(size=b.shape)
    for g in ens.gamma:
        g[:] = rng.uniform(0.5, 1.5, g.shape)
    for b in ens.beta:
        b[:] = rng.normal(size=b.shape)
    return ens


@pytest.mark.parametrize("net", [E.Net((2, 5, 4, 1), "sigmoid"), E.Net((2, 5, 4, 1), "relu"),
                                 E.Net((2, 5, 4, 1), "sigmoid", batchnorm=True),
                                 E.Net((2, 5, 4, 1), "relu", dropout=True)], ids=["sigmoid", "relu", "bn", "dropout"])
def test_backward_matches_finite_differences(net):
    ens = small(net, dropout=0.3)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(2, 7, 2)), (rng.random((2, 7, 1)) > 0.5).astype(float)

    def loss():  # the same Dropout mask every time
        logits, _ = ens.forward(x, training=True, rng=np.random.default_rng(3), update_statistics=False)
        return E.member_losses(logits, y).sum()

    logits, cache = ens.forward(x, training=True, rng=np.random.default_rng(3), update_statistics=False)
    for p, g in zip(ens.params(), ens.backward(logits, y, cache)):
        numeric = np.zeros_like(p)
        for idx in np.ndindex(p.shape):
            old = p[idx]
            p[idx] = old + 1e-6
            up = loss()
            p[idx] = old - 1e-6
            numeric[idx] = (up - loss()) / 2e-6
            p[idx] = old
        np.testing.assert_allclose(g, numeric, atol=1e-7, rtol=1e-5)


def test_a_member_trains_as_it_does_alone():
    net = E.Net((2, 6, 6, 1), "relu", dropout=False, optimizer="adam")
    rng = np.random.default_rng(1)
    parts = [{"train": (rng.normal(size=(20, 2)), rng.integers(0, 2, 20))} for _ in range(3)]
    members = [E.Member(s, learning_rate=lr) for s, lr in ((1, 0.01), (2, 0.1), (3, 0.001))]
    together = E.train(E.Ensemble(net, members), E.stack_data(parts), epochs=5, batch_size=8)
    alone = E.train(E.Ensemble(net, members[1:2]), E.stack_data(parts[1:2]), epochs=5, batch_size=8)
    np.testing.assert_allclose(together["step_loss"][:, 1], alone["step_loss"][:, 0], rtol=1e-5)
    assert not np.allclose(together["step_loss"][:, 0], together["step_loss"][:, 1])


def test_momentum_zero_is_plain_sgd():
    w, g, v = np.ones((1, 2, 2)), np.full((1, 2, 2), 0.5), np.zeros((1, 2, 2))
    E.sgd_update(w, g, v, np.full((1, 1, 1), 0.1), np.zeros((1, 1, 1)))
    np.testing.assert_allclose(w, 1 - 0.1 * 0.5)


def test_inverted_dropout_keeps_the_expectation():
    mask = E.inverted_dropout_mask((200, 500), np.full((1, 1), 0.5), np.random.default_rng(0), np.float64)
    assert set(np.unique(mask)) == {0.0, 2.0}
    assert mask.mean() == pytest.approx(1.0, abs=0.01)


def test_bn_inference_uses_the_moving_averages():
    ens = small(E.Net((2, 4, 1), "sigmoid", batchnorm=True, bn_momenta=(0.0, 0.99)))
    x = np.random.default_rng(0).normal(size=(2, 30, 2))
    train_logits, _ = ens.forward(x, training=True)
    same, _ = ens.forward(x, training=False, statistics=0)  # momentum 0: the statistics of that batch
    np.testing.assert_allclose(same, train_logits, rtol=1e-6)
    lagging, _ = ens.forward(x, training=False, statistics=1)  # momentum 0.99: still ≈ mean 0, variance 1
    assert not np.allclose(lagging, train_logits, rtol=1e-3)


keras = pytest.importorskip("keras")


@pytest.mark.slow
@pytest.mark.parametrize("batchnorm, optimizer", [(False, "sgd"), (True, "sgd"), (False, "adam")])
def test_a_member_trains_as_the_same_keras_network(batchnorm, optimizer):
    """Same initial weights, full batch: the ensemble's losses are Keras' losses."""
    import tensorflow as tf

    net = E.Net((2, 8, 8, 1), "sigmoid", batchnorm=batchnorm, optimizer=optimizer)
    ens = E.Ensemble(net, [E.Member(7, learning_rate=0.05, momentum=0.9)])
    kernels = [k[0] for k in ens.kernels]
    layers = [keras.Input(shape=(2,))]
    for _ in range(net.depth):
        layers.append(keras.layers.Dense(8, use_bias=not batchnorm))
        if batchnorm:
            layers.append(keras.layers.BatchNormalization(momentum=0.0, epsilon=E.BN_EPSILON))
        layers.append(keras.layers.Activation("sigmoid"))
    layers.append(keras.layers.Dense(1))
    model = keras.Sequential(layers)
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    for layer, kernel in zip(dense, kernels):
        layer.kernel.assign(kernel)
    opt = keras.optimizers.SGD(0.05, momentum=0.9) if optimizer == "sgd" else keras.optimizers.Adam(0.05)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(40, 2)).astype("float32"), rng.integers(0, 2, (40, 1)).astype("float32")
    keras_losses = []
    for _ in range(E.KERAS_CHECK_STEPS):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(keras.losses.binary_crossentropy(y, model(x, training=True), from_logits=True))
        opt.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
        keras_losses.append(float(loss))
    ours = E.train(ens, E.stack_data([{"train": (x, y)}]), epochs=E.KERAS_CHECK_STEPS)["step_loss"][:, 0]
    np.testing.assert_allclose(ours, keras_losses, rtol=2e-4)


# Fast Keras comparisons (normal suite): the parts §7 relies on beyond the slow case above.

def _keras_twin(net, ens, bn_momentum=0.0, dropout=0.0):
    """The same network built by experiments/tip_keras.py (the listing §7 shows), with the first member's kernels."""
    from experiments.tip_keras import keras_model

    model = keras_model(net.sizes, net.activation, net.batchnorm, dropout=dropout, bn_momentum=bn_momentum)
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    for layer, kernel in zip(dense, ens.kernels):
        layer.kernel.assign(kernel[0])
    return model


def test_keras_listing_builds_every_tip():
    """The shown Keras listing builds each tip's network; Dropout is off in inference, on in training."""
    from experiments.tip_keras import keras_model, keras_optimizer

    model = keras_model((2, 8, 8, 1), "relu", dropout=0.5, init="he_normal")
    assert sum(isinstance(layer, keras.layers.Dropout) for layer in model.layers) == 2
    x = np.ones((4, 2), "float32")
    np.testing.assert_allclose(model(x, training=False), model(x, training=False))
    bn = keras_model((2, 8, 1), "sigmoid", batchnorm=True)
    assert any(isinstance(layer, keras.layers.BatchNormalization) for layer in bn.layers)
    assert keras_optimizer("momentum", 0.01).momentum == pytest.approx(0.9)
    assert isinstance(keras_optimizer("adam", 0.001), keras.optimizers.Adam)


def _keras_steps(model, opt, batches):
    import tensorflow as tf
    losses = []
    for x, y in batches:
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(keras.losses.binary_crossentropy(y, model(x, training=True), from_logits=True))
        opt.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
        losses.append(float(loss))
    return np.array(losses)


def _data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 2)).astype("float32"), rng.integers(0, 2, (n, 1)).astype("float32")


def test_relu_he_minibatches_match_keras():
    """ReLU, He (truncated, as Keras), SGD+Momentum, mini-batches of 16 (last one partial) in the order E.train draws."""
    net = E.Net((2, 8, 8, 1), "relu")
    ens = E.Ensemble(net, [E.Member(3, init="he_normal", learning_rate=0.05, momentum=0.9)])
    model = _keras_twin(net, ens)  # kernel_initializer is overwritten by the same He kernels
    x, y = _data()
    order_rng, batches = np.random.default_rng(11), []
    for _ in range(2):  # two epochs, reshuffled each time
        order = order_rng.permutation(len(x))
        batches += [(x[order[i:i + 16]], y[order[i:i + 16]]) for i in range(0, len(x), 16)]
    keras_losses = _keras_steps(model, keras.optimizers.SGD(0.05, momentum=0.9), batches)
    ours = E.train(ens, E.stack_data([{"train": (x, y)}]), epochs=2, batch_size=16, seed=11)["step_loss"][:, 0]
    np.testing.assert_allclose(ours, keras_losses, rtol=2e-4)


def test_he_normal_is_truncated_like_keras():
    w = E.initial_kernel("he_normal", 400, 400, np.random.default_rng(0))
    std = np.sqrt(2 / 400)
    assert np.abs(w).max() <= 2 * std / 0.87962566103423978
    assert w.std() == pytest.approx(std, rel=0.01)  # the variance of He: 2 / n_in


def test_bn_inference_with_momentum_099_matches_keras():
    net = E.Net((2, 8, 8, 1), "sigmoid", batchnorm=True, bn_momenta=(0.99,))
    ens = E.Ensemble(net, [E.Member(5, learning_rate=0.05, momentum=0.9)])
    model = _keras_twin(net, ens, bn_momentum=0.99)
    x, y = _data()
    _keras_steps(model, keras.optimizers.SGD(0.05, momentum=0.9), [(x, y)] * 5)
    E.train(ens, E.stack_data([{"train": (x, y)}]), epochs=5)
    ours = ens.forward(x[None], training=False)[0][0]
    np.testing.assert_allclose(ours, model(x, training=False).numpy(), rtol=1e-4, atol=1e-5)


def test_adam_from_tiny_weights_matches_keras():
    """E.KERAS_ADAM_STEPS Adam steps from N(0, 0.01²), full batch: the regime of 7.4 where kernel gradients are far below ε."""
    net = E.Net((2, 8, 8, 8, 1), "relu", optimizer="adam")
    ens = E.Ensemble(net, [E.Member(9, init="normal:0.01", learning_rate=0.001)])
    model = _keras_twin(net, ens)
    x, y = _data()
    start = [k[0].copy() for k in ens.kernels]
    keras_losses = _keras_steps(model, keras.optimizers.Adam(0.001), [(x, y)] * E.KERAS_ADAM_STEPS)
    ours = E.train(ens, E.stack_data([{"train": (x, y)}]), epochs=E.KERAS_ADAM_STEPS)["step_loss"][:, 0]
    np.testing.assert_allclose(ours, keras_losses, rtol=1e-5)
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    for layer, k, k0 in zip(dense, ens.kernels, start):  # how far each kernel moved
        np.testing.assert_allclose(k[0] - k0, layer.kernel.numpy() - k0, rtol=2e-2, atol=1e-7)
