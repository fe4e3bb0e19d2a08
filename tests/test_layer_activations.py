"""§6: per-layer activation heatmaps of §5's trained model, with a dead-ReLU count."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from report.model import Context, Result, validate

ROOT = Path(__file__).resolve().parent.parent
keras_circles = pytest.importorskip("experiments.keras_circles")
layer_activations = pytest.importorskip("experiments.layer_activations")


@pytest.fixture(scope="module")
def trained(cjk_figures):
    return keras_circles.run(Context(quick=True))


@pytest.fixture(scope="module")
def quick(trained):
    return validate(layer_activations.run(Context(quick=True, inputs={"keras_circles": trained})),
                    "layer_activations")


def numpy_hidden(weights: dict, x: np.ndarray) -> list[np.ndarray]:
    """An independent forward pass through the two ReLU layers."""
    a1 = np.maximum(0, x @ weights["weight_0"] + weights["weight_1"])
    a2 = np.maximum(0, a1 @ weights["weight_2"] + weights["weight_3"])
    return [a1, a2]


def test_declared_items(quick):
    assert [f.name for f in quick.figures] == ["heatmaps"]
    assert [t.name for t in quick.tables] == ["dead_units"]
    assert [lst.name for lst in quick.listings] == ["activation_model", "plot"]
    assert "model.inputs" in quick.listings[0].code and "model.input)" not in quick.listings[0].code
    # a student's copy of the plotting code must find a Chinese font
    plot = quick.listings[1].code
    assert "def use_chinese_font" in plot and "font.sans-serif" in plot and "unicode_minus" in plot
    assert plot.startswith("import matplotlib.pyplot as plt\nimport numpy as np\n")
    body = plot[plot.index("def plot_activations"):]
    assert "use_chinese_font()" in body and "axvline" in body and "set_xticks" in body
    assert "Noto Sans CJK JP" in plot and "Arial Unicode MS" in plot


def test_chinese_font_is_set(cjk_figures):
    import matplotlib

    name = layer_activations.use_chinese_font()
    assert "CJK" in name or name in ("PingFang SC", "Heiti TC", "Songti SC", "Microsoft YaHei", "SimHei",
                                     "WenQuanYi Micro Hei", "Arial Unicode MS", "Source Han Sans SC")
    assert matplotlib.rcParams["font.sans-serif"][0] == name
    assert matplotlib.rcParams["axes.unicode_minus"] is False
    with pytest.raises(RuntimeError):
        layer_activations.use_chinese_font(candidates=("No Such Font 123",))


def test_heatmaps_fit_the_printed_page(quick):
    w, h = quick.figures[0].figure.get_size_inches()
    assert w <= 6.5 and h <= 4.1


def test_needs_no_tensorflow():
    """§6 runs in a process of its own: importing it must not pay for TensorFlow (~4 s)."""
    code = "import sys, experiments.layer_activations; print('tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_one_panel_per_layer_with_colour_bar(quick):
    fig = quick.figures[0].figure
    panels = [ax for ax in fig.axes if ax.images]
    assert len(panels) == len(keras_circles.build_model().layers) == quick.metrics["n_layers"] == 3
    assert len(fig.axes) == 2 * len(panels)  # every panel has its colour bar
    # neurons x samples
    assert [p.images[0].get_array().shape for p in panels] == [
        (16, quick.metrics["n_samples_shown"]), (8, quick.metrics["n_samples_shown"]), (1, quick.metrics["n_samples_shown"])]


def test_heatmaps_show_the_trained_model(trained, quick):
    data = keras_circles.three_way(42)
    k = layer_activations.SAMPLES_PER_CLASS
    picks = np.concatenate([np.flatnonzero(data.y_test == c)[:k] for c in (0, 1)])
    expected = numpy_hidden(trained.arrays, data.x_test[picks])
    panels = [ax for ax in quick.figures[0].figure.axes if ax.images]
    for panel, activation in zip(panels, expected):
        np.testing.assert_allclose(panel.images[0].get_array(), activation.T, rtol=1e-4, atol=1e-5)


def test_dead_units_counted_on_the_training_set(trained, quick):
    data = keras_circles.three_way(42)
    hidden = numpy_hidden(trained.arrays, data.x_train)
    dead = [int(np.sum(np.all(a <= 0, axis=0))) for a in hidden]
    assert [quick.metrics["dead_layer1"], quick.metrics["dead_layer2"]] == dead
    assert quick.metrics["dead_total"] == sum(dead)
    # zero shares over the live neurons only
    for layer, a in enumerate(hidden, start=1):
        live = ~np.all(a <= 0, axis=0)
        assert quick.metrics[f"zero_share_live_layer{layer}"] == pytest.approx(np.mean(a[:, live] <= 0))
    # the first table row is the representative seed
    assert quick.tables[0].rows[0][:3] == ["42", str(dead[0]), str(dead[1])]


def test_zero_share_excludes_dead_neurons():
    hidden = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 2.0], [0.0, 3.0, 4.0], [0.0, 5.0, 0.0]])  # neuron 1 is dead
    assert layer_activations.zero_share_of_live(hidden) == pytest.approx(3 / 8)
    assert np.mean(hidden <= 0) == pytest.approx(7 / 12)  # what the old text quoted


def test_revivals_are_counted_per_layer(trained):
    """A neuron dead at one check and alive at the next is one revival."""
    alive = np.ones_like(trained.arrays["seeds_alive_1"])
    alive[0, 0, 3] = 0  # dead at the start, alive after epoch 1
    alive[2:4, 1, 5] = 0  # dies after epoch 2, revives after epoch 4 (when there are that many epochs)
    arrays = dict(trained.arrays, seeds_alive_0=np.ones_like(trained.arrays["seeds_alive_0"]), seeds_alive_1=alive)
    result = layer_activations.run(Context(quick=True, inputs={"keras_circles": Result(arrays=arrays)}))
    m = result.metrics
    expected = 1 + int(alive.shape[0] > 4)
    assert (m["revivals_layer1"], m["ever_dead_layer1"]) == (0, 0)
    assert m["revivals_layer2"] == expected and m["dead_at_start_layer2"] == 1 and m["ever_dead_layer2"] == 2
    assert m["revived_layer2"] == expected and m["revived_alive_end_layer2"] == expected


def test_all_dead_when_a_layer_never_fires(trained):
    """No retraining: the section counts whatever activations it is given."""
    arrays = dict(trained.arrays, train_activation_0=np.zeros_like(trained.arrays["train_activation_0"]))
    result = layer_activations.run(Context(quick=True, inputs={"keras_circles": Result(arrays=arrays)}))
    assert result.metrics["dead_layer1"] == 16


def test_deterministic(trained, quick):
    again = layer_activations.run(Context(quick=True, inputs={"keras_circles": trained}))
    assert again.metrics == quick.metrics


def test_template_quotes_only_existing_metrics(quick):
    text = (ROOT / "templates" / "sections" / "layer_activations.html").read_text(encoding="utf-8")
    quoted = set(re.findall(r"(?<![\w.])m\.(\w+)", text))
    assert quoted and quoted <= set(quick.metrics), quoted - set(quick.metrics)


def test_plot_listing_runs_on_its_own(quick):
    """A student's copy: the listing alone (no __future__ import, no module globals) draws the figure."""
    namespace: dict = {}
    exec(compile(quick.listings[1].code, "<listing>", "exec"), namespace)
    rng = np.random.default_rng(0)
    acts = [rng.random((6, 16)), rng.random((6, 8)), rng.random((6, 1))]
    fig = namespace["plot_activations"](acts, ["a", "b", "c"], [set(), {2}, set()], 3)
    panels = [ax for ax in fig.axes if ax.images]
    assert len(panels) == 3
    assert [t.get_text() for t in panels[-1].get_xticklabels()] == ["外圈样本", "内圈样本"]


def test_output_colour_bar_is_a_probability(quick):
    panels = [ax for ax in quick.figures[0].figure.axes if ax.images]
    assert panels[-1].images[0].get_clim() == (0.0, 1.0)
    # sixteen neurons: every other label, so they do not touch
    assert len(panels[0].get_yticks()) <= 9 + quick.metrics["dead_layer1"]


def test_separating_neurons():
    y = np.array([0, 0, 0, 1, 1, 1])
    hidden = np.array([[5, 0, 1], [6, 0, 2], [5, 1, 3], [0, 5, 2], [1, 6, 1], [0, 5, 3]], dtype=float)
    assert layer_activations.separating_neurons(hidden, y) == (1, 1)  # neuron 3 separates nothing


def test_dead_neurons_elsewhere_and_worked_example(trained, quick):
    m = quick.metrics
    assert m["dead_silent_on_test"] <= m["dead_all_seeds"] == sum(
        int(np.sum(np.all(a <= 0, axis=1))) for a in
        (trained.arrays["seeds_train_activation_0"], trained.arrays["seeds_train_activation_1"]))
    assert m["final_dead_from_start_layer2"] + m["final_dead_died_layer2"] == m["dead_layer2_sum"]
    alive = np.ones((6, 8), dtype=np.uint8)
    alive[0, 5] = 0
    alive[2:4, 5] = 0
    alive[5, 5] = 0  # dead, alive, dead, dead, alive, dead
    ex = layer_activations.worked_example(alive, {5})
    assert ex["example_neuron"] == 6 and ex["example_revivals"] == 2 and ex["example_alive_end"] == 0
    assert ex["example_revival_epochs"] == "第 1 轮、第 4 轮"


def test_accuracy_by_dead():
    arrays = {"seeds_test_accuracy": np.array([0.98, 0.99, 1.0, 0.97])}
    out = layer_activations.accuracy_by_dead(arrays, np.array([1, 0, 0, 2]))
    assert out["n_seeds_with_dead"] == 2 and out["accuracy_with_dead_mean"] == pytest.approx(0.975)
    assert out["accuracy_without_dead_mean"] == pytest.approx(0.995) and 0 < out["accuracy_dead_p"] <= 1


def test_exercise_compares_the_layers_seed_by_seed_with_a_sign_test(quick):
    """练习 6.1: the two layers share the seeds, so the answer counts the seeds in which layer 1 had more
    zeros and tests that count (two-sided sign test on the seeds that are not tied)."""
    from scipy import stats

    m = quick.metrics
    assert m["ex_n_layer1_sparser"] + m["ex_n_layer2_sparser"] == m["ex_n_untied"] <= m["n_seeds"]
    if m["ex_n_untied"]:
        assert m["ex_sign_p"] == pytest.approx(stats.binomtest(m["ex_n_layer1_sparser"], m["ex_n_untied"]).pvalue)
    # the exact two-sided sign test for 7 of 8, as the full build's answer quotes it
    assert stats.binomtest(7, 8).pvalue == pytest.approx(18 / 256)
