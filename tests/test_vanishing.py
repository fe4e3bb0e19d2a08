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
    norms, rms = vanishing.layer_gradient_norms("tanh", "he", X, y, seed=3, depth=4, width=6)
    net = NeuralNetwork([5, 6, 6, 6, 1], activation="tanh", init="he", seed=3)
    dW, _ = net.gradients(X, y)
    np.testing.assert_allclose(norms, [np.linalg.norm(g) for g in dW])
    np.testing.assert_allclose(rms, [np.sqrt(np.mean(a ** 2)) for a in net.a[1:-1]])


def test_measurement_shows_what_theory_predicts(result):
    m = result.metrics
    # sigmoid: at most σ'(0) = 1/4 per layer, so the first layer's gradient is orders of magnitude smaller
    for init in ("xavier", "he"):
        assert m[f"sigmoid_{init}_ratio"] < 1e-3
        assert m[f"sigmoid_{init}_per_layer"] < 0.5
    # ReLU with He and tanh with Xavier keep the gradient within one order of magnitude per 10 layers
    assert m["relu_he_ratio"] > 1e-2 and m["tanh_xavier_ratio"] > 1e-1
    # Xavier under-scales ReLU: the forward signal shrinks by about 1/sqrt(2) per layer
    assert m["relu_xavier_signal"] < 0.2 < m["relu_he_signal"]
    assert m["relu_xavier_first"] < m["relu_he_first"] / 5


def test_table_matches_metrics(result):
    rows = {(r[0], r[1]): r for r in result.tables[0].rows}
    assert len(rows) == len(vanishing.ACTIVATIONS) * len(vanishing.INITS)
    m = result.metrics
    for act in vanishing.ACTIVATIONS:
        for init in vanishing.INITS:
            row = rows[vanishing.LABELS[act], vanishing.LABELS[init]]
            assert float(row[3].replace("−", "-")) == pytest.approx(m[f"{act}_{init}_first"], rel=1e-2)
            assert float(row[4].replace("−", "-")) == pytest.approx(m[f"{act}_{init}_ratio"], rel=1e-2)


def test_figures_render_without_missing_glyphs(result):
    for figure in result.figures:
        axes = figure.figure.axes
        assert all(ax.get_xlabel() for ax in axes) and axes[0].get_ylabel()
        with warnings.catch_warnings():
            warnings.filterwarnings("error", message=r".*missing from font")
            figure.figure.savefig(io.BytesIO(), format="svg", bbox_inches="tight")


def test_deterministic(result):
    again = vanishing.run(Context(quick=True))
    assert again.metrics == result.metrics
