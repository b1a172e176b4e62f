"""Figures from experiment results (never recomputing them)."""

from __future__ import annotations

import math

import numpy as np
from matplotlib.ticker import NullFormatter

from quartet.common.plotting import PALETTE, new_figure


def _color(tuners: list[str], name: str) -> str:
    return PALETTE[tuners.index(name) % len(PALETTE)]


def _median_curve(curves: list[list[float | None]]) -> np.ndarray:
    n = min(len(c) for c in curves)
    arr = np.array([[math.inf if v is None else v for v in c[:n]] for c in curves], dtype=float)
    return np.median(arr, axis=0)


def _panels_per_size(result):
    """A figure with one panel per compared size: (fig, [(ax, size)]), tuners in config order."""
    sizes = [tuple(f["size"]) for f in result.final]
    fig, axes = new_figure(1, len(sizes), squeeze=False)
    return fig, list(zip(axes[0], sizes))


def _ok_cells(result, size: tuple, tuner: str) -> list[dict]:
    return [c for c in result.cells if tuple(c["size"]) == size and c["tuner"] == tuner and c["status"] == "ok"]


def _finish_panel(ax, size: tuple, xlabel: str) -> None:
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("best time (ms)")
    ax.set_title("x".join(map(str, size)))
    ax.legend(fontsize=8)


def best_time_vs_trials(result):
    """One panel per size: median (over seeds) best time in ms against trials, log scale."""
    tuners = list(result.config.tuners)
    fig, panels = _panels_per_size(result)
    for ax, size in panels:
        for tuner in tuners:
            cells = _ok_cells(result, size, tuner)
            if not cells:
                continue
            curve = _median_curve([c["best_curve"] for c in cells]) * 1e3
            ax.plot(np.arange(1, len(curve) + 1), curve, label=tuner, color=_color(tuners, tuner))
        _finish_panel(ax, size, "trials")
    return fig


def best_time_vs_search_time(result):
    """One panel per size: each run's best time against its cumulative search cost."""
    tuners = list(result.config.tuners)
    fig, panels = _panels_per_size(result)
    for ax, size in panels:
        for tuner in tuners:
            for i, c in enumerate(_ok_cells(result, size, tuner)):
                best = np.array([math.inf if v is None else v for v in c["best_curve"]]) * 1e3
                ax.step(c["search_time"], best, where="post", color=_color(tuners, tuner), alpha=0.8,
                        label=tuner if i == 0 else None)
        _finish_panel(ax, size, "search cost (s)")
    return fig


def gflops_vs_numpy(result):
    """Bars: median re-timed best kernel per tuner as a fraction of numpy's GFLOP/s, per size."""
    table = result.table()
    sizes = list(dict.fromkeys(r["size"] for r in table))
    tuners = list(result.config.tuners)
    fig, ax = new_figure(1, 1, width=max(5.0, 1.2 * len(sizes) * len(tuners) / 3))
    width = 0.8 / max(1, len(tuners))
    for j, tuner in enumerate(tuners):
        vals = [next((r["vs_numpy"] for r in table if r["size"] == s and r["tuner"] == tuner), 0.0) for s in sizes]
        ax.bar(np.arange(len(sizes)) + j * width, vals, width, label=tuner, color=_color(tuners, tuner))
    ax.axhline(1.0, color="black", lw=1, ls="--")
    ax.set_xticks(np.arange(len(sizes)) + width * (len(tuners) - 1) / 2, sizes)
    ax.set_ylabel("GFLOP/s / numpy GFLOP/s")
    ax.legend(fontsize=8, ncol=3)
    return fig


def regret_vs_budget(result):
    """Median regret (t_best / t_opt - 1) against the fraction of the space measured."""
    rows = result.regret_table()
    tuners = list(result.config.tuners)
    fig, ax = new_figure()
    for tuner in tuners:
        pts = [(r["fraction_of_space"] * 100, max(r["median_regret"], 1e-4)) for r in rows if r["tuner"] == tuner]
        if pts:
            x, y = zip(*pts)
            ax.plot(x, np.array(y) * 100, marker="o", label=tuner, color=_color(tuners, tuner))
    ax.axhline(5, color="black", lw=1, ls="--")
    ax.set_xscale("log")
    ax.set_yscale("log")
    fractions = sorted({r["fraction_of_space"] * 100 for r in rows})
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xticks(fractions, [f"{f:.2g}" for f in fractions])
    ax.set_xlabel("measured (% of the space)")
    ax.set_ylabel("median regret (%)")
    ax.set_title(f"{'x'.join(map(str, result.config.size))}, levels {tuple(result.config.levels)}, "
                 f"|S| = {result.space_size}")
    ax.legend(fontsize=8)
    return fig
