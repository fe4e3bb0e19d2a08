"""§7.1–7.5: each practical tip plots the runs §7 handed over and quotes measured numbers."""
from __future__ import annotations

import importlib
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from report.model import Context, validate

TIPS = {"tip_relu": ["relu"], "tip_batchnorm": ["batchnorm"], "tip_dropout": ["dropout"],
        "tip_init": ["init", "adam_small"], "tip_optimizer": ["optimizers"]}
TEMPLATED = ["summary", *TIPS]
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def summary_result(cjk_figures):
    summary = pytest.importorskip("experiments.summary")
    return summary.run(Context(quick=True))


@pytest.fixture(scope="module")
def tip_results(summary_result):
    return {name: validate(importlib.import_module(f"experiments.{name}").run(
        Context(quick=True, inputs={"summary": summary_result})), name) for name in TIPS}


@pytest.mark.parametrize("name", TIPS)
def test_tip_declares_its_figure_and_numbers(name, tip_results):
    result = tip_results[name]
    assert [f.name for f in result.figures] == TIPS[name]
    assert result.metrics
    for key, value in result.metrics.items():
        assert isinstance(value, str) or math.isfinite(value), key


@pytest.mark.parametrize("name", TIPS)
def test_tip_is_a_subsection_of_7_using_summary(name):
    from report.discover import read_experiment
    experiment = read_experiment(ROOT / "experiments" / f"{name}.py")
    assert experiment.order[0] == 7 and len(experiment.order) == 2
    assert experiment.uses == ("summary",)


def test_tips_are_numbered_1_to_5():
    from report.discover import read_experiment
    orders = sorted(read_experiment(ROOT / "experiments" / f"{n}.py").order for n in TIPS)
    assert orders == [(7, k) for k in range(1, 6)]


def test_tips_do_not_import_tensorflow():
    """The training ran in §7; a tip's own worker must not pay TensorFlow's import again."""
    code = ("import sys; import " + ", ".join(f"experiments.{n}" for n in TIPS)
            + "; print('tensorflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_dropout_gap_is_train_minus_test(summary_result, tip_results):
    m = tip_results["tip_dropout"].metrics
    for name in ("plain", "dropout"):
        train = summary_result.arrays[f"drop/{name}/train_accuracy"][-1]
        test = summary_result.arrays[f"drop/{name}/test_accuracy"][-1]
        assert m[f"{name}_gap_points_mean"] == pytest.approx(100 * (train - test).mean())
        assert m[f"{name}_gap_points_max"] == pytest.approx(100 * (train - test).max())


def test_dropout_expectation_check():
    from experiments.tip_dropout import check_expectation
    error, unscaled = check_expectation(p=0.5, n_masks=4000)
    assert error < 0.1 and unscaled == pytest.approx(0.5, abs=0.05)


def test_relu_tip_quotes_the_handed_over_gradients(summary_result, tip_results):
    m = tip_results["tip_relu"].metrics
    grads = summary_result.arrays["deep/sigmoid/grad_norms"]
    hidden = grads.shape[0] - 1  # the last row is the output layer: §4's r leaves it out
    assert m["sigmoid_grad_first"] == pytest.approx(np.exp(np.log(grads[0]).mean()))  # geometric mean
    assert m["sigmoid_r_min"] == pytest.approx((grads[0] / grads[hidden - 1]).min())
    assert m["sigmoid_r"] == pytest.approx(np.exp(np.log(grads[0] / grads[hidden - 1]).mean()))


def test_paired_difference_interval():
    from experiments.tip_common import paired_difference
    d = paired_difference("x", np.array([1.0, 2.0, 3.0]))
    assert d["x_points"] == pytest.approx(2.0)
    assert d["x_half"] == pytest.approx(4.302653 * 1.0 / np.sqrt(3), rel=1e-5)  # t(0.975, 2) · s/√n


def test_plateau_exit_is_the_first_step_below_the_threshold():
    from experiments.tip_init import plateau_exit
    loss = np.array([[0.69, 0.69], [0.69, 0.5], [0.3, 0.2]])
    assert plateau_exit(loss, 0.6).tolist() == [3, 2]
    assert plateau_exit(loss, 0.1).tolist() == [0, 0]


def test_optimizer_learning_rate_is_chosen_on_validation(summary_result, tip_results):
    m = tip_results["tip_optimizer"].metrics
    for name in ("sgd", "momentum", "adam"):
        val = {lr: summary_result.arrays[f"opt/{name}_{lr:g}/val_loss"][-1].mean() for lr in (0.001, 0.01, 0.1)}
        assert m[f"{name}_chosen_lr"] == min(val, key=val.get)


def test_first_epoch_reaching_counts_from_one():
    from experiments.tip_optimizer import first_epoch_reaching
    acc = np.array([[0.5, 0.96], [0.97, 0.99]])
    assert first_epoch_reaching(acc, 0.95).tolist() == [2, 1]


@pytest.mark.parametrize("name", TEMPLATED)
def test_templates_quote_only_existing_metrics(name, tip_results, summary_result):
    """Every {{ m.key }} in a template is a metric the experiment returns (also in quick mode)."""
    metrics = tip_results[name].metrics if name in TIPS else summary_result.metrics
    text = (ROOT / "templates" / "sections" / f"{name}.html").read_text(encoding="utf-8")
    quoted = set(re.findall(r"(?<![\w.])m\.(\w+)", text))
    assert quoted and quoted <= set(metrics), quoted - set(metrics)
    for key in re.findall(r"sections\.summary\.m\.(\w+)", text):
        assert key in summary_result.metrics, key
