"""TVM's own MetaSchedule on the same GEMM: an external anchor, not a same-space baseline.

MetaSchedule searches its own space (multi-level tiling with 4/2/4 factors plus parallel, vectorize and
unroll annotations) with an evolutionary search and an XGBoost cost model. Its best schedule is re-timed
here with the project's protocol. Worker start-up dominates (tens of seconds), so run it once per size.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import numpy as np

from .kernels import gemm_module


@dataclass
class MetaScheduleResult:
    M: int
    N: int
    K: int
    trials: int
    best_time_s: float
    search_time_s: float
    threads: int
    mcpu: str

    @property
    def gflops(self) -> float:
        return 2 * self.M * self.N * self.K / self.best_time_s / 1e9


def run_metaschedule(M: int, N: int, K: int, *, trials: int, work_dir: str, seed: int = 0, threads: int = 1,
                     builder_timeout_s: float = 180.0, repeat: int = 10) -> MetaScheduleResult:
    """Tune with ``ms.tune_tir`` (``num-cores`` = threads), then re-time the best schedule.

    Set ``TVM_NUM_THREADS`` before TVM is imported for single-thread timing (the CLI does).
    Pitfall (reference note): the default builder timeout of 30 s makes every build fail on a busy CPU.
    """
    import tvm
    import tvm.s_tir.meta_schedule as ms

    if trials < 1:
        raise ValueError(f"invalid trials={trials!r}: must be an integer >= 1")
    mcpu = tvm.target.codegen.llvm_get_system_cpu()
    target = tvm.target.Target({"kind": "llvm", "mcpu": mcpu, "num-cores": threads})
    mod = gemm_module(M, N, K)
    start = time.perf_counter()
    os.makedirs(work_dir, exist_ok=True)
    database = ms.tune_tir(
        mod, target, work_dir=work_dir, max_trials_global=trials, num_trials_per_iter=min(16, trials),
        cost_model="xgb", strategy="evolutionary", seed=seed,
        builder=ms.builder.LocalBuilder(timeout_sec=builder_timeout_s),
        runner=ms.runner.LocalRunner(timeout_sec=builder_timeout_s),
    )
    search_time = time.perf_counter() - start
    sch = ms.tir_integration.compile_tir(database, mod, target)
    if sch is None:
        raise RuntimeError("MetaSchedule found no valid schedule")
    rt = tvm.compile(sch.mod, target=target).jit()
    rng = np.random.default_rng(seed)
    a = rng.random((M, K), dtype=np.float32)
    b = rng.random((K, N), dtype=np.float32)
    dev = tvm.cpu(0)
    ta, tb = tvm.runtime.tensor(a, dev), tvm.runtime.tensor(b, dev)
    tc = tvm.runtime.tensor(np.zeros((M, N), np.float32), dev)
    rt["main"](ta, tb, tc)
    np.testing.assert_allclose(tc.numpy(), a @ b, rtol=1e-3, atol=1e-2)
    best = min(rt.time_evaluator("main", dev, number=1, repeat=repeat)(ta, tb, tc).results)
    return MetaScheduleResult(M, N, K, trials, best, search_time, threads, mcpu)
