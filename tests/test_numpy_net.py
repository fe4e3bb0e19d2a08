"""The from-scratch network: gradients against finite differences, shapes, seeds, bad input."""
from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from experiments.numpy_net import (
    HIDDEN_ACTIVATIONS,
    OUTPUT_ACTIVATIONS,
    NeuralNetwork,
    TrainingDivergedError,
    sigmoid,
    train_many,
)

XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
XOR_Y = np.array([[0], [1], [1], [0]], dtype=float)
EPS = 1e-6


def numerical_gradients(net, X, y, eps=EPS):
    """Central differences of net.loss with respect to every weight and bias."""
    grads = []
    for params in (net.weights, net.biases):
        per_layer = []
        for p in params:
            g = np.zeros_like(p)
            for idx in np.ndindex(p.shape):
                old = p[idx]
                p[idx] = old + eps
                up = net.loss(X, y)
                p[idx] = old - eps
                down = net.loss(X, y)
                p[idx] = old
                g[idx] = (up - down) / (2 * eps)
            per_layer.append(g)
        grads.append(per_layer)
    return grads


def relative_error(a, b):
    return np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), 1e-300)


def random_problem(rng, activation, output_activation):
    """A random architecture with random biases and data whose pre-activations avoid ReLU's kink."""
    depth = int(rng.integers(1, 5))  # number of weight layers
    sizes = [int(s) for s in rng.integers(1, 6, size=depth + 1)]
    m = int(rng.integers(1, 7))
    for _ in range(100):
        net = NeuralNetwork(sizes, activation=activation, output_activation=output_activation,
                            init=str(rng.choice(["xavier", "he"])), seed=int(rng.integers(1 << 30)))
        for b in net.biases:
            b[...] = rng.normal(0, 0.5, b.shape)
        X = rng.normal(0, 1.5, (m, sizes[0]))
        if output_activation == "sigmoid":
            y = rng.uniform(0, 1, (m, sizes[-1]))
        else:
            y = rng.normal(0, 2, (m, sizes[-1]))
        net.forward(X)
        if min(np.abs(z).min() for z in net.z) > 1e3 * EPS:
            return net, X, y
    raise AssertionError("could not draw data away from ReLU's kink")


@pytest.mark.parametrize("output_activation", sorted(OUTPUT_ACTIVATIONS))
@pytest.mark.parametrize("activation", sorted(HIDDEN_ACTIVATIONS))
@pytest.mark.parametrize("case", range(4))
def test_gradients_match_finite_differences(activation, output_activation, case):
    rng = np.random.default_rng([case, len(activation), len(output_activation)])
    net, X, y = random_problem(rng, activation, output_activation)
    dW, db = net.gradients(X, y)
    num_dW, num_db = numerical_gradients(net, X, y)
    for analytic, numeric in zip(dW + db, num_dW + num_db):
        assert analytic.shape == numeric.shape
        assert relative_error(analytic, numeric) < 1e-6, (net.layer_sizes, analytic, numeric)


def test_gradient_check_can_fail():
    """The check above detects a wrong gradient, e.g. the notebook's MSE delta with a BCE loss."""
    rng = np.random.default_rng(0)
    net, X, y = random_problem(rng, "sigmoid", "sigmoid")
    out = net.forward(X)
    wrong = net.a[-2].T @ ((out - y) * out * (1 - out) / X.shape[0])
    num = numerical_gradients(net, X, y)[0][-1]
    assert relative_error(wrong, num) > 1e-2


def test_loss_is_binary_cross_entropy_for_sigmoid_output():
    net = NeuralNetwork([2, 4, 1], activation="tanh", seed=3)
    a = net.forward(XOR_X)
    expected = -np.mean(XOR_Y * np.log(a) + (1 - XOR_Y) * np.log(1 - a))
    assert net.loss(XOR_X, XOR_Y) == pytest.approx(expected, rel=1e-12)


def test_loss_is_half_squared_error_for_linear_output():
    net = NeuralNetwork([2, 3, 2], activation="relu", output_activation="linear", seed=3)
    y = np.arange(8.0).reshape(4, 2)
    out = net.forward(XOR_X)
    assert net.loss(XOR_X, y) == pytest.approx(0.5 * np.mean(np.sum((out - y) ** 2, axis=1)))


def test_sigmoid_and_loss_are_stable_for_huge_inputs():
    z = np.array([-1000.0, -40.0, 0.0, 40.0, 1000.0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        s = sigmoid(z)
    assert s[0] == 0.0 and s[-1] == 1.0 and s[2] == 0.5
    moderate = np.linspace(-20, 20, 81)
    np.testing.assert_allclose(sigmoid(moderate), 1 / (1 + np.exp(-moderate)), rtol=1e-14)
    net = NeuralNetwork([2, 1], activation="sigmoid", seed=0)
    net.weights[0][...] = [[1000.0], [1000.0]]
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss = net.loss(XOR_X, XOR_Y)  # z = 0, 1000, 1000, 2000: the last one confidently wrong
    assert loss == pytest.approx((np.log(2) + 2000) / 4, rel=1e-12)


def test_gradients_do_not_update_and_backward_takes_one_step():
    net = NeuralNetwork([2, 5, 1], activation="tanh", seed=1)
    before = [p.copy() for p in net.weights + net.biases]
    dW, db = net.gradients(XOR_X, XOR_Y)
    for p, q in zip(before, net.weights + net.biases):
        np.testing.assert_array_equal(p, q)
    loss_before = net.loss(XOR_X, XOR_Y)
    returned = net.backward(XOR_X, XOR_Y, learning_rate=0.5)
    assert returned == loss_before
    for p, q, g in zip(before, net.weights + net.biases, dW + db):
        np.testing.assert_allclose(q, p - 0.5 * g, rtol=0, atol=1e-15)


def test_train_records_the_loss_of_every_epoch():
    net = NeuralNetwork([2, 4, 1], activation="sigmoid", seed=7)
    twin = NeuralNetwork([2, 4, 1], activation="sigmoid", seed=7)
    losses = net.train(XOR_X, XOR_Y, epochs=30, learning_rate=0.3, verbose=False)
    assert losses.shape == (30,)
    for epoch in range(30):
        assert losses[epoch] == pytest.approx(twin.loss(XOR_X, XOR_Y), rel=1e-13)
        twin.backward(XOR_X, XOR_Y, 0.3)


def test_training_solves_xor_with_tanh():
    net = NeuralNetwork([2, 8, 1], activation="tanh", seed=0)
    losses = net.train(XOR_X, XOR_Y, epochs=2000, learning_rate=0.5, verbose=False)
    assert losses[-1] < 0.1 * losses[0]
    np.testing.assert_array_equal(net.predict(XOR_X), XOR_Y)


def test_verbose_training_prints_like_the_notebook():
    net = NeuralNetwork([2, 4, 1], activation="sigmoid", seed=0)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        losses = net.train(XOR_X, XOR_Y, epochs=250, learning_rate=0.1)
    lines = out.getvalue().splitlines()
    assert lines == [f"Epoch {e}, Loss: {losses[e]:.4f}" for e in (0, 100, 200)]


def test_seed_makes_networks_reproducible_without_global_state():
    np.random.seed(0)
    state = np.random.get_state()[1].copy()
    a = NeuralNetwork([3, 7, 2], seed=5)
    np.random.seed(123)  # the global generator must not matter
    b = NeuralNetwork([3, 7, 2], seed=5)
    c = NeuralNetwork([3, 7, 2], seed=6)
    for wa, wb, wc in zip(a.weights, b.weights, c.weights):
        np.testing.assert_array_equal(wa, wb)
        assert not np.array_equal(wa, wc)
    np.random.seed(0)
    NeuralNetwork([3, 7, 2], seed=None)
    np.testing.assert_array_equal(np.random.get_state()[1], state)


def test_initialisation_scales():
    xavier = NeuralNetwork([300, 200, 1], init="xavier", seed=0).weights[0]
    limit = np.sqrt(6 / 500)
    assert np.abs(xavier).max() <= limit
    assert xavier.std() == pytest.approx(np.sqrt(2 / 500), rel=0.02)
    he = NeuralNetwork([300, 200, 1], init="he", seed=0).weights[0]
    assert he.std() == pytest.approx(np.sqrt(2 / 300), rel=0.02)
    assert abs(he.mean()) < 0.01


@pytest.mark.parametrize("activation, expected", [("relu", "he"), ("sigmoid", "xavier"), ("tanh", "xavier")])
def test_default_initialisation_follows_the_activation(activation, expected):
    default = NeuralNetwork([300, 200, 1], activation=activation, seed=4)
    explicit = NeuralNetwork([300, 200, 1], activation=activation, init=expected, seed=4)
    assert default.init == expected
    for w, w_explicit in zip(default.weights, explicit.weights):
        np.testing.assert_array_equal(w, w_explicit)
    # He draws twice Xavier's variance for this layer shape (2/300 against 2/500): the default matters
    assert default.weights[0].std() == pytest.approx(np.sqrt(2 / 300 if expected == "he" else 2 / 500), rel=0.03)


def test_predict_thresholds_sigmoid_output_and_passes_linear_output_through():
    net = NeuralNetwork([2, 3, 1], activation="tanh", seed=2)
    proba = net.forward(XOR_X)
    np.testing.assert_array_equal(net.predict(XOR_X), (proba > 0.5).astype(float))
    reg = NeuralNetwork([2, 3, 1], activation="tanh", output_activation="linear", seed=2)
    np.testing.assert_array_equal(reg.predict(XOR_X), reg.forward(XOR_X))


@pytest.mark.parametrize("activation", sorted(HIDDEN_ACTIVATIONS))
@pytest.mark.parametrize("output_activation", sorted(OUTPUT_ACTIVATIONS))
def test_train_many_takes_the_same_steps_as_train(activation, output_activation):
    y = XOR_Y if output_activation == "sigmoid" else XOR_Y * 3 - 1
    make = lambda seed: NeuralNetwork([2, 3, 2, 1], activation=activation,  # noqa: E731
                                      output_activation=output_activation,
                                      init="he" if seed % 2 else "xavier", seed=seed)
    seeds = [0, 1, 2, 3]
    batch = [make(s) for s in seeds]
    history = train_many(batch, XOR_X, y, epochs=200, learning_rate=0.05)
    assert history.shape == (len(seeds), 200)
    for k, seed in enumerate(seeds):
        alone = make(seed)
        losses = alone.train(XOR_X, y, epochs=200, learning_rate=0.05, verbose=False)
        np.testing.assert_allclose(history[k], losses, rtol=1e-10, atol=1e-14)
        for p, q in zip(batch[k].weights + batch[k].biases, alone.weights + alone.biases):
            np.testing.assert_allclose(p, q, rtol=1e-10, atol=1e-14)


def test_train_many_returns_the_outputs_behind_each_loss():
    nets = [NeuralNetwork([2, 3, 1], activation="relu", init="he", seed=s) for s in range(3)]
    twins = [NeuralNetwork([2, 3, 1], activation="relu", init="he", seed=s) for s in range(3)]
    losses, outputs = train_many(nets, XOR_X, XOR_Y, epochs=20, learning_rate=0.2, return_outputs=True)
    assert outputs.shape == (3, 20, 4, 1)
    for k, twin in enumerate(twins):
        for epoch in range(20):
            np.testing.assert_allclose(outputs[k, epoch], twin.forward(XOR_X), rtol=1e-12)
            assert losses[k, epoch] == pytest.approx(twin.backward(XOR_X, XOR_Y, 0.2), rel=1e-12)


def test_train_many_rejects_mixed_architectures():
    with pytest.raises(ValueError, match="same layer sizes"):
        train_many([NeuralNetwork([2, 3, 1]), NeuralNetwork([2, 4, 1])], XOR_X, XOR_Y, 1, 0.1)
    with pytest.raises(ValueError, match="same layer sizes and output activation"):
        train_many([NeuralNetwork([2, 3, 1], output_activation="linear"), NeuralNetwork([2, 3, 1])],
                   XOR_X, XOR_Y, 1, 0.1)
    with pytest.raises(ValueError, match="at least one"):
        train_many([], XOR_X, XOR_Y, 1, 0.1)
    with pytest.raises(ValueError, match="learning_rate"):
        train_many([NeuralNetwork([2, 3, 1]), NeuralNetwork([2, 3, 1])], XOR_X, XOR_Y, 1, [0.1, -1.0])


def test_train_many_mixes_activations_and_learning_rates_bit_for_bit():
    """Networks with different hidden activations and learning rates in one call, in an order where
    the activations interleave: every network ends exactly where training it alone ends."""
    setups = [("tanh", 0.1), ("relu", 0.5), ("relu", 0.1), ("sigmoid", 1.0), ("tanh", 0.3)]
    make = lambda k, act: NeuralNetwork([2, 4, 3, 1], activation=act, seed=k)  # noqa: E731
    nets = [make(k, act) for k, (act, _) in enumerate(setups)]
    losses = train_many(nets, XOR_X, XOR_Y, 150, [lr for _, lr in setups])
    for k, (act, lr) in enumerate(setups):
        alone = [make(k, act)]
        np.testing.assert_array_equal(losses[k], train_many(alone, XOR_X, XOR_Y, 150, lr)[0])
        for p, q in zip(nets[k].weights + nets[k].biases, alone[0].weights + alone[0].biases):
            np.testing.assert_array_equal(p, q)


# ---- property tests ----

architectures = st.lists(st.integers(1, 6), min_size=2, max_size=5)


@settings(max_examples=60, deadline=None)
@given(sizes=architectures, m=st.integers(1, 8), activation=st.sampled_from(sorted(HIDDEN_ACTIVATIONS)),
       output_activation=st.sampled_from(sorted(OUTPUT_ACTIVATIONS)), seed=st.integers(0, 2**32 - 1),
       data=st.data())
def test_shapes(sizes, m, activation, output_activation, seed, data):
    net = NeuralNetwork(sizes, activation=activation, output_activation=output_activation, seed=seed)
    X = data.draw(hnp.arrays(float, (m, sizes[0]), elements=st.floats(-10, 10)))
    y = data.draw(hnp.arrays(float, (m, sizes[-1]), elements=st.sampled_from([0.0, 1.0])))
    out = net.forward(X)
    assert out.shape == (m, sizes[-1])
    assert len(net.z) == len(sizes) - 1 and len(net.a) == len(sizes)
    assert [z.shape for z in net.z] == [(m, n) for n in sizes[1:]]
    if output_activation == "sigmoid":
        assert ((out >= 0) & (out <= 1)).all()
        assert set(np.unique(net.predict(X))) <= {0.0, 1.0}
    dW, db = net.gradients(X, y)
    assert [g.shape for g in dW] == [w.shape for w in net.weights]
    assert [g.shape for g in db] == [b.shape for b in net.biases] == [(1, n) for n in sizes[1:]]
    assert all(np.isfinite(g).all() for g in dW + db)
    loss = net.loss(X, y)
    assert np.isfinite(loss) and loss >= 0


@settings(max_examples=40, deadline=None)
@given(sizes=architectures, extra=st.integers(1, 3), seed=st.integers(0, 2**32 - 1))
def test_wrong_input_width_is_rejected(sizes, extra, seed):
    net = NeuralNetwork(sizes, seed=seed)
    with pytest.raises(ValueError, match="feature"):
        net.forward(np.zeros((3, sizes[0] + extra)))


# ---- bad input ----

@pytest.mark.parametrize("sizes, message", [
    ([], "at least two"),
    ([3], "at least two"),
    ([2, 0, 1], "positive integer"),
    ([2, -4, 1], "positive integer"),
    ([2, 1.5, 1], "positive integer"),
    ([2, True], "positive integer"),
    ("21", "list of layer widths"),
    (3, "list of layer widths"),
])
def test_bad_layer_sizes(sizes, message):
    with pytest.raises(ValueError, match=message):
        NeuralNetwork(sizes)


@pytest.mark.parametrize("kwargs, message", [
    ({"activation": "leaky"}, "unknown activation 'leaky'"),
    ({"activation": "Sigmoid"}, "unknown activation"),
    ({"output_activation": "relu"}, "unknown output_activation 'relu'"),
    ({"output_activation": "softmax"}, "unknown output_activation"),
    ({"init": "glorot"}, "unknown init 'glorot'"),
])
def test_unknown_choices(kwargs, message):
    with pytest.raises(ValueError, match=message):
        NeuralNetwork([2, 3, 1], **kwargs)


@pytest.mark.parametrize("X, y, message", [
    (np.zeros((4, 3)), XOR_Y, "3 feature"),
    (np.zeros(2), XOR_Y, "2-D"),
    (np.zeros((0, 2)), np.zeros((0, 1)), "no samples"),
    ([["a", "b"]], [[1]], "numeric"),
    (XOR_X, XOR_Y.ravel(), r"reshape\(-1, 1\)"),
    (XOR_X, XOR_Y[:3], r"expected \(4, 1\)"),
    (XOR_X, np.zeros((4, 2)), r"expected \(4, 1\)"),
    (np.where(XOR_X == 1, np.nan, XOR_X), XOR_Y, "X contains NaN"),
    (XOR_X, np.array([[0], [np.inf], [1], [0]]), "y contains NaN or infinite"),
    (XOR_X, XOR_Y * 2, r"\[0, 1\]"),
])
@pytest.mark.parametrize("method", ["loss", "gradients", "backward", "train"])
def test_bad_data(X, y, message, method):
    net = NeuralNetwork([2, 4, 1], activation="tanh", seed=0)
    before = [w.copy() for w in net.weights]
    with pytest.raises(ValueError, match=message):
        getattr(net, method)(X, y)
    for w, w0 in zip(net.weights, before):
        np.testing.assert_array_equal(w, w0)


def test_bad_forward_input():
    net = NeuralNetwork([2, 4, 1], seed=0)
    with pytest.raises(ValueError, match="infinite"):
        net.forward([[0.0, np.inf]])
    with pytest.raises(ValueError, match="infinite"):
        net.predict([[np.nan, 0.0]])


@pytest.mark.parametrize("epochs, lr, message", [
    (-1, 0.1, "epochs"), (2.5, 0.1, "epochs"), (10, 0.0, "learning_rate"),
    (10, -0.1, "learning_rate"), (10, float("nan"), "learning_rate"),
])
def test_bad_training_settings(epochs, lr, message):
    with pytest.raises(ValueError, match=message):
        NeuralNetwork([2, 4, 1], seed=0).train(XOR_X, XOR_Y, epochs=epochs, learning_rate=lr)


def test_divergence_stops_with_the_epoch():
    rng = np.random.default_rng(0)
    X = rng.normal(0, 50, (16, 3))
    y = rng.normal(0, 50, (16, 1))
    make = lambda: NeuralNetwork([3, 8, 8, 1], activation="tanh",  # noqa: E731
                                 output_activation="linear", init="he", seed=0)
    with pytest.raises(TrainingDivergedError, match=r"diverged at epoch \d+") as info:
        make().train(X, y, epochs=500, learning_rate=1.0, verbose=False)
    epoch = info.value.epoch
    assert epoch > 0
    assert f"epoch {epoch}:" in str(info.value)
    twin = make()  # replay: every loss before the reported epoch was finite, that one was not
    with np.errstate(all="ignore"):
        for _ in range(epoch):
            assert np.isfinite(twin.backward(X, y, 1.0))
        assert not np.isfinite(twin.loss(X, y))


def test_train_many_reports_divergence():
    rng = np.random.default_rng(0)
    X = rng.normal(0, 50, (16, 3))
    y = rng.normal(0, 50, (16, 1))
    nets = [NeuralNetwork([3, 8, 8, 1], activation="tanh", output_activation="linear", seed=s)
            for s in range(3)]
    with pytest.raises(TrainingDivergedError, match="diverged at epoch"):
        train_many(nets, X, y, epochs=500, learning_rate=1.0)
