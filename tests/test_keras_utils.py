"""The shared Keras training loop: an ensemble of seeds trains exactly as each seed alone."""
from __future__ import annotations

import numpy as np
import pytest

keras_utils = pytest.importorskip("experiments.keras_utils")


def model_and_optimizer(seed: int):
    keras = keras_utils.keras
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(4, activation="relu"),
                              keras.layers.Dense(1, activation="sigmoid")])
    return model, keras.optimizers.SGD(0.1)


def test_per_network_data_trains_each_network_on_its_own_split():
    keras_utils.make_deterministic(0)
    data = {f"s{s}": keras_utils.circles(n_samples=60, seed=s) for s in (1, 2)}
    together = keras_utils.train({name: model_and_optimizer(7) for name in data}, data,
                                 epochs=3, batch_size=16, seed=0)
    for name, split in data.items():
        alone = keras_utils.train({name: model_and_optimizer(7)}, split, epochs=3, batch_size=16, seed=0)
        for curve, values in alone[name].items():
            np.testing.assert_allclose(together[name][curve], values, rtol=1e-5, err_msg=f"{name} {curve}")
    assert not np.allclose(together["s1"]["train_loss"], together["s2"]["train_loss"])


def test_splits_of_different_sizes_are_refused():
    data = {"a": keras_utils.circles(n_samples=60, seed=1), "b": keras_utils.circles(n_samples=80, seed=1)}
    with pytest.raises(ValueError, match="same training and test sizes"):
        keras_utils.train({name: model_and_optimizer(0) for name in data}, data, epochs=1, batch_size=16, seed=0)
