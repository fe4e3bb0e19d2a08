"""§4 vanishing gradients: the notebook's demonstration and the measurement on 10-layer networks."""
from __future__ import annotations

import io
import warnings

import numpy as np
import pytest

from experiments import vanishing
from experiments.numpy_net import NeuralNetwork, sigmoid_grad
from report.model import Context, validate

from conftest import render_section  # noqa: F401  (kept for symmetry with the other section tests)


def render_with_stubs(name, result, tmp_path, others):
    """Render one section template with `result`; `others` gives the metrics of the sections it cites
    (section name -> metrics), so the test need not run those experiments."""
    from types import SimpleNamespace

    from report.discover import discover
    from report.formulas import FormulaRenderer
    from report.render import Lookup, PageRenderer, build_views
    from report.runner import Outcome

    experiments = {e.name: e for e in discover()}
    sections = build_views([Outcome(experiments[name], "ran", result=result, directory=tmp_path)])
    lookup = {sections[0].name: sections[0]}
    lookup |= {n: SimpleNamespace(name=n, number=experiments[n].number, title=experiments[n].title,
                                  m=Lookup(metrics, f"{n}: metric")) for n, metrics in others.items()}
    renderer = PageRenderer(FormulaRenderer(tmp_path / "math"))
    renderer.claims = []
    return str(renderer._render_section(sections[0], lookup, {e.name: e.number for e in experiments.values()},
                                        False))


@pytest.fixture(scope="module")
def result(cjk_figures):
    return validate(vanishing.run(Context(quick=True)), "vanishing")


def test_template_renders_every_item_with_defined_metrics(result, tmp_path):
    """§4 quotes two of §1's counts; they are stubbed here (the full build checks the real ones)."""
    html = render_with_stubs("vanishing", result, tmp_path, {"xor": {"fail_uncovered": 3, "relu_small_failed": 4}})
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
    out = vanishing.layer_gradient_norms("tanh", "he", X, y, seed=3, depth=4, width=6)
    net = NeuralNetwork([5, 6, 6, 6, 1], activation="tanh", output_activation="sigmoid", init="he", seed=3)
    dW, _ = net.gradients(X, y)
    np.testing.assert_allclose(out["grad"], [np.linalg.norm(g) for g in dW])
    # the spread across samples: the mean is removed, so a constant shift of the activations does not count
    np.testing.assert_allclose(out["spread"], [np.sqrt(np.mean(np.std(a, axis=0) ** 2)) for a in net.a[1:-1]])
    scaled = vanishing.layer_gradient_norms("tanh", "he", X, y, seed=3, depth=4, width=6, scale=2.0)["grad"]
    net2 = NeuralNetwork([5, 6, 6, 6, 1], activation="tanh", output_activation="sigmoid", init="he", seed=3)
    net2.weights = [2.0 * w for w in net2.weights]
    np.testing.assert_allclose(scaled, [np.linalg.norm(g) for g in net2.gradients(X, y)[0]])


def test_deltas_are_the_error_terms_the_class_multiplies_by_its_inputs():
    """‖δ(l)‖ comes from the same recursion as gradients: a(l-1)ᵀ δ(l) must give the class's dW (checked
    through the norms of the centred and uncentred products), and weight term × derivative term = δ's step."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(20, 4))
    y = (X[:, :1] * X[:, 1:2] > 0).astype(float)
    for act in ("relu", "sigmoid"):
        out = vanishing.layer_gradient_norms(act, "xavier", X, y, seed=5, depth=5, width=7)
        net = NeuralNetwork([4, 7, 7, 7, 7, 1], activation=act, output_activation="sigmoid", init="xavier", seed=5)
        dW, db = net.gradients(X, y)
        # db(l) is the sum of δ(l) over samples; with a single sample the norms coincide, so check via X[:1]
        one = vanishing.layer_gradient_norms(act, "xavier", X[:1], y[:1], seed=5, depth=5, width=7)
        _, db1 = net.gradients(X[:1], y[:1])
        np.testing.assert_allclose(one["delta"], [np.linalg.norm(b) for b in db1], rtol=1e-10)
        assert len(out["delta"]) == len(dW) and len(out["weight_term"]) == len(dW) - 1
        # δ's step from layer l+1 to l is the weight term times the derivative term, and the derivative
        # term of ReLU / Sigmoid is at most 1 / 0.25
        steps = out["delta"][:-1] / out["delta"][1:]
        bound = 1.0 if act == "relu" else 0.25
        assert np.all(steps <= out["weight_term"] * bound + 1e-12)
        # centring the input can only remove the mean part: for X (zero mean in expectation) it changes little
        assert out["centred"][0] <= out["grad"][0] * 1.5


def test_wording_rule():
    assert vanishing.verdict(1e-4) == "消失"
    assert vanishing.verdict(0.3) == "衰减"
    assert vanishing.verdict(1.0) == "基本不变"
    assert vanishing.verdict(3.0) == "放大"
    assert vanishing.verdict(vanishing.KEEP[0]) == "基本不变"


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
    # the error term over the same span: its factor is the 8th root of its total change
    for act in vanishing.ACTIVATIONS:
        for init in vanishing.INITS:
            key = f"{act}_{init}"
            assert m[f"{key}_delta_per_layer"] ** vanishing.SPAN_STEPS == pytest.approx(m[f"{key}_delta_total"])
            assert m[f"{key}_delta_total_min"] <= m[f"{key}_delta_total"] <= m[f"{key}_delta_total_max"]
            assert m[f"{key}_weight_term"] * m[f"{key}_deriv_term"] == pytest.approx(m[f"{key}_delta_per_layer"])
    # sigmoid: δ shrinks at most by σ'(0) per layer times the weight term; ReLU + He keeps δ
    assert m["sigmoid_xavier_delta_per_layer"] < 0.3 and m["sigmoid_xavier_deriv_term"] <= 0.25
    assert 0.8 < m["relu_he_delta_per_layer"] < 1.2
    # depth check: one row per depth, the 9-layer row is the main measurement
    assert m[f"depth_{vanishing.HIDDEN}_r"] == pytest.approx(m["relu_he_ratio"])
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
            key = f"{act}_{init}"
            row = rows[f"{vanishing.LABELS[act]} + {vanishing.LABELS[init]}"]
            assert number(row[1]) == pytest.approx(m[f"{key}_first"], rel=1e-2)
            assert number(row[2]) == pytest.approx(m[f"{key}_ratio"], rel=1e-2, abs=5e-3)
            assert row[3].startswith(f"{m[f'{key}_per_layer']:.2f}（")
            assert row[4].startswith(f"{m[f'{key}_delta_per_layer']:.2f}（")
            assert row[5].startswith(vanishing.verdict(m[f"{key}_delta_total"]))
            assert row[6].startswith(f"{m[f'{key}_signal_per_layer']:.2f}（")
    depth_rows = result.tables[1].rows
    assert [int(r[0]) for r in depth_rows] == list(vanishing.DEPTH_CHECK)
    for r, hidden in zip(depth_rows, vanishing.DEPTH_CHECK):
        assert r[2].startswith(f"{m[f'depth_{hidden}_r']:.2f}（")


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


def test_exercise_width_is_compared_seed_by_seed(result):
    """练习 4.1: r at the exercise's width over r at the section's width, per seed (same seeds and data);
    its extremes bracket its geometric mean, and the weight and δ terms are quoted per seed."""
    m = result.metrics
    assert m["ex_paired_ratio_min"] <= m["ex_paired_ratio"] <= m["ex_paired_ratio_max"]
    assert 0 <= m["ex_n_narrow_smaller"] <= m["n_seeds"]
    ratio = m["ex_narrow_ratio"] / m["sigmoid_xavier_ratio"]  # geometric means: the paired ratio's mean
    assert m["ex_paired_ratio"] == pytest.approx(ratio, rel=1e-9)
    for width in ("narrow", "wide"):
        assert 0 < m[f"ex_{width}_weight_min"] <= m[f"ex_{width}_weight_max"]
        assert 0 < m[f"ex_{width}_delta_min"] <= m[f"ex_{width}_delta_max"] < m["sigma_prime_max"]


def test_relu_variance_share_matches_a_sample(result):
    """练习 4.2: Var(ReLU(z)) = (1/2 − 1/(2π)) Var(z) for normal z, not Var(z)/2."""
    z = np.random.default_rng(0).normal(size=400_000)
    share = np.var(np.maximum(z, 0)) / np.var(z)
    assert share == pytest.approx(result.metrics["ex_relu_var_share"], abs=3e-3)
    assert np.mean(np.maximum(z, 0) ** 2) / np.var(z) == pytest.approx(0.5, abs=3e-3)
