"""One matplotlib style for every figure in quartet."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # figures are files; never require a display

import matplotlib.pyplot as plt  # noqa: E402

PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf"]

STYLE = {
    "figure.figsize": (6.4, 4.0),
    "figure.dpi": 100,
    "savefig.dpi": 120,
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "legend.frameon": False,
    "legend.fontsize": 9,
    "lines.linewidth": 1.8,
    "axes.prop_cycle": matplotlib.cycler(color=PALETTE),
}


def apply_style() -> None:
    plt.rcParams.update(STYLE)


def new_figure(nrows: int = 1, ncols: int = 1, *, width: float | None = None,
               height: float | None = None, **subplot_kw):
    """``fig, axes = new_figure(1, 2)`` with the project style; size scales with the grid."""
    apply_style()
    w = width if width is not None else 4.8 * ncols + 0.8
    h = height if height is not None else 3.6 * nrows + 0.4
    return plt.subplots(nrows, ncols, figsize=(w, h), **subplot_kw)
