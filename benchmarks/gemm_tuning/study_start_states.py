"""Which start state, rho and round size let G-BFS and N-A2C reach 5% regret within 1% of a replayed space.

Replays an exhaustively recorded table from the tuning database (no new measurement) and prints, per
tuner setting, the median regret over seeds at several budgets and the first budget whose median regret
is <= 5%. This is the study behind the defaults ``init="random", n_init=5`` (see ``Tuner._start_states``).

    python benchmarks/gemm_tuning/study_start_states.py --seeds 30
    python benchmarks/gemm_tuning/study_start_states.py --seeds 30 --first-seed 1000   # held-out seeds

Results are printed and saved to benchmarks/results/gemm_tuning/.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

import numpy as np  # noqa: E402

from quartet.gemm_tuning.database import ReplayMeasurer, TuningDatabase  # noqa: E402
from quartet.gemm_tuning.experiments import make_tuner  # noqa: E402
from quartet.gemm_tuning.space import TilingSpace  # noqa: E402
from quartet.gemm_tuning.tuner import tune  # noqa: E402

# (tuner, options): NNI's start, one random start, the best of k measured random starts, rho, round size
SETTINGS = [
    ("gbfs", {"init": "outer"}),
    ("gbfs", {"init": "random", "n_init": 1}),
    ("gbfs", {"init": "random", "n_init": 3}),
    ("gbfs", {"init": "random", "n_init": 5}),  # default
    ("gbfs", {"init": "random", "n_init": 8}),
    ("gbfs", {"init": "random", "n_init": 5, "rho": 3}),
    ("gbfs", {"init": "random", "n_init": 5, "rho": 0.5}),
    ("gbfs", {"init": "random", "n_init": 5, "restart": "random"}),
    ("na2c", {"init": "outer", "measure_init": False}),
    ("na2c", {"init": "random", "n_init": 1, "measure_init": False}),
    ("na2c", {"init": "random", "n_init": 3}),
    ("na2c", {"init": "random", "n_init": 5}),  # default
    ("na2c", {"init": "random", "n_init": 5, "batch_new_states": 3}),
    ("random", {}), ("ga", {}), ("xgb", {}), ("rnn", {}),
]
REPORT_BUDGETS = (5, 10, 15, 20, 30, 40, 101)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="runs/gemm_tuning/tuning.sqlite")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--levels", default="3,1,3")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--budget", type=int, default=101)
    parser.add_argument("--only", default="", help="comma-separated tuner names to keep (default: all)")
    args = parser.parse_args()
    space = TilingSpace(args.size, args.size, args.size, tuple(int(x) for x in args.levels.split(",")))
    with TuningDatabase(args.db) as db:
        targets = [t for w, t, _ in db.keys() if w == space.signature()]
        if not targets:
            raise SystemExit(f"no recorded table for {space.signature()} in {args.db}")
        replay = ReplayMeasurer.from_database(db, space, targets[0])
    if len(replay.table) < space.size:
        raise SystemExit(f"the table has {len(replay.table)} of {space.size} configurations: not exhaustive")
    _, t_opt = replay.optimum()
    keep = {t for t in args.only.split(",") if t}
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    budgets = [b for b in REPORT_BUDGETS if b <= args.budget]
    print(f"{space.signature()} |S| = {space.size}, optimum {1e3 * t_opt:.4f} ms, seeds {seeds.start}..{seeds.stop - 1}")
    print(f"{'tuner':6s} {'options':50s} " + " ".join(f"{'@' + str(b):>7s}" for b in budgets) + "  first<=5%")
    rows = []
    for name, options in SETTINGS:
        if keep and name not in keep:
            continue
        start = time.perf_counter()
        curves = []
        for seed in seeds:
            curve = tune(make_tuner(name, space, seed, args.budget, **options), replay, args.budget).best_curve()
            curve = np.concatenate([curve, np.full(args.budget - len(curve), curve[-1])]) / t_opt - 1
            curves.append(curve)
        median = np.median(np.array(curves), axis=0)
        hits = np.flatnonzero(median <= 0.05)
        first = int(hits[0]) + 1 if hits.size else None
        rows.append({"tuner": name, "options": options, "median_regret": median.tolist(), "first_within_5pct": first,
                     "seeds": list(seeds), "wall_s": time.perf_counter() - start})
        print(f"{name:6s} {json.dumps(options):50s} " + " ".join(f"{100 * median[b - 1]:6.1f}%" for b in budgets)
              + f"  {first}", flush=True)
    out = Path(__file__).resolve().parents[1] / "results" / "gemm_tuning"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"study_start_states-seeds{seeds.start}-{seeds.stop - 1}.json"
    path.write_text(json.dumps({"workload": space.signature(), "optimum_time_s": t_opt, "rows": rows}, indent=1))
    print(f"saved {path}")


if __name__ == "__main__":
    main()
