"""Step time of a training loop with each gate against a plain PyTorch loop with the same model.

One step = zero_grad, forward, backward, [reg.step()], optimizer.step(). Two plain PyTorch loops are the
references: ``plain`` (no penalty) and ``plain+l1`` (the usual way to add L1 without this library:
``loss + lam * sum|W|`` through autograd, on the same weight tensors and lam). Both and every gated loop run
interleaved in rounds on the same model, data and thread, so machine load hits them alike; the reported numbers
are ratios of median step times (gated / plain and gated / plain+l1). Target: gate overhead <= 10% of step time.

A second measurement times ``reg.step()`` alone (mean per round of ``steps`` calls on the same loss gradients,
median over rounds) as a share of the plain median step: the regularizer's cost without the load noise of whole
steps. ``gate cost`` is a gate's ``reg.step()`` minus that of ``always`` (which computes and adds the same penalty
and decides nothing): what the decision itself costs, as a share of the plain step.

    python benchmarks/strong_reg/bench_gate_overhead.py [--rounds 7] [--steps 30] [--models vgg,mlp6,mlp2]
        [--check-every 4]

``--check-every k`` adds a variant ``GATE/k`` per statistics-reading gate that decides every k-th step and
holds the decision in between (``StrongRegularizer(check_every=k)``); 1 adds none.

Results print as a table and go to benchmarks/results/strong_reg_gate_overhead.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from quartet.strong_reg.gates import make_gate
from quartet.strong_reg.models import build_model
from quartet.strong_reg.regularizer import StrongRegularizer

GATES = ("always", "delayed", "coherent", "norm-history", "dominance")
MODELS = {  # name -> (model, input shape, depth, batch)
    "vgg": ("vgg", (1, 8, 8), 2, 64),          # the reference digits CNN
    "vgg28": ("vgg", (1, 28, 28), 2, 64),      # the same CNN at Fashion-MNIST size
    "mlp6": ("mlp", (1, 8, 8), 6, 64),         # deep MLP: many weights, little compute per weight
    "mlp2": ("mlp", (1, 8, 8), 2, 64),
}


def _time_steps(model, opt, reg, x, y, steps: int, l1_in_loss: tuple[list, float] | None = None) -> list[float]:
    """Whole training steps; ``l1_in_loss = (weights, lam)`` adds ``lam * sum|W|`` to the loss (plain+l1)."""
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        if l1_in_loss is not None:
            weights, lam = l1_in_loss
            loss = loss + lam * sum(w.abs().sum() for w in weights)
        loss.backward()
        if reg is not None:
            reg.step()
        opt.step()
        times.append(time.perf_counter() - t0)
    return times


def bench_model(key: str, rounds: int, steps: int, check_every: int = 1) -> list[dict]:
    name, shape, depth, batch = MODELS[key]
    torch.manual_seed(0)
    model = build_model(name, shape, 10, depth=depth)
    x, y = torch.randn(batch, *shape), torch.randint(0, 10, (batch,))
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)  # tiny lr: weights stay comparable
    lam = 1e-4
    variants: dict[str, StrongRegularizer | None] = {"plain": None, "plain+l1": None}
    for g in GATES:
        # the library default: only the statistics the gate itself reads
        variants[g] = StrongRegularizer(model, "l1", lam, make_gate(g, gamma=0, warmup=0))
    variants["coherent+diagnostics"] = StrongRegularizer(model, "l1", lam, make_gate("coherent"), track_stats=True)
    l1_in_loss = (variants["always"].params, lam)  # the same weight tensors the regularizer penalizes
    if check_every > 1:
        for g in GATES:
            gate = make_gate(g, gamma=0, warmup=0)
            if gate.needs_stats:  # the others decide every step regardless
                variants[f"{g}/{check_every}"] = StrongRegularizer(model, "l1", lam, gate, check_every=check_every)
    samples: dict[str, list[float]] = {k: [] for k in variants}
    _time_steps(model, opt, None, x, y, 5)  # warm-up
    for _ in range(rounds):
        for k, reg in variants.items():
            samples[k] += _time_steps(model, opt, reg, x, y, steps, l1_in_loss if k == "plain+l1" else None)
    # the regularizer's own work, timed alone in tight loops on one set of loss gradients: far less exposed to
    # load from other processes than whole steps, whose medians swing by tens of percent on a shared machine
    opt.zero_grad(set_to_none=True)
    F.cross_entropy(model(x), y).backward()
    loss_grads = [p.grad.clone() for p in model.parameters()]
    grads = [p.grad for p in model.parameters()]
    reg_samples: dict[str, list[float]] = {k: [] for k, reg in variants.items() if reg is not None}
    for _ in range(rounds):
        for k in reg_samples:
            spent = 0.0
            for _ in range(steps):
                torch._foreach_copy_(grads, loss_grads)  # untimed: earlier penalties must not pile up in .grad
                t0 = time.perf_counter()
                variants[k].step()
                spent += time.perf_counter() - t0
            # the mean over a round, not a median over calls: with check_every=k only every k-th call
            # computes statistics, and the cost that matters is the amortized one
            reg_samples[k].append(spent / steps)
    plain, plain_l1 = statistics.median(samples["plain"]), statistics.median(samples["plain+l1"])
    always_reg = statistics.median(reg_samples["always"])
    rows = []
    for k, s in samples.items():
        med = statistics.median(s)
        reg_med = statistics.median(reg_samples[k]) if k in reg_samples else 0.0
        rows.append({"model": key, "variant": k, "median_step_ms": 1e3 * med, "min_step_ms": 1e3 * min(s),
                     "ratio_to_plain": med / plain, "overhead_pct": 100 * (med / plain - 1),
                     "ratio_to_plain_l1": med / plain_l1,
                     "reg_step_us": 1e6 * reg_med, "reg_step_pct_of_plain": 100 * reg_med / plain,
                     "gate_cost_pct_of_plain": 100 * (reg_med - always_reg) / plain if k in reg_samples else 0.0})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--models", default="vgg,mlp6,mlp2")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--check-every", type=int, default=1,
                    help="also time the statistics-reading gates deciding every k-th step (1: not)")
    ap.add_argument("--out", default="benchmarks/results/strong_reg_gate_overhead.json")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    rows = []
    for key in args.models.split(","):
        if key not in MODELS:
            raise SystemExit(f"invalid --models entry {key!r}: must be one of {', '.join(MODELS)}")
        rows += bench_model(key, args.rounds, args.steps, args.check_every)
    print(f"{'model':7s} {'variant':22s} {'median ms':>10s} {'min ms':>8s} {'/plain':>7s} {'/plain+l1':>9s} "
          f"{'reg.step us':>12s} {'% of plain':>10s} {'gate cost':>10s}")
    for r in rows:
        print(f"{r['model']:7s} {r['variant']:22s} {r['median_step_ms']:10.3f} {r['min_step_ms']:8.3f} "
              f"{r['ratio_to_plain']:7.3f} {r['ratio_to_plain_l1']:9.3f} {r['reg_step_us']:12.1f} "
              f"{r['reg_step_pct_of_plain']:9.1f}% {r['gate_cost_pct_of_plain']:9.1f}%")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"args": vars(args), "torch": torch.__version__, "machine": platform.machine(),
                               "processor": platform.processor(), "rows": rows}, indent=2))
    print(f"saved {out}")


if __name__ == "__main__":
    main()
