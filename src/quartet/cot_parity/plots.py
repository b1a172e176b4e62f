"""Figures from experiment results (never recomputing them). Each function returns a matplotlib figure."""

from __future__ import annotations

import numpy as np
from matplotlib.patches import Rectangle

from quartet.common.plotting import PALETTE, new_figure

COT, NOCOT = PALETTE[0], PALETTE[1]


def _sc_or_budget(run: dict) -> tuple[float, bool]:
    if run["samples_to_solve"] is not None:
        return run["samples_to_solve"], False
    return run["samples_seen"], True


def plot_run(history, title: str):
    """One training run: exact match, answer accuracy, and per-head label-row entropy against samples."""
    h = [r if isinstance(r, dict) else vars(r) for r in history]
    fig, (ax, bx) = new_figure(1, 2, width=11, height=4)
    x = [r["samples"] for r in h]
    ax.plot(x, [r["exact_match"] for r in h], color="black", marker="o", ms=3, label="exact match")
    ax.plot(x, [r["answer_acc"] for r in h], color=PALETTE[2], ls="--", label="answer accuracy")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("training samples")
    ax.set_title(title)
    ax.legend()
    if h:
        i = 0
        for layer in range(len(h[0]["label_row_entropy"])):
            for head in range(len(h[0]["label_row_entropy"][0])):
                c = PALETTE[i % len(PALETTE)]
                bx.plot(x, [r["label_row_entropy"][layer][head] for r in h], color=c, label=f"L{layer + 1}H{head + 1}")
                bx.plot(x, [r["official_min_entropy"][layer][head] for r in h], color=c, ls=":")
                i += 1
        bx.legend(fontsize=7)
    bx.set_xlabel("training samples")
    bx.set_ylabel("normalized entropy")
    bx.set_title("label rows (solid), min over rows (dotted)")
    return fig


def plot_gap(result):
    """Exact match against samples for every run, CoT and no CoT (the Fig. 4 analogue)."""
    fig, (ax, bx) = new_figure(1, 2, width=11, height=4)
    for runs, color, label in ((result.cot, COT, "CoT"), (result.nocot, NOCOT, "no CoT")):
        for i, run in enumerate(runs):
            h = run["history"]
            ax.plot([r["samples"] for r in h], [r["exact_match"] for r in h], color=color, alpha=0.8,
                    label=label if i == 0 else None, marker="o", ms=3)
    ax.set_xlabel("training samples")
    ax.set_ylabel("held-out exact match")
    ax.set_title(f"n={result.config.n}, k={result.config.k}, {result.config.layers}L{result.config.heads}H")
    ax.legend()
    for j, (runs, color, label) in enumerate(((result.cot, COT, "CoT"), (result.nocot, NOCOT, "no CoT"))):
        for i, run in enumerate(runs):
            value, censored = _sc_or_budget(run)
            bx.scatter([j + 0.08 * (i - len(runs) / 2)], [value], color=color, marker="^" if censored else "o",
                       facecolors="none" if censored else color, s=40)
    bx.set_xticks([0, 1], ["CoT", "no CoT"])
    bx.set_yscale("log")
    bx.set_ylabel("samples to 100% (▲ hollow: ≥ budget)")
    bx.set_title("sample complexity per seed")
    return fig


def plot_k_sweep(result):
    """Sample complexity against k, log scale, censored runs as hollow triangles at their budget (Fig. 1a)."""
    fig, ax = new_figure(1, 1, width=6, height=4)
    for layout, color, label in (("official", COT, "CoT"), ("none", NOCOT, "no CoT")):
        pts = [p for p in result.points if p["layout"] == layout]
        ks = sorted({p["k"] for p in pts})
        med = []
        for k in ks:
            vals = [p["samples_to_solve"] if p["samples_to_solve"] is not None else p["budget"] for p in pts if p["k"] == k]
            med.append(np.median(vals))
        ax.plot(ks, med, color=color, label=label)
        for p in pts:
            censored = p["samples_to_solve"] is None
            ax.scatter([p["k"]], [p["budget"] if censored else p["samples_to_solve"]], color=color,
                       marker="^" if censored else "o", facecolors="none" if censored else color, s=30)
    ax.set_yscale("log")
    ax.set_xlabel("k (secret size)")
    ax.set_ylabel("samples to 100% exact match")
    ax.set_title(f"n={result.config.n}, {result.config.layers}L{result.config.heads}H (▲ hollow: ≥ budget)")
    ax.legend()
    return fig


def plot_attention(result):
    """Attention of the CoT query rows of one validation sequence; secret columns outlined (Fig. 3b)."""
    rows, secret, n = result.cot_rows()
    att = np.array(rows)
    fig, ax = new_figure(1, 1, width=max(6, att.shape[1] * 0.3), height=max(2.5, att.shape[0] * 0.35 + 1))
    im = ax.imshow(att, aspect="auto", cmap="Blues", vmin=0, vmax=1)
    ax.grid(False)
    for j, s in enumerate(secret):
        ax.add_patch(Rectangle((s - 0.5, j - 0.5), 1, 1, fill=False, edgecolor=PALETTE[1], lw=2))
    for s in secret:
        ax.axvline(s, color=PALETTE[1], lw=0.5, alpha=0.4)
    ax.set_xlabel(f"key position (0..{n - 1}: input bits, {n}: constant c_0, then the chain)")
    ax.set_ylabel("CoT step j (query row n+j-1)")
    ax.set_yticks(range(len(secret)), [f"{j + 1}" for j in range(len(secret))])
    ax.set_title(f"1L1H CoT attention, secret {list(secret)} outlined in red")
    fig.colorbar(im, ax=ax, fraction=0.03)
    return fig


def plot_entropy_trace(result):
    """Per-head official min-entropy (solid) and label-row entropy (dotted) with exact match (black)."""
    fig, axes = new_figure(1, 2, width=11, height=4)
    for ax, run, title in ((axes[0], result.cot, f"CoT, k={result.config.cot_k}"),
                           (axes[1], result.nocot, f"no CoT, k={result.config.nocot_k}")):
        h = run["history"]
        x = [r["samples"] for r in h]
        L = len(h[0]["official_min_entropy"])
        H = len(h[0]["official_min_entropy"][0])
        i = 0
        for layer in range(L):
            for head in range(H):
                c = PALETTE[i % len(PALETTE)]
                ax.plot(x, [r["official_min_entropy"][layer][head] for r in h], color=c, label=f"L{layer + 1}H{head + 1}")
                ax.plot(x, [r["label_row_entropy"][layer][head] for r in h], color=c, ls=":")
                i += 1
        ax.plot(x, [r["exact_match"] for r in h], color="black", lw=2, label="exact match")
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel("training samples")
        ax.set_title(f"{title} (solid: min-entropy, dotted: label rows)")
    axes[0].set_ylabel("normalized entropy / exact match")
    axes[0].legend(fontsize=7)
    return fig


def plot_llm_sparsity(result):
    """Layer-wise mean over heads of each statistic, CoT against no CoT (head identity kept, not sorted)."""
    stats = ("min", "min_matched", "min_last_m", "mean")
    fig, axes = new_figure(1, len(stats), width=14, height=3.6)
    for ax, s in zip(np.atleast_1d(axes), stats):
        cot, nocot = np.array(result.cot[s]), np.array(result.nocot[s])
        layers = np.arange(1, cot.shape[0] + 1)
        ax.plot(layers, cot.mean(axis=1), color=COT, label="CoT")
        ax.plot(layers, nocot.mean(axis=1), color=NOCOT, label="no CoT")
        ax.set_title(f"{s}: {100 * result.frac_heads_cot_lower[s]:.0f}% heads CoT lower", fontsize=9)
        ax.set_xlabel("layer")
    np.atleast_1d(axes)[0].set_ylabel("normalized entropy (mean over heads)")
    np.atleast_1d(axes)[0].legend()
    return fig


def sorted_panel_layers(n_layers: int, panels: int = 4) -> list[int]:
    """Layer indices (0-based) for the sorted panels: first, last and evenly spaced between them, as the
    paper's Fig. 6 shows layers 1, 11, 21 and 28 of Qwen2-7B's 28."""
    if isinstance(panels, bool) or not isinstance(panels, int) or panels < 1:
        raise ValueError(f"invalid panels={panels!r}: must be an integer >= 1")
    if panels >= n_layers:
        return list(range(n_layers))
    if panels == 1:
        return [n_layers - 1]
    return sorted({round(i * (n_layers - 1) / (panels - 1)) for i in range(panels)})


def plot_llm_sorted_heads(result, layers: list[int] | None = None, stats: tuple[str, ...] = ("min", "min_matched")):
    """The paper's Figs. 6/7 presentation: per layer, each condition's heads sorted by value (the x-axis is a
    rank, not a head identity, so CoT and no-CoT points at one rank may be different heads). One row per
    statistic: the paper's min and, by default, the length-matched min beside it. ``layers``: 0-based layer
    indices (default: four, first to last); all layers give the Fig. 7 view."""
    if not stats or any(s not in result.cot for s in stats):
        raise ValueError(f"invalid stats={stats!r}: must be a non-empty subset of {', '.join(result.cot)}")
    n_layers = len(result.cot[stats[0]])
    layers = sorted_panel_layers(n_layers) if layers is None else list(layers)
    if not layers or any(not 0 <= layer < n_layers for layer in layers):
        raise ValueError(f"invalid layers={layers!r}: must be a non-empty list of layer indices in [0, {n_layers})")
    fig, axes = new_figure(len(stats), len(layers), width=3.2 * len(layers), height=3.3 * len(stats), squeeze=False)
    for row, stat in enumerate(stats):
        for col, layer in enumerate(layers):
            ax = axes[row][col]
            cot, nocot = np.sort(result.cot[stat][layer]), np.sort(result.nocot[stat][layer])
            ranks = np.arange(1, len(cot) + 1)
            ax.plot(ranks, cot, color=COT, marker="o", ms=3, label="CoT")
            ax.plot(ranks, nocot, color=NOCOT, marker="s", ms=3, label="no CoT")
            ax.set_title(f"layer {layer + 1}: {stat}", fontsize=9)
            if row == len(stats) - 1:
                ax.set_xlabel("head rank (sorted per condition)")
        axes[row][0].set_ylabel("normalized entropy")
    axes[0][0].legend(fontsize=7)
    return fig


def figures_for(name: str, result, config=None) -> list[tuple[str, object, str]]:
    """(file stem, figure, caption) for an experiment's result; ``config`` (the experiment's config) switches
    optional figures on, e.g. ``LLMConfig.sorted_heads``."""
    if name == "gap":
        c = result.config
        return [("gap", plot_gap(result), f"n={c.n}, k={c.k}, {c.layers}L{c.heads}H, cpu preset: held-out exact "
                 "match during training and samples to 100% per seed, CoT against no CoT (Fig. 4 analogue).")]
    if name == "k-sweep":
        return [("k_sweep", plot_k_sweep(result), "Samples to 100% exact match against k, best over the lr grid "
                 "(Fig. 1a analogue); hollow triangles are runs that hit the budget.")]
    if name == "attention":
        return [("attention", plot_attention(result), "Attention of the CoT query rows of a 1-layer 1-head model "
                 "on one validation sequence; red boxes mark each step's secret bit (Fig. 3b analogue).")]
    if name == "entropy-trace":
        return [("entropy_trace", plot_entropy_trace(result), "Per-head normalized attention entropy (the "
                 "paper's min over rows, and the mean over supervised rows) against exact match during "
                 "training (Fig. 1b analogue).")]
    if name == "llm-sparsity":
        out = [("llm_sparsity", plot_llm_sparsity(result), f"{result.model} on {result.n_problems} GSM8K "
                "problems: normalized attention entropy of answer rows, CoT against no CoT, by the paper's min "
                "and by length-matched statistics, layer means with head identity kept (Fig. 6 analogue).")]
        if config is not None and getattr(config, "sorted_heads", False):
            out.append(("llm_sparsity_sorted", plot_llm_sorted_heads(result), f"{result.model} on "
                        f"{result.n_problems} GSM8K problems, the paper's Fig. 6 presentation: the heads of each "
                        "shown layer sorted by value separately per condition; top the paper's min, bottom the "
                        "min over a same-length random subset of the CoT rows."))
        return out
    raise ValueError(f"invalid experiment={name!r}")
