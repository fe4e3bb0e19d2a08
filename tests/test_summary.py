"""§7: the runs behind the practical tips, over several seeds, handed to the subsections."""
from __future__ import annotations

import numpy as np
import pytest

from report.model import Context, validate

summary = pytest.importorskip("experiments.summary")

GROUPS = {"deep": {"sigmoid", "sigmoid_bn", "relu_small", "relu_xavier", "relu_he", "relu_small_adam"},
          "drop": {"plain", "dropout"},
          "opt": {f"{name}_{lr:g}" for name in ("sgd", "momentum", "adam") for lr in (0.001, 0.01, 0.1)}}


@pytest.fixture(scope="module")
def quick(cjk_figures):
    return validate(summary.run(Context(quick=True)), "summary")


def runs(result, group):
    return {key.split("/")[1] for key in result.arrays if key.startswith(group + "/")}


def test_declared_items(quick):
    assert [t.name for t in quick.tables] == ["tips"]
    assert len(quick.tables[0].rows) == 6
    assert {"train", "batch_norm", "bn_backward", "initial_kernel", "sgd_update", "adam_update"} <= \
        {lst.name for lst in quick.listings}


def test_full_build_runs_every_tip_on_at_least_eight_seeds():
    assert len(summary.settings(False)["seeds"]) >= 8


def test_every_run_hands_over_one_column_per_seed(quick):
    s = summary.settings(True)
    n = len(s["seeds"])
    for group, names in GROUPS.items():
        assert runs(quick, group) == names
    assert quick.arrays["deep/sigmoid/step_loss"].shape == (s["deep_steps"], n)
    assert quick.arrays["deep/relu_small_adam/step_loss"].shape == (s["adam_steps"], n)
    assert quick.arrays["drop/plain/val_loss"].shape == (s["drop_steps"] // s["drop_every"], n)
    assert quick.arrays["opt/adam_0.01/val_accuracy"].shape == (s["opt_epochs"], n)
    assert quick.arrays["deep/sigmoid_bn/grad_norms"].shape == (s["depth"] + 1, n)
    assert quick.arrays["deep/sigmoid/z_std"].shape == (s["depth"], n)
    for key, value in quick.arrays.items():
        assert np.all(np.isfinite(value)), key


def test_variants_of_one_seed_start_from_the_same_weights(quick):
    """Sigmoid and ReLU (Xavier) networks of one seed share their initial kernels: one switch at a time."""
    assert np.allclose(quick.arrays["deep/sigmoid/kernel_rms"], quick.arrays["deep/relu_xavier/kernel_rms"])
    assert not np.allclose(quick.arrays["deep/relu_small/kernel_rms"], quick.arrays["deep/relu_he/kernel_rms"])


def test_table_quotes_the_handed_over_curves(quick):
    row = quick.tables[0].rows[0]  # ReLU: final train accuracy, sigmoid vs ReLU, mean (min–max)
    assert row[3] == summary.describe(quick.arrays["deep/sigmoid/train_accuracy"][-1], ".1%")
    assert row[4] == summary.describe(quick.arrays["deep/relu_xavier/train_accuracy"][-1], ".1%")


def test_splits_are_disjoint_and_stratified():
    parts = summary.circles(3, {"train": 60, "val": 20, "test": 20})
    assert [len(parts[p][0]) for p in ("train", "val", "test")] == [60, 20, 20]
    rows = {tuple(np.round(x, 6)) for p in parts.values() for x in p[0]}
    assert len(rows) == 100
    assert parts["train"][1].mean() == pytest.approx(0.5)


def test_same_seed_same_numbers(quick):
    again = summary.run(Context(quick=True))
    assert again.tables[0].rows == quick.tables[0].rows
    for key, value in quick.arrays.items():
        np.testing.assert_array_equal(again.arrays[key], value, err_msg=key)


def test_describe_prints_minus_signs_and_an_unambiguous_range():
    assert summary.describe(np.array([-1.0, 2.0, 8.5]), ".1f") == "3.2（\u22121.0 至 8.5）"
    assert summary.describe(np.array([1.0, 2.0]), ".1f") == "1.5（1.0–2.0）"


def test_weight_gradient_splits_into_centred_and_mean_terms():
    """‖∂L/∂W‖ = ‖(a − ā)ᵀδ + āᵀΣδ‖: the centred term handed over is the first part (§4's split)."""
    from experiments import ensemble as E
    ens = E.Ensemble(E.Net((2, 6, 6, 1), "sigmoid"), [E.Member(1), E.Member(2)])
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 30, 2)).astype("float32")
    y = rng.integers(0, 2, (2, 30, 1)).astype("float32")
    stats = summary.hidden_layer_statistics(ens, x, y)
    logits, cache = ens.forward(x, training=True, update_statistics=False)
    ens.backward(logits, y, cache)
    for i, c in enumerate(cache[:-1]):
        mean_term = c["a_in"].mean(axis=1, keepdims=True).transpose(0, 2, 1) @ c["dz"].sum(axis=1, keepdims=True)
        total = summary.norm(c["a_in"].transpose(0, 2, 1) @ c["dz"])
        np.testing.assert_allclose(stats["grad_norms"][:, i], total, rtol=1e-5)
        centred = (c["a_in"] - c["a_in"].mean(axis=1, keepdims=True)).transpose(0, 2, 1) @ c["dz"]
        np.testing.assert_allclose(summary.norm(centred + mean_term), total, rtol=1e-4)
        np.testing.assert_allclose(stats["centred_norms"][:, i], summary.norm(centred), rtol=1e-5)
