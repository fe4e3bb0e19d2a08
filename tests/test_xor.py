"""§1 XOR: the notebook's run, the many-seed sweep, and the template's use of the result."""
from __future__ import annotations

import ast
import inspect
import io
import itertools
import warnings
from pathlib import Path

import numpy as np
import pytest

from experiments import xor
from experiments.numpy_net import NeuralNetwork
from report.model import Context, validate

from conftest import render_section

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def result(cjk_figures):
    return validate(xor.run(Context(quick=True)), "xor")


def test_title_and_order_are_literals():
    tree = ast.parse((ROOT / "experiments" / "xor.py").read_text(encoding="utf-8"))
    values = {t.id: node.value.value for node in tree.body if isinstance(node, ast.Assign)
              for t in node.targets if isinstance(t, ast.Name) and isinstance(node.value, ast.Constant)}
    assert values["TITLE"] == "从零实现神经网络" and values["ORDER"] == 1


def test_template_renders_every_item_with_defined_metrics(result, tmp_path):
    html = render_section("xor", result, tmp_path)
    assert html.count("<figure") >= len(result.figures) + len(result.tables)


def test_training_log_is_printed_like_the_notebook(result):
    lines = result.logs["training"].splitlines()
    epoch_lines = [line for line in lines if line.startswith("Epoch")]
    assert len(epoch_lines) == xor.EPOCHS // 100
    assert epoch_lines[0] == f"Epoch 0, Loss: {result.metrics['demo_initial_loss']:.4f}"
    assert lines[lines.index("预测结果:") + 1:] == [
        f"输入: {x}, 预测: {float(row[2])}, 真实: {row[3]}"
        for x, row in zip(xor.X_XOR, result.tables[0].rows)]


def test_demo_matches_an_independent_run_of_the_class(result):
    nn = NeuralNetwork([2, 4, 1], activation="sigmoid", output_activation="sigmoid", seed=42)
    losses = nn.train(xor.X_XOR, xor.Y_XOR, epochs=xor.EPOCHS, learning_rate=xor.LEARNING_RATE,
                      verbose=False)
    assert len(losses) == xor.EPOCHS
    assert result.metrics["demo_final_loss"] == pytest.approx(losses[-1], rel=1e-12)
    pred = nn.predict(xor.X_XOR)[:, 0]
    assert [row[2] for row in result.tables[0].rows] == [str(int(p)) for p in pred]
    assert result.metrics["demo_correct"] == int((pred == xor.Y_XOR[:, 0]).sum())
    # the number the notebook would have printed is a different quantity
    mse = np.mean((nn.forward(xor.X_XOR) - xor.Y_XOR) ** 2)
    assert result.metrics["demo_final_mse"] == pytest.approx(mse)
    assert result.metrics["demo_final_mse"] != pytest.approx(result.metrics["demo_final_loss"])


def test_sweep_agrees_with_training_each_seed_alone():
    configs = [xor.CONFIGS[2], xor.CONFIGS[3], xor.CONFIGS[1]]  # all three share one train_many call
    seeds = [5, 6, 7, 8]
    results = xor.sweep(configs, seeds, epochs=400, learning_rate=0.1)
    assert set(results) == {c.key for c in configs}
    for config, (k, seed) in itertools.product(configs, enumerate(seeds)):
        r = results[config.key]
        nn = NeuralNetwork(list(config.layer_sizes), activation=config.activation, init=config.init, seed=seed)
        losses = nn.train(xor.X_XOR, xor.Y_XOR, epochs=400, learning_rate=0.1, verbose=False)
        np.testing.assert_allclose(r.losses[k], losses, rtol=1e-10)
        assert r.solved[k] == (nn.predict(xor.X_XOR) == xor.Y_XOR).all()
        hidden = xor.X_XOR @ nn.weights[0] + nn.biases[0]
        assert r.dead_units[k] == int((hidden <= 0).all(axis=0).sum())
        assert -1 <= r.solved_at[k] < 400
        assert r.solved_fraction.shape == (400,)
        assert ((0 <= r.solved_fraction) & (r.solved_fraction <= 1)).all()


def test_sweep_metrics_are_consistent(result):
    m = result.metrics
    rows = {row[0]: row for row in result.tables[1].rows}
    for config in xor.CONFIGS:
        solved, rate = m[f"{config.key}_solved"], m[f"{config.key}_rate"]
        assert rate == solved / m["n_seeds"]
        assert m[f"{config.key}_ci_low"] <= rate <= m[f"{config.key}_ci_high"]
        assert rows[config.label][1] == f"{solved}/{m['n_seeds']}"
        if solved:
            assert 0 <= m[f"{config.key}_median_epochs"] < m["sweep_epochs"]
        else:
            assert m[f"{config.key}_median_epochs"] == -1
    assert m["notebook_failed"] == m["n_seeds"] - m["notebook_solved"]


def test_wilson_interval():
    assert xor.wilson_interval(0, 10) == pytest.approx((0.0, 1.96**2 / (10 + 1.96**2)))
    low, high = xor.wilson_interval(94, 100)
    assert low < 0.94 < high
    assert xor.wilson_interval(6, 100) == pytest.approx((1 - high, 1 - low))
    assert xor.wilson_interval(50, 100)[1] - xor.wilson_interval(50, 100)[0] > \
        xor.wilson_interval(500, 1000)[1] - xor.wilson_interval(500, 1000)[0]


def test_figures_are_labelled_and_render_without_missing_glyphs(result):
    for figure in result.figures:
        axes = [ax for ax in figure.figure.axes if ax.get_label() != "<colorbar>"]
        assert all(ax.get_ylabel() for ax in axes), figure.name
        assert any(ax.get_xlabel() for ax in axes), figure.name
        assert figure.caption and figure.alt
        with warnings.catch_warnings():
            warnings.filterwarnings("error", message=r".*missing from font")
            figure.figure.savefig(io.BytesIO(), format="svg", bbox_inches="tight")


def test_deterministic():
    a = xor.sweep([xor.CONFIGS[1]], [1, 2, 3], epochs=200, learning_rate=0.1)["tanh"]
    b = xor.sweep([xor.CONFIGS[1]], [1, 2, 3], epochs=200, learning_rate=0.1)["tanh"]
    np.testing.assert_array_equal(a.losses, b.losses)
    nn1, l1 = xor.notebook_xor(3)
    nn2, l2 = xor.notebook_xor(3)
    np.testing.assert_array_equal(l1, l2)


def test_fisher_exact_matches_scipy():
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(0)
    cases = [(94, 100, 99, 100), (66, 100, 100, 100), (70, 100, 66, 100), (0, 10, 10, 10), (5, 10, 5, 10)]
    cases += [tuple(int(v) for v in (rng.integers(0, 21), 20, rng.integers(0, 31), 30)) for _ in range(20)]
    for a, n_a, b, n_b in cases:
        expected = stats.fisher_exact([[a, n_a - a], [b, n_b - b]]).pvalue
        assert xor.fisher_exact(a, n_a, b, n_b) == pytest.approx(expected, rel=1e-9, abs=1e-15), (a, b)


def test_plateau_losses_are_shared_outputs():
    plateaus = xor.plateau_losses()
    assert plateaus["two"] == pytest.approx(np.log(2) / 2)
    assert plateaus["four"] == pytest.approx(np.log(2))
    # three inputs labelled 0, 1, 1 share the output 2/3
    assert plateaus["three"] == pytest.approx(-(np.log(1 / 3) + 2 * np.log(2 / 3)) / 4)


def test_failure_classification_on_hand_made_hidden_layers():
    z = np.array([
        # inputs (0,0), (0,1), (1,0), (1,1) x 2 neurons
        [[-1, -1], [1, -1], [-1, -1], [-1, 1]],  # (0,0) and (1,0) reach no neuron: two classes stuck
        [[1, -1], [2, -1], [3, -1], [4, -1]],  # one live neuron, active on every input: linear
        [[-1, -1], [1, -1], [-1, 1], [-1, -1]],  # only class-0 inputs uncovered (a solution's pattern)
    ], dtype=float)
    r = xor.SweepResult(solved=np.zeros(3, bool), solved_at=-np.ones(3, int), losses=np.zeros((3, 1)),
                        solved_fraction=np.zeros(1), hidden_z=z, final_outputs=np.zeros((3, 4)))
    np.testing.assert_array_equal(r.live_units, [2, 1, 2])
    np.testing.assert_array_equal(r.dead_units, [0, 1, 0])
    np.testing.assert_array_equal(r.uncovered, [[1, 0, 1, 0], [0, 0, 0, 0], [1, 0, 0, 1]])
    np.testing.assert_array_equal(r.all_live_always_on, [False, True, False])


def test_relu_failure_counts_are_consistent(result):
    m = result.metrics
    rows = result.tables[2].rows
    counts = np.array([[int(cell) for cell in row[1:]] for row in rows[:-1]])
    assert counts.sum(axis=0).tolist() == [int(cell) for cell in rows[-1][1:]]
    assert counts[:, 0].sum() == m["relu_small_solved"] and counts[:, 1].sum() == m["relu_small_failed"]
    assert m["relu_small_runs"] == 2 * m["n_seeds"] == m["relu_small_solved"] + m["relu_small_failed"]
    assert m["fail_uncovered_mixed"] <= m["fail_uncovered"] <= m["relu_small_failed"]
    assert m["fail_at_plateau_two"] + m["fail_at_plateau_three"] + m["fail_at_ln2"] <= m["relu_small_failed"]
    assert m["relu_xavier_solved"] + m["relu_he_solved"] == m["relu_small_solved"]


def test_initial_loss_of_a_constant_output_is_at_least_ln2():
    outputs, loss, constant = xor.initial_outputs("sigmoid", list(range(20)))
    assert outputs.shape == (20, 4)
    assert (constant >= np.log(2) - 1e-12).all()
    assert np.isfinite(loss).all()


def test_rank_correlation_matches_scipy():
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(1)
    x = rng.normal(size=60)
    y = np.round(x + rng.normal(scale=2, size=60))  # integer steps: ties, like solve steps
    rho, p = xor.rank_correlation(x, y, permutations=4000)
    expected = stats.spearmanr(x, y)
    assert rho == pytest.approx(expected.statistic, rel=1e-12)
    assert abs(p - expected.pvalue) < 0.03  # a permutation p-value, close to the t approximation
    rho_none, p_none = xor.rank_correlation(x, rng.permutation(60), permutations=2000)
    assert p_none > p


def test_listed_helpers_are_the_module_source():
    from experiments import numpy_net
    code = xor.module_lines(numpy_net, "def sigmoid(", "DEFAULT_INIT = ")
    assert code.startswith("def sigmoid(") and code.rstrip().splitlines()[-1].startswith("DEFAULT_INIT = ")
    assert code in inspect.getsource(numpy_net)
    assert "def softplus(" in code and "HIDDEN_ACTIVATIONS" in code


def test_listings_show_steps_not_epochs_and_no_overflow_demo(result):
    names = {listing.name for listing in result.listings}
    assert "notebook_sigmoid" not in names and "helpers" in names
    for listing in result.listings:
        if listing.name != "xor_cell":  # the cell explains 轮 vs 步 for full-batch training
            assert "每一轮" not in listing.code and "逐轮" not in listing.code, listing.name


def test_curve_rise_after_the_tenth_is_counted_in_seeds(result):
    m = result.metrics
    for key in ("relu_xavier", "relu_he"):
        assert m[f"{key}_solved_after_tenth"] == \
            m[f"{key}_solved"] - round(m[f"{key}_solved_by_tenth"] * m["n_seeds"])


def test_xavier_limits_come_from_the_demo_weights(result):
    m = result.metrics
    assert m["xavier_limit_hidden"] == pytest.approx(np.sqrt(6 / (m["n_inputs"] + m["hidden_units"])))
    assert m["xavier_limit_output"] == pytest.approx(np.sqrt(6 / (m["hidden_units"] + m["n_outputs"])))


def test_template_computes_nothing():
    """Differences and ratios are metrics: no arithmetic between metrics inside {{ … }}."""
    import re
    html = (ROOT / "templates" / "sections" / "xor.html").read_text(encoding="utf-8")
    for expr in re.findall(r"\{\{(.*?)\}\}", html):
        if "m." in expr:
            assert not re.search(r"m\.\w+\s*[-+*/]|[-+*/]\s*m\.\w+", expr), expr


def test_sweep_table_reports_mean_and_high_percentile_loss(result):
    header = result.tables[1].header
    assert any("仅成功种子" in h for h in header)
    assert any("平均" in h for h in header) and any("90" in h for h in header)


def test_figures_fit_the_printed_page(result):
    for figure in result.figures:
        width, height = figure.figure.get_size_inches()
        assert width <= 6.5 and height <= 4.1, figure.name


def test_exercise_counts_steps_like_the_sweep_table():
    """练习 1.1 uses the table's definition (first step with all four right, over the seeds solved at
    the end) for both learning rates, and the ratio of the two medians."""
    seeds, epochs = [0, 1, 2, 3], 1500
    results = xor.sweep([xor.CONFIGS[0], xor.EXERCISE_CONFIG], seeds, epochs, xor.LEARNING_RATE)
    notebook, fast = results["notebook"], results[xor.EXERCISE_CONFIG.key]
    alone = xor.sweep([xor.CONFIGS[0]], seeds, epochs, xor.EXERCISE_LR)["notebook"]  # the same runs, alone
    np.testing.assert_array_equal(fast.losses, alone.losses)
    m = xor.exercise_learning_rate(fast, notebook)
    assert fast.solved.any() and notebook.solved.any()
    assert m["ex_lr_median_epochs"] == float(np.median(fast.solved_at[fast.solved]))
    assert m["ex_lr_steps_ratio"] == pytest.approx(np.median(notebook.solved_at[notebook.solved])
                                                   / m["ex_lr_median_epochs"])
    assert m["ex_lr_factor"] == pytest.approx(xor.EXERCISE_LR / xor.LEARNING_RATE)


def test_exercise_symmetry_breaks_only_with_random_output_weights():
    """练习 1.3: equal hidden weights stay equal when the output weights are equal too, and drift
    apart when the output weights are random."""
    m = xor.exercise_symmetry(42, 300)
    assert m["ex_sym_all_equal_spread"] == 0.0
    assert m["ex_sym_random_out_spread"] > 1e-3
    assert m["ex_sym_random_out_column_min"] < m["ex_sym_random_out_column_max"]
