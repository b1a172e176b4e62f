"""Figures from experiment results (never recomputing them)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from quartet.common.plotting import PALETTE, new_figure

__all__ = ["tolerance_figure", "compression_figure", "diagnostics_figure", "save", "FIGURES", "CAPTIONS"]

_GATE_STYLE = {"always": (PALETTE[1], "o", "always on"), "delayed": (PALETTE[3], "s", "DSR (delayed)"),
               "coherent": (PALETTE[0], "^", "GCSR-dir (coherent)"), "norm-history": (PALETTE[4], "v", "norm-history"),
               "dominance": (PALETTE[5], "D", "dominance"), "never": (PALETTE[7], "x", "never")}


def tolerance_figure(result: Any):
    """Test accuracy against lam, one panel per penalty, one line per gate; hollow markers = collapsed."""
    kinds = [k for k in ("l1", "l2") if any(r["reg"] == k for r in result.rows)]
    fig, axes = new_figure(1, len(kinds), squeeze=False)
    base = next((r for r in result.rows if r["reg"] == "none"), None)
    for ax, kind in zip(axes[0], kinds):
        for gate in dict.fromkeys(r["gate"] for r in result.rows if r["reg"] == kind):
            rows = sorted((r for r in result.rows if r["reg"] == kind and r["gate"] == gate), key=lambda r: r["lam"])
            color, marker, label = _GATE_STYLE.get(gate, (PALETTE[6], ".", gate))
            lam = np.array([r["lam"] for r in rows])
            acc = np.array([100 * r["accuracy"] for r in rows])
            sd = np.array([100 * r["accuracy_sd"] for r in rows])
            ax.errorbar(lam, acc, yerr=sd, color=color, marker=marker, label=label, capsize=2)
            dead = np.array([r["collapsed_fraction"] >= 0.5 for r in rows])
            if dead.any():
                ax.scatter(lam[dead], acc[dead], s=90, facecolors="none", edgecolors="k", zorder=5)
        if base is not None:
            ax.axhline(100 * base["accuracy"], color="0.4", ls="--", lw=1, label="unregularized")
        ax.axhline(10, color="0.7", ls=":", lw=1)
        ax.set_xscale("log")
        ax.set_xlabel(f"{kind.upper()} strength lam")
        ax.set_ylabel("test accuracy (%)")
        ax.set_ylim(0, 100)
        ax.set_title(f"{kind.upper()}: tolerance level (circled = collapsed)")
        ax.legend(loc="lower left")
    fig.tight_layout()
    return fig


def compression_figure(result: Any):
    """Test accuracy against compression rate (#weights / #kept) per setting; collapsed runs at the bottom."""
    fig, axes = new_figure(1, 1, width=6.4)
    ax = axes
    for r in result.rows:
        color, marker, _ = _GATE_STYLE.get(r["gate"], (PALETTE[7], "*", r["gate"]))
        comp = r["compression"] if r["compression"] is not None else np.nan
        x = comp if np.isfinite(comp) else 1.0
        collapsed = r["collapsed_fraction"] >= 0.5
        ax.scatter([x], [100 * r["accuracy"]], marker=marker, s=60, zorder=3, linewidths=1.5,
                   facecolors="none" if collapsed else color, edgecolors=color,
                   label=r["label"] + (" (collapsed)" if collapsed else ""))
    ax.set_xscale("log")
    ax.set_xlabel("compression (#weights / #|w| >= 1e-3); collapsed runs drawn at 1x")
    ax.set_ylabel("test accuracy (%)")
    ax.set_ylim(0, 100)
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title("accuracy vs compression")
    fig.tight_layout()
    return fig


def diagnostics_figure(result: Any):
    """Failure analysis: first-layer mean|g_L|, penalty/loss gradient ratio, accuracy, penalty-on share."""
    fig, axes = new_figure(2, 2, height=8.0)
    (a, b), (c, d) = axes
    for i, h in enumerate(result.extra["histories"]):
        hist = h["history"]
        ep = [x["epoch"] for x in hist]
        color = PALETTE[i % len(PALETTE)]
        a.plot(ep, [max(x["mean_abs_loss_grad"][0], 1e-12) for x in hist], color=color, label=h["label"])
        ratio = [x["penalty_loss_ratio"] for x in hist]
        if any(np.isfinite(r) and r > 0 for r in ratio):
            b.plot(ep, [r if np.isfinite(r) and r > 0 else np.nan for r in ratio], color=color, label=h["label"])
        c.plot(ep, [100 * x["test_accuracy"] for x in hist], color=color, label=h["label"])
        d.plot(ep, [x["on_fraction"] for x in hist], color=color, label=h["label"])
    first = result.extra["histories"][0]["layer_names"][0] if result.extra["histories"] else "layer 1"
    a.set_yscale("log")
    a.set_title(f"mean |dL/dW| of the first layer ({first})")
    b.set_yscale("log")
    b.set_title("||g_R||_1 / ||g_L||_1 (penalty vs loss gradient)")
    c.set_title("test accuracy (%)")
    c.set_ylim(0, 100)
    d.set_title("share of steps with the penalty on")
    d.set_ylim(-0.05, 1.05)
    for ax in (a, b, c, d):
        ax.set_xlabel("epoch")
    c.legend(fontsize=7, loc="lower right")
    fig.tight_layout(h_pad=2.0)
    return fig


def save(fig, path: str | Path) -> Path:
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path


FIGURES = {"tolerance": tolerance_figure, "compression": compression_figure, "diagnostics": diagnostics_figure}
CAPTIONS = {
    "tolerance": "Test accuracy against the penalty strength for always-on, delayed (DSR) and gradient-coherent "
                 "gating ({setup}); circled points collapsed to the absorbing state W=0.",
    "compression": "Accuracy against compression: unregularized, always-on at a safe and a strong lam, and the "
                   "gates at the strong lam ({setup}).",
    "diagnostics": "Why strong regularization fails: the first layer's loss gradient vanishes under always-on "
                   "L1 while the penalty-to-loss ratio explodes; the gates hold the penalty back until the loss "
                   "gradient has grown ({setup}).",
}
