"""§1 XOR: the notebook's run, the many-seed sweep, and the template's use of the result."""
from __future__ import annotations

import ast
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
    configs = [xor.CONFIGS[2], xor.CONFIGS[3], xor.CONFIGS[1]]  # two share one train_many call
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
        assert rows[config.label][3] == f"{solved}/{m['n_seeds']}"
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
