"""Issue 3's sample-complexity targets, measured with the `gap` experiment's runs.

Target: n=20, k=6, CoT, 2 layers 2 heads, cpu preset: 5 of 5 seeds reach 100% held-out exact match with a
median of at most 25,600 samples; the same model without CoT is not solved within 10x that many samples.

    python benchmarks/cot_parity/bench_targets.py [--seeds 5] [--nocot-seeds 5] [--budget 256000]
        [--cot-budget SAMPLES] [--workers 1]

The CoT budget matters a little: the learning rate decays linearly to 0 over it. A no-CoT seed costs about
170 CPU-s (it always runs the whole 256,000-sample budget); the verdict needs every no-CoT seed unsolved.

Cells are cached in runs/cot_parity/bench_targets_cells (git-ignored; a rerun resumes); the verdict is
written to benchmarks/cot_parity/results/targets-cot<BUDGET>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

from quartet.cot_parity.experiments import GapConfig, gap  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--nocot-seeds", type=int, default=5)
    ap.add_argument("--budget", type=int, default=256_000, help="samples, for both arms")
    ap.add_argument("--cot-budget", type=int, default=None, help="samples for the CoT arm (default: --budget)")
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args()
    out = Path(__file__).parent / "results"
    cfg = GapConfig(seeds=tuple(range(args.seeds)), cot_budget=args.cot_budget or args.budget,
                    nocot_seeds=tuple(range(args.nocot_seeds)), nocot_budget=args.budget)
    cells = Path(__file__).resolve().parents[2] / "runs" / "cot_parity" / "bench_targets_cells"
    res = gap(cfg, cells, workers=args.workers)
    cot = [r["samples_to_solve"] for r in res.cot]
    median = statistics.median(cot) if all(c is not None for c in cot) else None
    nocot_limit = 10 * median if median is not None else None
    nocot = [{"seed": r["config"]["seed"], "solved": r["solved"], "samples_seen": r["samples_seen"],
              "final_exact_match": r["final_exact_match"]} for r in res.nocot]
    verdict = {
        "cot_budget": cfg.cot_budget,
        "cot_samples_to_solve": cot,
        "cot_cpu_seconds": [round(r["cpu_seconds"], 1) for r in res.cot],
        "cot_solved": f"{res.cot_solved}/{len(res.cot)}",
        "cot_median": median,
        "cot_target_met": res.cot_solved == len(res.cot) and median is not None and median <= 25_600,
        "nocot": nocot,
        "nocot_budget_vs_10x_median": [args.budget, nocot_limit],
        "nocot_target_met": all(not r["solved"] for r in res.nocot) and (
            nocot_limit is not None and args.budget >= nocot_limit),
    }
    out.mkdir(exist_ok=True)
    (out / f"targets-cot{cfg.cot_budget}.json").write_text(json.dumps(verdict, indent=2))
    print(json.dumps(verdict, indent=2))


if __name__ == "__main__":
    main()
