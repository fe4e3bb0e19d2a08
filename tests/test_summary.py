"""§7: the runs behind the practical tips, the shared model builder and training loop."""
from __future__ import annotations

import numpy as np
import pytest

from report.model import Context, validate

summary = pytest.importorskip("experiments.summary")
keras_utils = pytest.importorskip("experiments.keras_utils")
keras = keras_utils.keras

GROUPS = {"deep": {"sigmoid", "sigmoid_bn", "relu_small", "relu_xavier", "relu_he"},
          "drop": {"plain", "dropout"}, "opt": {"sgd", "momentum", "adam"}}


@pytest.fixture(scope="module")
def quick(cjk_figures):
    return validate(summary.run(Context(quick=True)), "summary")


def runs(result, group):
    return {key.split("/")[1] for key in result.arrays if key.startswith(group + "/")}


def test_declared_items(quick):
    assert [t.name for t in quick.tables] == ["tips"]
    assert len(quick.tables[0].rows) == 5
    assert {lst.name for lst in quick.listings} == {"build_mlp", "train"}
    assert quick.metrics["n_runs"] == sum(len(v) for v in GROUPS.values())


def test_every_run_hands_over_its_curves(quick):
    s = summary.settings(True)
    epochs = {"deep": s["deep_epochs"], "drop": s["drop_epochs"], "opt": s["opt_epochs"]}
    for group, names in GROUPS.items():
        assert runs(quick, group) == names
        for name in names:
            for curve in ("train_loss", "train_accuracy", "test_loss", "test_accuracy"):
                values = quick.arrays[f"{group}/{name}/{curve}"]
                assert values.shape == (epochs[group],) and np.all(np.isfinite(values))
    for name in GROUPS["deep"]:
        assert quick.arrays[f"deep/{name}/grad_norms"].shape == (s["depth"] + 1,)
        assert quick.arrays[f"deep/{name}/act_stds"].shape == (s["depth"],)


def test_build_mlp_switches():
    plain = summary.build_mlp(3, 4)
    kinds = [type(layer).__name__ for layer in plain.layers]
    assert kinds.count("Dense") == 4 and "BatchNormalization" not in kinds and "Dropout" not in kinds
    bn = summary.build_mlp(3, 4, batchnorm=True, dropout=0.5)
    kinds = [type(layer).__name__ for layer in bn.layers]
    assert kinds.count("BatchNormalization") == 3 and kinds.count("Dropout") == 3
    he = summary.build_mlp(2, 4, initializer="he_normal")
    assert type(he.layers[0].kernel_initializer).__name__ == "HeNormal"


def test_train_learns_a_separable_problem():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 2)).astype("float32")
    y = (x[:, 0] > 0).astype("float32")
    data = keras_utils.Split(x[:150], y[:150], x[150:], y[150:])
    keras_utils.make_deterministic(0)
    out = keras_utils.train({"a": (summary.build_mlp(1, 8), keras.optimizers.Adam(0.05))}, data,
                            epochs=30, batch_size=50, seed=0)["a"]
    assert out["train_loss"][-1] < 0.5 * out["train_loss"][0]
    assert out["test_accuracy"][-1] > 0.9


def test_side_by_side_runs_do_not_interfere():
    """Training two networks together gives each the result it gets alone."""
    data = keras_utils.circles(n_samples=120, seed=1)

    def fresh(seed):
        keras.utils.set_random_seed(seed)
        return summary.build_mlp(2, 8), keras.optimizers.Adam(0.01)

    keras_utils.make_deterministic(3)
    alone = keras_utils.train({"a": fresh(3)}, data, epochs=5, batch_size=32, seed=3)["a"]
    together = keras_utils.train({"a": fresh(3), "b": fresh(4)}, data, epochs=5, batch_size=32, seed=3)["a"]
    for key in alone:
        np.testing.assert_allclose(together[key], alone[key], rtol=1e-5, atol=1e-6)


def test_table_quotes_the_handed_over_curves(quick):
    row = quick.tables[0].rows[0]  # ReLU: final train accuracy, sigmoid vs ReLU
    assert row[3] == f"{quick.arrays['deep/sigmoid/train_accuracy'][-1]:.1%}"
    assert row[4] == f"{quick.arrays['deep/relu_xavier/train_accuracy'][-1]:.1%}"


def test_same_seed_same_numbers(quick):
    again = summary.run(Context(quick=True))
    assert again.metrics == quick.metrics
    assert again.tables[0].rows == quick.tables[0].rows
    for key, value in quick.arrays.items():
        np.testing.assert_array_equal(again.arrays[key], value, err_msg=key)
