"""Best kernel found by a tuner within a trial budget, against numpy/OpenBLAS (same threads), side by side.

Also reports the harness overhead per trial (wall time of a trial minus its compile and run time).

    python benchmarks/gemm_tuning/bench_vs_numpy.py --size 512 --trials 300 --tuners gbfs
    python benchmarks/gemm_tuning/bench_vs_numpy.py --size 1024 --trials 300 --tuners gbfs,na2c,xgb

Results are printed and saved to benchmarks/results/gemm_tuning/. Timing on a shared CPU is noisy: the
final comparison re-times each best kernel and numpy interleaved in one window, min over rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TVM_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))

import numpy as np  # noqa: E402

from quartet.gemm_tuning.database import CachedMeasurer, TuningDatabase  # noqa: E402
from quartet.gemm_tuning.experiments import make_tuner, retime_side_by_side  # noqa: E402
from quartet.gemm_tuning.kernels import KernelTemplate  # noqa: E402
from quartet.gemm_tuning.space import TilingSpace, config_to_str  # noqa: E402
from quartet.gemm_tuning.tuner import tune  # noqa: E402
from quartet.gemm_tuning.tvm_measure import LocalTVMMeasurer  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512, help="M = N = K")
    parser.add_argument("--levels", default="3,2,3")
    parser.add_argument("--trials", type=int, default=300)
    parser.add_argument("--tuners", default="gbfs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--db", default="runs/gemm_tuning/tuning.sqlite")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved re-timing rounds")
    args = parser.parse_args()

    space = TilingSpace(args.size, args.size, args.size, tuple(int(x) for x in args.levels.split(",")))
    template = KernelTemplate()
    runs = {}
    overheads: list[float] = []
    for name in args.tuners.split(","):
        inner = LocalTVMMeasurer(space, template=template, threads=args.threads)
        inner.warm_up()
        with CachedMeasurer(inner, TuningDatabase(args.db)) as measurer:
            t0 = time.perf_counter()
            result = tune(make_tuner(name, space, args.seed, args.trials), measurer, args.trials)
            wall = time.perf_counter() - t0
            overheads += inner.overheads_s
            runs[name] = {"best_config": config_to_str(result.best_config), "tuning_best_time_s": result.best_time_s,
                          "trials": result.trials, "distinct": result.distinct_measured, "wall_s": wall,
                          "fresh_measurements": measurer.misses, "failed": result.failed_trials}
        print(f"{name}: best {1e3 * result.best_time_s:.3f} ms during tuning, {result.trials} trials, "
              f"{measurer.misses} measured now ({wall:.0f} s)", flush=True)
    from quartet.gemm_tuning.space import config_from_str

    configs = list(dict.fromkeys(config_from_str(r["best_config"]) for r in runs.values()))
    retimed, info = retime_side_by_side(space, configs, threads=args.threads, template=template, repeat=10,
                                        rounds=args.rounds)
    print(f"numpy {info['numpy']} ({info['blas'][0].get('internal_api') if info['blas'] else '?'}), "
          f"{args.threads} thread(s): {1e3 * info['numpy_time_s']:.3f} ms = {info['numpy_gflops']:.1f} GFLOP/s")
    for name, r in runs.items():
        t = retimed[r["best_config"]]
        r.update(retimed_time_s=t, gflops=space.flop / t / 1e9, vs_numpy=info["numpy_time_s"] / t)
        print(f"{name}: {space.factors(config_from_str(r['best_config']))} {1e3 * t:.3f} ms = "
              f"{r['gflops']:.1f} GFLOP/s = {r['vs_numpy']:.2f}x numpy")
    if overheads:
        print(f"harness overhead per fresh trial: median {1e3 * np.median(overheads):.2f} ms, "
              f"p95 {1e3 * np.percentile(overheads, 95):.2f} ms, max {1e3 * max(overheads):.1f} ms "
              f"over {len(overheads)} trials (target <= 100 ms)")
    out = Path("benchmarks/results/gemm_tuning")
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"vs_numpy_{args.size}_{time.strftime('%Y%m%dT%H%M%S')}.json"
    path.write_text(json.dumps({"args": vars(args), "numpy": info, "runs": runs,
                                "overhead_s": {"median": float(np.median(overheads)) if overheads else None,
                                               "p95": float(np.percentile(overheads, 95)) if overheads else None,
                                               "n": len(overheads)}}, indent=1, default=str))
    print(f"saved {path}")


if __name__ == "__main__":
    main()
