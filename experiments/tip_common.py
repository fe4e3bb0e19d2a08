"""Helpers for the §7 tip subsections (tip_*.py): read the curves §7 trained, plot them.

Not a section. Imports no TensorFlow: the training ran once, in experiments/summary.py.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from report.model import Context


def runs_of(ctx: Context, group: str) -> dict[str, dict[str, np.ndarray]]:
    """{run name: {curve name: array}} for one group of runs handed over by §7."""
    runs: dict[str, dict[str, np.ndarray]] = {}
    for key, value in ctx.inputs["summary"].arrays.items():
        g, name, curve = key.split("/")
        if g == group:
            runs.setdefault(name, {})[curve] = np.asarray(value)
    if not runs:
        raise KeyError(f"§7 handed over no runs for group {group!r}")
    return runs


def plot_curves(ax, runs: dict[str, dict[str, np.ndarray]], curve: str, labels: dict[str, str],
                ylabel: str, title: str, log: bool = False, linestyle: str = "-") -> None:
    for i, (name, label) in enumerate(labels.items()):
        y = runs[name][curve]
        ax.plot(np.arange(1, len(y) + 1), y, label=label, color=f"C{i}", linestyle=linestyle)
    ax.set_xlabel("轮次（epoch）")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if log:
        ax.set_yscale("log")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)


def plot_per_layer(ax, runs, key: str, labels: dict[str, str], ylabel: str, title: str) -> None:
    for i, (name, label) in enumerate(labels.items()):
        y = runs[name][key]
        ax.semilogy(np.arange(1, len(y) + 1), y, "o-", label=label, color=f"C{i}", markersize=4)
    ax.set_xlabel("层（从输入到输出）")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, alpha=0.3, which="both")
    ax.legend(fontsize=8)


def final(run: dict[str, np.ndarray], curve: str) -> float:
    return float(run[curve][-1])


def two_panels() -> tuple[plt.Figure, np.ndarray]:
    return plt.subplots(1, 2, figsize=(11, 3.8))
