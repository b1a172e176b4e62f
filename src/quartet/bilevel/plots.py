"""Figures from experiment results (never recomputing them)."""

from __future__ import annotations

from typing import Any, Iterator

import numpy as np

from quartet.common.plotting import PALETTE, new_figure

__all__ = ["comparison_figure", "hardness_figure", "rates_figure", "figures_for"]


def _color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def comparison_figure(res):
    """f - f* and g - g* (absolute, log scale, as the paper) against time and against gradient calls;
    raw f and g when there is no reference."""
    ref = res.f_star is not None and res.g_star is not None
    fig, axes = new_figure(2, 2, width=11, height=7.5)
    for i, (method, run) in enumerate(res.runs.items()):
        h = run["history"]
        f = np.asarray(h["f"]) - (res.f_star if ref else 0.0)
        g = np.asarray(h["g"]) - (res.g_star if ref else 0.0)
        if ref:
            f, g = np.maximum(np.abs(f), 1e-16), np.maximum(g, 1e-16)
        for row, x_key in enumerate(("time_s", "grad_calls")):
            x = np.maximum(np.asarray(h[x_key], dtype=float), 1e-4 if x_key == "time_s" else 1.0)
            axes[row, 0].plot(x, f, label=method, color=_color(i), lw=1.4)
            axes[row, 1].plot(x, g, label=method, color=_color(i), lw=1.4)
    for row, xl in enumerate(("time (s)", "gradient calls (f and g)")):
        for col, yl in enumerate(("|f(x) − f*|" if ref else "f(x)", "g(x) − g*" if ref else "g(x)")):
            ax = axes[row, col]
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel(xl)
            ax.set_ylabel(yl)
            if ref:
                ax.axhline(res.config.eps, color="grey", ls=":", lw=1)
    axes[0, 0].legend(fontsize=7, ncol=2)
    fig.suptitle(f"{res.config.problem}: {res.data_description}, ε = {res.config.eps:g}")
    return fig


def hardness_figure(res: dict[str, Any]):
    fig, axes = new_figure(1, 2, width=11, height=4)
    T = res["T"]
    for ax, key, fstar, title in ((axes[0], "smooth", res["f_star_smooth"], "smooth instance (Thm 4.1)"),
                                  (axes[1], "lipschitz", res["f_star_lipschitz"], "Lipschitz instance (Thm 4.2)")):
        for i, (m, v) in enumerate(res[key].items()):
            ax.plot(np.arange(1, len(v["f"]) + 1), v["f"], label=m, color=_color(i), lw=1.3)
        ax.axhline(fstar, color="k", ls="--", lw=1, label="f*")
        ax.axvline(T, color="grey", ls=":", lw=1, label="T")
        ax.set_xlabel("oracle query")
        ax.set_ylabel("f at the query point (symlog: exact zeros sit on the axis)")
        ax.set_yscale("symlog", linthresh=1e-12)
        ax.set_title(title)
        ax.legend(fontsize=7)
    return fig


def _slope_text(res: dict[str, Any], variant: str) -> str:
    """The fitted slope, and which eps were left out of the fit (runs that hit their budget uncertified)."""
    slope, left_out = res[f"slope_{variant}"], res.get(f"excluded_from_slope_{variant}", [])
    text = "n/a" if slope is None else f"{slope:.2f}"
    return text + (f" (uncertified, not fitted: eps {', '.join(f'{e:g}' for e in left_out)})" if left_out else "")


def rates_figure(res: dict[str, Any]):
    fig, axes = new_figure(1, 2, width=11, height=4)
    sm = res["smooth"]
    eps = np.array([e["eps"] for e in sm])
    axes[0].loglog(eps, [e["grad_calls"] for e in sm], "o-", color=_color(0), label="FC-BiO^sm gradient calls")
    lb = np.array([e["lower_bound"] for e in sm])
    axes[0].loglog(eps, lb, "--", color="grey", label="D·√(L/ε) (lower-bound slope −1/2)")
    axes[0].set_title(f"smooth: fitted slope {_slope_text(res, 'smooth')}")
    lp = res["lipschitz"]
    if lp:
        e2 = np.array([e["eps"] for e in lp])
        c2 = np.array([e["grad_calls"] for e in lp], dtype=float)
        axes[1].loglog(e2, c2, "o-", color=_color(1), label="FC-BiO^Lip gradient calls")
        axes[1].loglog(e2, c2[0] * (e2 / e2[0]) ** -2.0, "--", color="grey", label="slope −2 (lower bound)")
        axes[1].set_title(f"Lipschitz: fitted slope {_slope_text(res, 'lipschitz')}")
    for ax in axes:
        ax.set_xlabel(r"$\varepsilon$ ($\varepsilon_f = \varepsilon_g$)")
        ax.set_ylabel("gradient calls")
        ax.invert_xaxis()
        ax.legend(fontsize=7)
    return fig


def figures_for(name: str, res) -> Iterator[tuple[str, Any, str]]:
    """(file stem, figure, caption) for each figure of experiment ``name``."""
    if name in ("min-norm", "min-norm-colinear", "logistic"):
        yield ("convergence", comparison_figure(res),
               f"{name}: gaps (or raw values) against time and gradient calls, every method at an equal time budget "
               f"({res.data_description}; stands in for {res.stands_in_for})."
               + (" x0 is a random unit vector, so f(x0) = f* = 0.5 at the start (the paper's choice)."
                  if name == "min-norm" else ""))
    elif name == "hardness":
        yield ("queries", hardness_figure(res),
               f"Lower-bound instances with T = {res['T']}: f stays 0 at every zero-respecting query up to T "
               "while f* > 0.")
    elif name == "rates":
        yield ("rates", rates_figure(res), "FC-BiO's gradient calls against ε beside the lower-bound slopes.")
