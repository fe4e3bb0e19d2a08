"""§3 backpropagation walk-through: consistent with the class, checked against finite differences."""
from __future__ import annotations

import io
import warnings

import numpy as np
import pytest

from experiments import backprop
from experiments.numpy_net import NeuralNetwork
from report.model import Context, validate

from conftest import render_section



@pytest.fixture(scope="module")
def result(cjk_figures):
    return validate(backprop.run(Context(quick=True)), "backprop")


def test_template_renders_every_item_with_defined_metrics(result, tmp_path):
    html = render_section("backprop", result, tmp_path)
    assert html.count("<figure") >= len(result.figures) + len(result.tables)


@pytest.mark.parametrize("sizes", [[2, 3, 1], [2, 3, 4, 1], [3, 5, 2, 2], [1, 1]])
def test_step_by_step_equals_the_class(sizes):
    rng = np.random.default_rng(len(sizes))
    nn = NeuralNetwork(sizes, activation="sigmoid", output_activation="sigmoid", init="xavier", seed=7)
    X = rng.normal(size=(1, sizes[0]))
    y = rng.uniform(size=(1, sizes[-1]))
    z, a, deltas, dW, db = backprop.backprop_step_by_step(nn, X, y)
    nn.forward(X)
    for mine, theirs in zip(z + a, nn.z + nn.a):
        np.testing.assert_allclose(mine, theirs, rtol=1e-14)
    class_dW, class_db = nn.gradients(X, y)
    for mine, theirs in zip(dW + db, class_dW + class_db):
        np.testing.assert_allclose(mine, theirs, rtol=1e-12, atol=1e-16)
    np.testing.assert_allclose(deltas[-1], a[-1] - y)


def test_numerical_gradient_restores_the_parameter_and_approximates_the_slope():
    nn = NeuralNetwork([2, 3, 1], activation="sigmoid", output_activation="sigmoid", init="xavier", seed=1)
    before = nn.weights[0].copy()
    g = backprop.numerical_gradient(nn, backprop.X_SAMPLE, backprop.Y_SAMPLE, nn.weights[0], (1, 2))
    np.testing.assert_array_equal(nn.weights[0], before)
    dW, _ = nn.gradients(backprop.X_SAMPLE, backprop.Y_SAMPLE)
    assert g == pytest.approx(dW[0][1, 2], rel=1e-6)


def table(result, name):
    return next(t for t in result.tables if t.name == name)


def test_weights_table_lists_every_parameter_row_by_row(result):
    nn = NeuralNetwork([2, 3, 1], activation="sigmoid", output_activation="sigmoid", init="xavier", seed=42)
    rows = table(result, "weights").rows
    values = [[float(v.replace("−", "-")) for v in row[3].split()] for row in rows]
    expected = []
    for W, b in zip(nn.weights, nn.biases):
        expected += [list(r) for r in W] + [list(b[0])]
    assert len(values) == len(expected)
    for got, want in zip(values, expected):
        assert got == pytest.approx(want, abs=1e-6)
    assert [row[1] for row in rows] == ["2 × 3", "2 × 3", "1 × 3", "3 × 1", "3 × 1", "3 × 1", "1 × 1"]


def test_tables_agree_with_the_network(result):
    nn = NeuralNetwork([2, 3, 1], activation="sigmoid", output_activation="sigmoid", init="xavier", seed=42)
    out = nn.forward(backprop.X_SAMPLE)
    forward = table(result, "forward")
    assert [float(r[3].replace("−", "-")) for r in forward.rows[2:5]] == \
        pytest.approx(nn.a[1][0].tolist(), abs=1e-6)
    assert float(forward.rows[-1][3]) == pytest.approx(out[0, 0], abs=1e-6)
    check = table(result, "gradcheck")
    assert len(check.rows) == result.metrics["n_params"] == 13
    for row in check.rows:
        analytic, from_class, numeric = (float(c.replace("−", "-")) for c in row[1:4])
        assert analytic == from_class == pytest.approx(numeric, abs=1e-6)


def test_metrics_show_the_check_passes_and_the_notebook_delta_fails(result):
    m = result.metrics
    assert m["max_rel_error"] < 1e-6
    assert m["max_class_diff"] < 1e-12
    assert m["notebook_max_rel_error"] > 0.1
    assert m["notebook_half_mse_max_rel_error"] < 1e-6  # the notebook's delta is right for ½(a − y)²
    assert m["delta_out"] == pytest.approx(m["output"] - m["y"])
    assert m["delta_out_notebook"] == pytest.approx(m["delta_out"] * m["sigma_slope_out"])
    assert m["loss_bce"] == pytest.approx(-np.log(m["output"]))
    assert abs(m["wrong_delta_bce"]) > 50 * abs(m["wrong_delta_mse"])


def test_figure_renders_without_missing_glyphs(result):
    for figure in result.figures:
        with warnings.catch_warnings():
            warnings.filterwarnings("error", message=r".*missing from font")
            figure.figure.savefig(io.BytesIO(), format="svg", bbox_inches="tight")
        width, height = figure.figure.get_size_inches()
        assert width <= 6.5 and height <= 4.1


def test_deterministic(result):
    again = backprop.run(Context(quick=True))
    assert again.metrics == result.metrics
    assert [t.rows for t in again.tables] == [t.rows for t in result.tables]


def test_exercise_delta_is_the_output_bias_gradient_the_class_computes(result):
    """练习 3.1 quotes δ⁽²⁾ for y = 0 from nn.gradients (not output − 0 typed in the experiment): with one
    sample, the output bias gradient is δ⁽²⁾ = a⁽²⁾ − y; a changed gradient would change the metric."""
    nn = NeuralNetwork([2, 3, 1], activation="sigmoid", seed=0)
    X = np.array([[1.0, 0.0]])
    _, db = nn.gradients(X, np.zeros((1, 1)))
    assert db[-1][0, 0] == pytest.approx(nn.forward(X)[0, 0])
    m = result.metrics
    assert m["ex_y0_delta_out"] == pytest.approx(m["output"], abs=1e-12) and m["ex_y0_delta_out"] > 0
