"""§2 activation functions: the measured properties and the notebook's sigmoid at z = −710."""
from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

from experiments import activations
from report.model import Context, validate



@pytest.fixture(scope="module")
def result(cjk_figures):
    return validate(activations.run(Context(quick=True)), "activations")


def test_template_renders_every_item_with_defined_metrics(result, tmp_path):
    """Rendered with §4's metrics too: the text quotes §4's measured per-layer factors."""
    from experiments import vanishing
    from test_vanishing import render_with_stubs

    other = validate(vanishing.run(Context(quick=True)), "vanishing")
    html = render_with_stubs("activations", result, tmp_path, {"vanishing": other.metrics})
    assert html.count("<figure") >= len(result.figures) + len(result.tables)
    assert "稳健性改进" in html
    assert "z &lt;" in html and not re.search(r"z <(?![a-z/])", html)  # the comparison is escaped (tags may follow a z)


def test_notebook_sigmoid_overflows_only_below_the_threshold_and_still_returns_zero():
    m = activations.measure_notebook_overflow()
    assert m["notebook_warned"] == 1 and "overflow" in m["notebook_warning"]
    assert m["notebook_at_overflow_z"] == 0.0
    assert m["stable_warned"] == 0 and 0 < m["stable_at_overflow_z"] < 1e-300
    assert m["notebook_near_threshold_warned"] == 0
    assert m["overflow_threshold"] == pytest.approx(-709.78, abs=0.01)
    # no warning at all a little above the threshold: the check can tell the two apart
    assert activations.measure_notebook_overflow(-700.0)["notebook_warned"] == 0


def test_stable_sigmoid_agrees_with_the_textbook_formula_where_that_does_not_overflow():
    z = np.linspace(-30, 30, 601)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_allclose(activations.sigmoid(z), 1 / (1 + np.exp(-z)), rtol=1e-14, atol=1e-300)
        assert np.all(np.isfinite(activations.sigmoid(np.array([-1e6, 1e6]))))


def test_properties_are_measured(result):
    m = result.metrics
    assert m["sigmoid_max_grad"] == pytest.approx(0.25)
    assert m["tanh_max_grad"] == pytest.approx(1.0)
    assert abs(m["tanh_mean_output"]) < 1e-9 < m["relu_mean_output"]
    assert m["notebook_vs_stable_max_diff"] < 1e-15
    # saturation is read off at both ends; ReLU does not saturate on the positive side
    assert m["sigmoid_grad_at_plus_far"] == pytest.approx(m["sigmoid_grad_at_minus_far"])
    assert m["sigmoid_grad_at_plus_far"] < 0.01
    assert m["relu_grad_at_plus_far"] == 1.0 and m["relu_grad_at_minus_far"] == 0.0
    assert m["tanh_to_sigmoid_max_grad_rounded"] == 4.0


def test_figures_are_drawn_at_print_size(result):
    for figure in result.figures:
        width, height = figure.figure.get_size_inches()
        assert width <= 6.5 and height <= 4.1
        assert all(ax.get_xlabel() == "z" for ax in figure.figure.axes)  # the same variable as the code


def test_exercise_second_moments_of_the_derivatives():
    """练习 2.1: E[f'²] is what scales a gradient's second moment; ReLU's derivative is 0 or 1, so
    E[f'²] = E[f'] = 1/2, while Sigmoid's and Tanh's squares are smaller than their means."""
    m = activations.mean_derivatives()
    assert m["ex_mean_sq_grad_relu"] == pytest.approx(0.5, abs=1e-3) == m["ex_mean_grad_relu"]
    assert m["ex_mean_sq_grad_sigmoid"] < m["ex_mean_grad_sigmoid"] and m["ex_mean_sq_grad_tanh"] < m["ex_mean_grad_tanh"]
    assert m["ex_mean_sq_grad_sigmoid"] < m["ex_mean_sq_grad_tanh"] < m["ex_mean_sq_grad_relu"]
    # Jensen: E[f'²] ≥ E[f']²
    for name in ("relu", "sigmoid", "tanh"):
        assert m[f"ex_mean_sq_grad_{name}"] >= m[f"ex_mean_grad_{name}"] ** 2
