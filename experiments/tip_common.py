"""Helpers for the §7 tip subsections (tip_*.py): read the runs §7 trained, summarise seeds, plot for print.

Not a section. Imports no TensorFlow: the training ran once, in experiments/summary.py. Every
curve arrives with one column per seed; figures are drawn at their printed size (≤ 6.5 in wide,
text ≥ 8 pt) and read in black and white (line styles and markers besides colour, the spread of
the seeds as a grey band).
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import NullFormatter
from scipy import stats

from report.model import Context, Listing

WIDTH_IN = 6.4  # the handout's text block is 6.6 in wide
FONT = 8.5  # points, printed at this size
# (colour, line style, marker): distinguishable in greyscale by style and marker alone
STYLES = [("C0", "-", "o"), ("C3", "--", "s"), ("C2", ":", "^"), ("C1", "-.", "D"),
          ("C4", (0, (5, 1)), "v"), ("C5", (0, (1, 1)), "P"), ("k", (0, (3, 1, 1, 1, 1, 1)), "x")]


def runs_of(ctx: Context, group: str) -> dict[str, dict[str, np.ndarray]]:
    """{run name: {curve name: array}} for one group of runs handed over by §7; the last axis is the seed."""
    runs: dict[str, dict[str, np.ndarray]] = {}
    for key, value in ctx.inputs["summary"].arrays.items():
        g, name, curve = key.split("/")
        if g == group:
            runs.setdefault(name, {})[curve] = np.asarray(value)
    if not runs:
        raise KeyError(f"§7 handed over no runs for group {group!r}")
    return runs


def listings_of(ctx: Context, *names: str) -> list[Listing]:
    """Listings of code that ran in §7's training (experiments/ensemble.py), shown where the tip explains it."""
    listings = {item.name: item for item in ctx.inputs["summary"].listings}
    return [listings[name] for name in names]


def seeds_of(ctx: Context) -> int:
    return int(ctx.inputs["summary"].metrics["n_seeds"])


def spread(prefix: str, values: np.ndarray) -> dict[str, float]:
    """Mean, smallest and largest value over the seeds: {prefix_mean, prefix_min, prefix_max}."""
    values = np.asarray(values, dtype=float)
    return {f"{prefix}_mean": float(values.mean()), f"{prefix}_min": float(values.min()),
            f"{prefix}_max": float(values.max())}


def paired_difference(prefix: str, diff: np.ndarray) -> dict[str, float]:
    """Per-seed differences: their mean and the half-width of its 95 % t-interval across seeds."""
    diff = np.asarray(diff, dtype=float)
    se = float(diff.std(ddof=1) / np.sqrt(len(diff)))
    half = float(stats.t.ppf(0.975, len(diff) - 1)) * se
    return {f"{prefix}_points": float(diff.mean()), f"{prefix}_half": half}


def count(ok: np.ndarray) -> int:
    """In how many seeds a comparison held."""
    return int(np.sum(ok))


def figure(rows: int = 1, cols: int = 2, height: float = 2.7):
    fig, axes = plt.subplots(rows, cols, figsize=(WIDTH_IN, height), squeeze=False)
    return fig, axes.ravel()


def style_axes(ax, xlabel: str, ylabel: str, title: str, log: bool = False) -> None:
    ax.set_xlabel(xlabel, fontsize=FONT)
    ax.set_ylabel(ylabel, fontsize=FONT)
    ax.set_title(title, fontsize=FONT + 0.5)
    ax.tick_params(labelsize=FONT)
    if log:
        ax.set_yscale("log")
        ax.yaxis.set_minor_formatter(NullFormatter())  # only powers of ten: minor labels crowd in print
    ax.grid(True, alpha=0.3, which="major")


def legend(ax, **kwargs) -> None:
    ax.legend(fontsize=FONT, handlelength=2.6, **kwargs)


def band(ax, x: np.ndarray, values: np.ndarray, label: str, k: int, markers: int = 6) -> None:
    """Median of the seeds as a styled line; the range from the smallest to the largest seed as a light band
    whose edges are drawn in the curve's own line style, so that overlapping bands stay apart in greyscale."""
    colour, line, marker = STYLES[k % len(STYLES)]
    low, high = values.min(axis=-1), values.max(axis=-1)
    ax.fill_between(x, low, high, color=colour, alpha=0.12, linewidth=0)
    for edge in (low, high):
        ax.plot(x, edge, color=colour, linestyle=line, linewidth=0.6, alpha=0.8)
    ax.plot(x, np.median(values, axis=-1), color=colour, linestyle=line, marker=marker, markersize=4,
            markevery=max(1, len(x) // markers), label=label)


def per_layer(ax, values: np.ndarray, label: str, k: int) -> None:
    """One value per layer (rows) and seed (columns): the mean over seeds, with the seeds' range as error bars."""
    colour, line, marker = STYLES[k % len(STYLES)]
    layers = np.arange(1, values.shape[0] + 1)
    mean = np.exp(np.log(values).mean(axis=1))  # geometric mean: the values span orders of magnitude
    ax.errorbar(layers, mean, yerr=[mean - values.min(axis=1), values.max(axis=1) - mean], color=colour,
                linestyle=line, marker=marker, markersize=4, capsize=2, label=label)
    ax.set_xticks(layers)


def layers_and_training(runs, labels: dict[str, str], key: str, left_labels: tuple[str, str, str],
                        right_labels: tuple[str, str], legend_loc: str | None = None):
    """The figure of 7.1, 7.2 and 7.4: a quantity per layer before training (left, log scale)
    and the training loss over the steps with its spread over seeds (right)."""
    fig, (left, right) = figure()
    for k, (name, label) in enumerate(labels.items()):
        per_layer(left, runs[name][key], label, k)
        loss = runs[name]["step_loss"]
        band(right, np.arange(1, len(loss) + 1), loss, label, k)
    style_axes(left, *left_labels, log=True)
    style_axes(right, "训练步", *right_labels)
    for ax in (left, right):
        legend(ax, **({"loc": legend_loc} if legend_loc else {}))
    fig.tight_layout()
    return fig
