"""§5: the notebook's Keras model on Keras 3, deterministic, evaluated on a held-out test set."""
from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pytest

from report.model import Context, validate

keras_circles = pytest.importorskip("experiments.keras_circles")


@pytest.fixture(scope="module")
def quick(cjk_figures):
    return validate(keras_circles.run(Context(quick=True)), "keras_circles")


def test_declared_items(quick):
    assert [f.name for f in quick.figures] == ["curves", "boundary"]
    assert [t.name for t in quick.tables] == ["scores"]
    assert {lst.name for lst in quick.listings} == {"build_model", "train_and_evaluate"}
    assert len(quick.tables[0].rows) == 2
    for key in ("train_accuracy", "test_accuracy", "train_loss", "test_loss", "accuracy_gap", "n_params"):
        assert key in quick.metrics


def test_split_is_stratified_and_disjoint():
    data = keras_circles.circles(test_size=keras_circles.TEST_SIZE, seed=42)
    assert len(data.x_train) + len(data.x_test) == 500
    assert data.y_test.mean() == pytest.approx(0.5, abs=0.01)
    assert data.y_train.mean() == pytest.approx(0.5, abs=0.01)
    train_rows = {tuple(r) for r in data.x_train.tolist()}
    assert not any(tuple(r) in train_rows for r in data.x_test.tolist())


def test_metrics_are_consistent(quick):
    m = quick.metrics
    assert m["n_train"] + m["n_test"] == m["n_samples"]
    assert 0 <= m["test_accuracy"] <= 1 and 0 <= m["train_accuracy"] <= 1
    assert m["accuracy_gap"] == pytest.approx(m["train_accuracy"] - m["test_accuracy"])
    assert m["test_errors"] == round((1 - m["test_accuracy"]) * m["n_test"])
    # 2*16+16 + 16*8+8 + 8*1+1
    assert m["n_params"] == 193


def test_learning_curves_have_one_point_per_epoch(quick):
    fig_axes = quick.figures[0].figure.axes
    for ax in fig_axes:
        lines = ax.get_lines()
        assert len(lines) == 2  # train and test
        assert all(len(line.get_xdata()) == quick.metrics["epochs"] for line in lines)


def test_curves_match_evaluate(quick):
    """The callback's last point and model.evaluate() use the same weights: same accuracy."""
    train_line, test_line = quick.figures[0].figure.axes[1].get_lines()
    assert train_line.get_ydata()[-1] == pytest.approx(quick.metrics["train_accuracy"], abs=1e-6)
    assert test_line.get_ydata()[-1] == pytest.approx(quick.metrics["test_accuracy"], abs=1e-6)


def test_weights_and_activations_handed_over(quick):
    shapes = [quick.arrays[f"weight_{i}"].shape for i in range(6)]
    assert shapes == [(2, 16), (16,), (16, 8), (8,), (8, 1), (1,)]
    data = keras_circles.circles(test_size=keras_circles.TEST_SIZE, seed=42)
    for part, x in (("train", data.x_train), ("test", data.x_test)):
        assert [quick.arrays[f"{part}_activation_{i}"].shape for i in range(3)] == [(len(x), 16), (len(x), 8), (len(x), 1)]
    np.testing.assert_array_equal(quick.arrays["y_test"], data.y_test)


def test_model_is_keras3_clean():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = keras_circles.build_model()
    assert model.inputs, "the model must have a symbolic input (keras.Input) for §6"


def test_listing_is_the_code_that_ran(quick):
    code = {lst.name: lst.code for lst in quick.listings}
    assert "keras.Input(shape=(2,))" in code["build_model"]
    assert "model.evaluate(data.x_test" in code["train_and_evaluate"]
    assert "input_shape=(" not in code["build_model"]


def test_same_seed_same_numbers(quick):
    again = keras_circles.run(Context(quick=True))
    assert again.metrics == quick.metrics
    for key, value in quick.arrays.items():
        np.testing.assert_array_equal(again.arrays[key], value)


def test_other_seed_other_weights(quick):
    other = keras_circles.run(Context(quick=True, seed=7))
    assert not np.array_equal(other.arrays["weight_0"], quick.arrays["weight_0"])


@pytest.mark.slow
def test_full_run_learns_the_circles():
    result = keras_circles.run(Context(quick=False))
    assert result.metrics["epochs"] == 100 and result.metrics["batch_size"] == 32
    assert result.metrics["test_accuracy"] > 0.9


def test_template_quotes_only_existing_metrics(quick):
    text = (Path(__file__).resolve().parent.parent / "templates" / "sections" / "keras_circles.html").read_text(encoding="utf-8")
    quoted = set(re.findall(r"(?<![\w.])m\.(\w+)", text))
    assert quoted and quoted <= set(quick.metrics), quoted - set(quick.metrics)
