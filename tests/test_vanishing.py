"""§4 vanishing gradients: the notebook's demonstration and the measurement on 10-layer networks."""
from __future__ import annotations

import io
import warnings

import numpy as np
import pytest

from experiments import vanishing
from experiments.numpy_net import NeuralNetwork, sigmoid_grad
from report.model import Context, validate

from conftest import render_section



@pytest.fixture(scope="module")
def result(cjk_figures):
    return validate(vanishing.run(Context(quick=True)), "vanishing")


def test_template_renders_every_item_with_defined_metrics(result, tmp_path):
    html = render_section("vanishing", result, tmp_path)
    assert html.count("<figure") >= len(result.figures) + len(result.tables)


def test_notebook_demo_multiplies_the_derivative():
    out = io.StringIO()
    from contextlib import redirect_stdout
    with redirect_stdout(out):
        depths, sig, relu = vanishing.demonstrate_vanishing_gradient()
    assert depths == list(range(2, 11))
    np.testing.assert_allclose(sig, [sigmoid_grad(1.0) ** d for d in depths], rtol=1e-12)
    assert relu == [1.0] * len(depths)
    lines = out.getvalue().splitlines()
    assert lines[0] == "Sigmoid 梯度随深度变化:"
    assert lines[1:] == [f"深度 {d}: {g:.6e}" for d, g in zip(depths, sig)]
    _, _, relu_negative = vanishing.demonstrate_vanishing_gradient(x=-1.0)
    assert relu_negative == [0.0] * len(depths)


def test_layer_gradient_norms_are_the_norms_of_the_class_gradients():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(16, 5))
    y = (X[:, :1] > 0).astype(float)
    norms, spread = vanishing.layer_gradient_norms("tanh", "he", X, y, seed=3, depth=4, width=6)
    net = NeuralNetwork([5, 6, 6, 6, 1], activation="tanh", output_activation="sigmoid", init="he", seed=3)
    dW, _ = net.gradients(X, y)
    np.testing.assert_allclose(norms, [np.linalg.norm(g) for g in dW])
    # the spread across samples: the mean is removed, so a constant shift of the activations does not count
    np.testing.assert_allclose(spread, [np.sqrt(np.mean(np.std(a, axis=0) ** 2)) for a in net.a[1:-1]])
    scaled, _ = vanishing.layer_gradient_norms("tanh", "he", X, y, seed=3, depth=4, width=6, scale=2.0)
    net2 = NeuralNetwork([5, 6, 6, 6, 1], activation="tanh", output_activation="sigmoid", init="he", seed=3)
    net2.weights = [2.0 * w for w in net2.weights]
    np.testing.assert_allclose(scaled, [np.linalg.norm(g) for g in net2.gradients(X, y)[0]])


def test_per_layer_factor_and_ratio_span_the_same_layers():
    norms = np.array([[1.0] + [2.0] * (vanishing.DEPTH - 1)])
    norms[0, vanishing.SPAN_TOP - 1] = 256.0  # layer 9 = 256, layer 1 = 1: 8 steps of ×1/2
    np.testing.assert_allclose(vanishing.per_layer_factor(norms), [0.5])


def test_equal_weights_keep_hidden_neurons_identical_and_random_ones_do_not():
    from experiments.numpy_net import train_many
    X, y = vanishing.xor_data(np.random.default_rng(0), n=40)
    equal = vanishing.symmetric_init(NeuralNetwork([2, 5, 1], activation="tanh", init="xavier", seed=0), 0.3)
    random = NeuralNetwork([2, 5, 1], activation="tanh", init="xavier", seed=0)
    assert vanishing.neuron_spread(equal) == 0.0 < vanishing.neuron_spread(random)
    train_many([equal, random], X, y, 50, 1.0)
    assert vanishing.neuron_spread(equal) < 1e-12  # identical up to floating-point rounding
    assert vanishing.neuron_spread(random) > 0.1


def test_measurement_shows_what_theory_predicts(result):
    m = result.metrics
    # sigmoid: at most σ'(0) = 1/4 per layer, so the first layer's gradient is orders of magnitude smaller
    for init in ("xavier", "he"):
        assert m[f"sigmoid_{init}_ratio"] < 1e-3
        assert m[f"sigmoid_{init}_per_layer"] < 0.5
    # ReLU with He and tanh with Xavier keep the gradient within one order of magnitude over 8 layers
    assert m["relu_he_ratio"] > 1e-2 and m["tanh_xavier_ratio"] > 1e-1
    # the per-layer factor is the 8th root of the ratio over the same span
    for act in vanishing.ACTIVATIONS:
        for init in vanishing.INITS:
            key = f"{act}_{init}"
            assert m[f"{key}_per_layer"] ** vanishing.SPAN_STEPS == pytest.approx(m[f"{key}_ratio"])
            assert m[f"{key}_per_layer_min"] <= m[f"{key}_per_layer"] <= m[f"{key}_per_layer_max"]
    # Xavier under-scales ReLU: the forward spread shrinks by about 1/sqrt(2) per layer
    assert m["relu_xavier_signal_per_layer"] < 0.8 < m["relu_he_signal_per_layer"]
    assert m["relu_xavier_first"] < m["relu_he_first"] / 5
    # sigmoid: the RMS keeps the common mean, the spread across samples collapses
    assert m["sigmoid_xavier_signal"] < 1e-2 < 0.5 < m["sigmoid_xavier_rms_ratio"]
    # larger weights: the factor grows with the scale
    assert m["explode_4_per_layer"] > m["explode_2_per_layer"] > m["explode_1_per_layer"]
    # symmetric initialisation stays symmetric
    assert m["sym_equal_spread_max"] < 1e-9 < 1 < m["sym_random_spread_min"]


def number(cell: str) -> float:
    mantissa, _, power = cell.partition(" × 10")
    exponent = power.translate(str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789"))
    return float(mantissa.replace("−", "-")) * 10 ** int(exponent or 0)


def test_sci_text():
    assert vanishing.sci_text(0.0929) == "9.29 × 10⁻²"
    assert vanishing.sci_text(-16.4) == "−1.64 × 10¹"
    assert number(vanishing.sci_text(5.56e-07)) == pytest.approx(5.56e-07)


def test_table_matches_metrics(result):
    rows = {r[0]: r for r in result.tables[0].rows}
    assert len(rows) == len(vanishing.ACTIVATIONS) * len(vanishing.INITS)
    m = result.metrics
    for act in vanishing.ACTIVATIONS:
        for init in vanishing.INITS:
            row = rows[f"{vanishing.LABELS[act]} + {vanishing.LABELS[init]}"]
            assert number(row[1]) == pytest.approx(m[f"{act}_{init}_first"], rel=1e-2)
            assert number(row[2]) == pytest.approx(m[f"{act}_{init}_ratio"], rel=1e-2)
            assert row[3].startswith(f"{m[f'{act}_{init}_per_layer']:.2f}（")
            assert number(row[4]) == pytest.approx(m[f"{act}_{init}_signal"], rel=1e-2)


def test_figures_render_without_missing_glyphs(result):
    for figure in result.figures:
        axes = figure.figure.axes
        assert all(ax.get_xlabel() for ax in axes) and axes[0].get_ylabel()
        width, height = figure.figure.get_size_inches()
        assert width <= 6.5 and height <= 4.1  # drawn at the size it is printed
        with warnings.catch_warnings():
            warnings.filterwarnings("error", message=r".*missing from font")
            figure.figure.savefig(io.BytesIO(), format="svg", bbox_inches="tight")


def test_deterministic(result):
    again = vanishing.run(Context(quick=True))
    assert again.metrics == result.metrics
