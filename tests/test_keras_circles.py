"""§5: the notebook's Keras model on Keras 3, several seeds as one ensemble, train/validation/test."""
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
    assert [t.name for t in quick.tables] == ["seeds"]
    assert [lst.name for lst in quick.listings] == ["keras3_check", "build_model", "train_step", "fit"]
    assert len(quick.tables[0].rows) == quick.metrics["n_seeds"] + 1  # one row per seed and the mean
    for key in ("train_accuracy", "val_accuracy", "test_accuracy", "accuracy_gap", "n_params",
                "gap_mean", "gap_min", "gap_max", "n_seeds_gap_within", "best_val_epoch"):
        assert key in quick.metrics


def test_three_way_split_is_stratified_and_disjoint():
    data = keras_circles.three_way(42)
    assert (len(data.x_train), len(data.x_val), len(data.x_test)) == (250, 100, 150)
    for y in (data.y_train, data.y_val, data.y_test):
        assert y.mean() == pytest.approx(0.5, abs=0.01)
    parts = [{tuple(r) for r in x.tolist()} for x in (data.x_train, data.x_val, data.x_test)]
    assert sum(map(len, parts)) == len(set().union(*parts)) == 500
    # the test set is the one keras_utils.circles holds out (the notebook's data for seed 42)
    np.testing.assert_array_equal(data.x_test, keras_circles.circles(seed=42).x_test)
    assert not np.array_equal(keras_circles.three_way(43).x_train, data.x_train)


def test_notebook_failure_is_model_input_not_input_shape(quick):
    m = quick.metrics
    assert m["notebook_built"] == 1 and m["notebook_inputs"] == "(None, 2)"
    assert m["notebook_warning"].startswith("UserWarning") and "input_shape" in m["notebook_warning"]
    for key in ("notebook_input_error", "keras_input_input_error"):
        assert "has never been called" in m[key]
    assert m["notebook_fixed_outputs"] == 3


def test_metrics_are_consistent(quick):
    m = quick.metrics
    assert m["n_train"] + m["n_val"] + m["n_test"] == m["n_samples"]
    assert m["accuracy_gap"] == pytest.approx(m["train_accuracy"] - m["test_accuracy"])
    assert m["test_errors"] == round((1 - m["test_accuracy"]) * m["n_test"])
    assert m["n_params"] == 193  # 2*16+16 + 16*8+8 + 8*1+1
    assert m["gap_min"] <= m["gap_mean"] <= m["gap_max"]
    assert m["gap_within"] == int(abs(m["accuracy_gap"]) <= m["test_ci_half"])
    for name in ("accuracy_gap", "test_ci_half", "gap_mean", "gap_min", "gap_max", "ci_half_mean"):
        assert m[f"{name}_pp"] == pytest.approx(100 * m[name])
    assert m["total_steps"] == m["steps_per_epoch"] * m["epochs"]
    assert m["notebook_total_steps"] == -(-m["n_samples"] // m["batch_size"]) * m["epochs"]
    assert m["pooled_train_total"] == m["n_seeds"] * m["n_train"]
    assert m["pooled_test_total"] == m["n_seeds"] * m["n_test"]
    # the lesson's plain loop ran for the representative seed and agrees with the ensemble
    assert m["plain_test_agree"] == m["n_test"] and m["plain_max_weight_diff"] < 1e-4
    # the table prints minus signs as the prose does
    assert all("-" not in row[4] for row in quick.tables[0].rows)
    assert 0 <= m["n_seeds_gap_within"] <= m["n_seeds"]
    within = [row[6] == "是" for row in quick.tables[0].rows[:-1]]
    assert sum(within) == m["n_seeds_gap_within"]
    assert 1 <= m["best_val_epoch"] <= m["epochs"]


def test_wilson_interval():
    lo, hi = keras_circles.wilson(146, 150)
    assert lo < 146 / 150 < hi
    assert (hi - lo) / 2 == pytest.approx(0.028, abs=0.002)  # "about ±3 points" at 97 % of 150
    lo, hi = keras_circles.wilson(150, 150)
    assert hi == pytest.approx(1.0) and 0.97 < lo < 0.98  # not the degenerate 100 % ± 0


def test_ensemble_trains_each_seed_as_if_alone(cjk_figures):
    """The prose says: training S networks together gives what training each alone gives."""
    keras_circles.make_deterministic(0)
    seeds = [42, 43]
    data = [keras_circles.three_way(s) for s in seeds]
    together = keras_circles.initial_weights(seeds)
    curves = keras_circles.fit(together, data, 3, 32, seeds)
    for i, seed in enumerate(seeds):
        alone = keras_circles.initial_weights([seed])
        alone_curves = keras_circles.fit(alone, [data[i]], 3, 32, [seed])
        for w_all, w_one in zip(together, alone):
            np.testing.assert_allclose(w_all.numpy()[i], w_one.numpy()[0], rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(curves["val_loss"][:, i], alone_curves["val_loss"][:, 0], rtol=1e-4)


def test_initial_weights_are_build_models(cjk_figures):
    """Stacked initial weights = what build_model() gives after set_random_seed(seed), per seed."""
    keras_circles.make_deterministic(0)
    stacked = keras_circles.initial_weights([42, 43])
    for i, seed in enumerate((42, 43)):
        keras_circles.keras.utils.set_random_seed(seed)
        for w, expected in zip(stacked, keras_circles.build_model().get_weights()):
            np.testing.assert_array_equal(w.numpy()[i], expected)
    assert not np.array_equal(stacked[0].numpy()[0], stacked[0].numpy()[1])


def test_keras_model_of_a_seed_computes_what_the_ensemble_computes(cjk_figures):
    keras_circles.make_deterministic(0)
    weights = keras_circles.initial_weights([42, 43])
    x = keras_circles.three_way(43).x_test
    model = keras_circles.model_of(weights, 1)
    ensemble = keras_circles.layer_outputs(weights, np.stack([x, x]))[-1].numpy()[1]
    np.testing.assert_allclose(model(x).numpy(), ensemble, rtol=1e-5, atol=1e-6)


def test_learning_curves_have_one_point_per_epoch(quick):
    for ax in quick.figures[0].figure.axes:
        curves = [line for line in ax.get_lines() if len(line.get_xdata()) == quick.metrics["epochs"]]
        assert len(curves) == 2  # training and validation set
        assert len({line.get_linestyle() for line in curves}) == 2  # readable in greyscale


def test_curves_end_at_the_final_scores(quick):
    """The last point of each curve and the final evaluation use the same weights."""
    lines = [line for line in quick.figures[0].figure.axes[1].get_lines()
             if len(line.get_xdata()) == quick.metrics["epochs"]]
    train_line, val_line = lines
    assert train_line.get_ydata()[-1] == pytest.approx(quick.metrics["train_accuracy"], abs=1e-6)
    assert val_line.get_ydata()[-1] == pytest.approx(quick.metrics["val_accuracy"], abs=1e-6)


def test_figures_fit_the_printed_page(quick):
    for figure in quick.figures:
        w, h = figure.figure.get_size_inches()
        assert w <= 6.5 and h <= 4.1


def test_weights_and_activations_handed_over(quick):
    shapes = [quick.arrays[f"weight_{i}"].shape for i in range(6)]
    assert shapes == [(2, 16), (16,), (16, 8), (8,), (8, 1), (1,)]
    data = keras_circles.three_way(42)
    for part, x in (("train", data.x_train), ("test", data.x_test)):
        assert [quick.arrays[f"{part}_activation_{i}"].shape for i in range(3)] == [(len(x), 16), (len(x), 8), (len(x), 1)]
    np.testing.assert_array_equal(quick.arrays["y_test"], data.y_test)
    s, e = quick.metrics["n_seeds"], quick.metrics["epochs"]
    assert quick.arrays["seeds"].tolist() == list(range(42, 42 + s))
    assert quick.arrays["seeds_train_activation_0"].shape == (s, len(data.x_train), 16)
    assert quick.arrays["seeds_alive_1"].shape == (1 + e, s, 8)
    # the ensemble's forward pass for seed 42 = the notebook's activation model on the Keras model
    np.testing.assert_allclose(quick.arrays["seeds_train_activation_0"][0], quick.arrays["train_activation_0"],
                               rtol=1e-5, atol=1e-6)


def test_model_is_keras3_clean():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = keras_circles.build_model()
    assert model.inputs, "the model must have a symbolic input (keras.Input) for §6"


def test_listing_is_the_code_that_ran(quick):
    code = {lst.name: lst.code for lst in quick.listings}
    assert "keras.Input(shape=(2,))" in code["build_model"]
    assert "input_shape=(" not in code["build_model"]
    assert "input_shape=(2,)" in code["keras3_check"] and "m.input " in code["keras3_check"]
    assert "tape.gradient" in code["train_step"] and "apply_gradients" in code["train_step"]
    assert "def train(" in code["train_step"] and "model.trainable_variables" in code["train_step"]
    assert "bias[:, None, :]" not in code["train_step"]  # the lesson is one plain model, not the ensemble
    assert "def fit(" in code["fit"] and "def ensemble_step(" in code["fit"]
    assert "steps_per_execution" not in "".join(code.values())


def test_same_seed_same_numbers(quick):
    again = keras_circles.run(Context(quick=True))
    assert again.metrics == quick.metrics
    for key, value in quick.arrays.items():
        np.testing.assert_array_equal(again.arrays[key], value)


def test_other_seed_other_weights(quick):
    other = keras_circles.run(Context(quick=True, seed=7))
    assert not np.array_equal(other.arrays["weight_0"], quick.arrays["weight_0"])
    assert other.metrics["seed"] == 7


@pytest.mark.slow
def test_full_run_learns_the_circles():
    result = keras_circles.run(Context(quick=False))
    m = result.metrics
    assert m["epochs"] == 100 and m["batch_size"] == 32 and m["n_seeds"] >= 8
    assert m["test_accuracy_min"] > 0.9


def test_template_quotes_only_existing_metrics(quick):
    text = (Path(__file__).resolve().parent.parent / "templates" / "sections" / "keras_circles.html").read_text(encoding="utf-8")
    quoted = set(re.findall(r"(?<![\w.])m\.(\w+)", text))
    assert quoted and quoted <= set(quick.metrics), quoted - set(quick.metrics)


def test_batch_orders_come_from_each_seed():
    orders = keras_circles.batch_orders(10, 3, [42, 43])
    assert orders.shape == (3, 2, 10)
    rng = np.random.default_rng(43)
    for epoch in range(3):
        np.testing.assert_array_equal(orders[epoch, 1], rng.permutation(10))
    # seed 42's order does not depend on which other seeds train beside it
    np.testing.assert_array_equal(keras_circles.batch_orders(10, 3, [42])[:, 0], orders[:, 0])
    assert not np.array_equal(orders[:, 0], orders[:, 1])


def test_plain_train_equals_the_ensemble_for_seed_42(cjk_figures):
    """The lesson's one-model train() gives the ensemble's weights for seed 42."""
    keras_circles.make_deterministic(0)
    seeds = [42, 43]
    data = [keras_circles.three_way(s) for s in seeds]
    weights = keras_circles.initial_weights(seeds)
    keras_circles.fit(weights, data, 2, 32, seeds)
    keras_circles.keras.utils.set_random_seed(42)
    plain = keras_circles.train(keras_circles.build_model(), data[0], 2, 32, 42)
    for w, e in zip(plain.get_weights(), weights):
        np.testing.assert_allclose(w, e.numpy()[0], rtol=1e-4, atol=1e-6)


def test_ensemble_equals_keras_train_on_batch(cjk_figures):
    """Seed 42, two epochs, the same batches: Keras' own compile + train_on_batch vs the ensemble."""
    keras = keras_circles.keras
    keras_circles.make_deterministic(0)
    data = keras_circles.three_way(42)
    epochs = 2
    weights = keras_circles.initial_weights([42])
    keras_circles.fit(weights, [data], epochs, 32, [42])
    keras.utils.set_random_seed(42)
    model = keras_circles.build_model()
    model.compile(optimizer=keras.optimizers.Adam(keras_circles.LEARNING_RATE), loss="binary_crossentropy",
                  jit_compile=False)
    orders = keras_circles.batch_orders(len(data.x_train), epochs, [42])
    for epoch in range(epochs):
        order = orders[epoch, 0]
        for start in range(0, len(order), 32):
            batch = order[start:start + 32]
            model.train_on_batch(data.x_train[batch], data.y_train[batch, None])
    for w, e in zip(model.get_weights(), weights):
        np.testing.assert_allclose(w, e.numpy()[0], rtol=1e-4, atol=1e-5)


def test_gap_tests_detect_a_consistent_gap():
    stats = keras_circles.gap_tests(np.array([0.02, 0.01, 0.015, 0.02, 0.01, 0.02, 0.015, 0.01]),
                                    np.full(8, 250), 250, np.full(8, 147), 150)
    assert stats["gap_ttest_p"] < 0.001 and stats["gap_wilcoxon_p"] < 0.05 and stats["fisher_p"] < 0.001
    noise = keras_circles.gap_tests(np.array([0.01, -0.01, 0.02, -0.02, 0.0, 0.01, -0.01, 0.0]),
                                    np.full(8, 240), 250, np.full(8, 144), 150)
    assert noise["gap_ttest_p"] > 0.5 and noise["fisher_p"] > 0.5


def brute_force_best_accuracy(x, y, directions):
    """Every direction of best_line's grid, every threshold at (just below) a projection, one by one."""
    best = 0.0
    for angle in np.arange(directions) * (2 * np.pi / directions):
        p = x @ np.array([np.cos(angle), np.sin(angle)])
        for t in np.concatenate([[p.min() - 1], p]):
            best = max(best, float(np.mean((p > t) == (y > 0.5))))
    return best


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_best_line_finds_the_most_training_points_right(seed):
    """练习 5.1's accuracy-best line: as good as trying every threshold of every direction by hand."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(30, 2))
    y = (x[:, 0] + 0.8 * rng.normal(size=30) > 0).astype(float)
    u, t = keras_circles.best_line(x, y, directions=90)
    assert np.mean((x @ u > t) == (y > 0.5)) == pytest.approx(brute_force_best_accuracy(x, y, 90))


def test_linear_baselines_on_the_circles():
    """The cross-entropy line is almost a constant on the symmetric circles; the accuracy-best line,
    chosen on the training points only, gets more of them right but stays far from the network."""
    m = keras_circles.linear_baseline([keras_circles.three_way(s) for s in (42, 43)])
    assert m["ex_logistic_weight_max"] < 0.5 and 0.3 < m["ex_logistic_output_min"] < m["ex_logistic_output_max"] < 0.7
    assert m["ex_best_line_train_min"] > 0.6 > m["ex_linear_test_mean"]
    assert m["ex_best_line_test_max"] < 0.8 and m["ex_chance_accuracy"] == pytest.approx(0.5, abs=0.01)
