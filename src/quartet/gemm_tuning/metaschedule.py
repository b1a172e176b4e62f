"""TVM's own MetaSchedule on the same GEMM: an external anchor, not a same-space baseline.

MetaSchedule searches its own space (multi-level tiling with 4/2/4 factors plus parallel, vectorize and
unroll annotations) with an evolutionary search and an XGBoost cost model. Its best schedule is re-timed
here with the project's protocol. Worker start-up dominates (tens of seconds), so run it once per size.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .kernels import gemm_module

BUILDER_TIMEOUT_S = 180.0  # reference note: at MetaSchedule's default 30 s every build failed on a busy CPU


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
                     builder_timeout_s: float = BUILDER_TIMEOUT_S, builder_workers: int | None = 1,
                     repeat: int = 10) -> MetaScheduleResult:
    """Tune with ``ms.tune_tir`` (``num-cores`` = threads), then re-time the best schedule.

    Set ``TVM_NUM_THREADS`` before TVM is imported for single-thread timing (the CLI does).
    Pitfall (reference note): the default builder timeout of 30 s makes every build fail on a busy CPU.
    ``builder_workers``: builder processes (None: TVM's default, the CPU count). Default 1 because each
    worker first imports ``tvm.s_tir.tensor_intrin`` (~26 s of CPU when idle) and on the shared 2-core CPU
    TVM's two workers ran past the 180 s builder timeout: at 64^3, 4 trials, 3 of 4 builds failed and the
    search took 515 s (load 5-10); with one worker all 4 built and the search took 200 s (load 2-5, so
    the comparison is confounded by load). Two earlier runs were killed at their 560-600 s limit.
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
        builder=ms.builder.LocalBuilder(max_workers=builder_workers, timeout_sec=builder_timeout_s),
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


def run_metaschedule_bounded(M: int, N: int, K: int, *, trials: int, work_dir: str, seed: int = 0,
                             threads: int = 1, timeout_s: float = 600.0,
                             builder_timeout_s: float = BUILDER_TIMEOUT_S,
                             builder_workers: int | None = 1) -> dict:
    """``run_metaschedule`` in a child process killed (with its builder/runner workers) after ``timeout_s``.

    MetaSchedule's popen workers can take minutes to start on a loaded CPU and a stuck search would
    otherwise hang the caller; here the outcome is always a dict with ``status`` ``"ok"`` (plus the
    ``MetaScheduleResult`` fields and ``gflops``), ``"timeout"`` or ``"error"`` (with ``error``), and
    ``wall_s``. The child runs in its own session so the whole process group can be killed.
    """
    if isinstance(trials, bool) or not isinstance(trials, int) or trials < 1:
        raise ValueError(f"invalid trials={trials!r}: must be an integer >= 1")
    if not timeout_s > 0:
        raise ValueError(f"invalid timeout_s={timeout_s!r}: must be > 0")
    os.makedirs(work_dir, exist_ok=True)
    result_path = Path(work_dir) / "anchor_result.json"
    result_path.unlink(missing_ok=True)
    args = {"M": M, "N": N, "K": K, "trials": trials, "work_dir": work_dir, "seed": seed, "threads": threads,
            "builder_timeout_s": builder_timeout_s, "builder_workers": builder_workers,
            "result_path": str(result_path)}
    env = {**os.environ, "TVM_NUM_THREADS": str(threads)}  # must be set before the child imports TVM
    log_path = Path(work_dir) / "anchor_child.log"
    start = time.perf_counter()
    with open(log_path, "w") as log:
        child = subprocess.Popen([sys.executable, "-m", "quartet.gemm_tuning.metaschedule", json.dumps(args)],
                                 stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        try:
            child.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
            return {"status": "timeout", "wall_s": time.perf_counter() - start, "timeout_s": timeout_s,
                    "error": f"MetaSchedule did not finish within {timeout_s:.0f} s (killed); log: {log_path}"}
    wall = time.perf_counter() - start
    if child.returncode == 0 and result_path.exists():
        return {"status": "ok", "wall_s": wall, **json.loads(result_path.read_text())}
    tail = log_path.read_text()[-2000:].strip().splitlines()
    return {"status": "error", "wall_s": wall, "returncode": child.returncode,
            "error": tail[-1] if tail else f"child exited with code {child.returncode}", "log": str(log_path)}


def _child_main(argv: list[str]) -> None:
    args = json.loads(argv[0])
    result_path = args.pop("result_path")
    res = run_metaschedule(args.pop("M"), args.pop("N"), args.pop("K"), **args)
    Path(result_path).write_text(json.dumps({**asdict(res), "gflops": res.gflops}))


if __name__ == "__main__":  # the child process of run_metaschedule_bounded
    _child_main(sys.argv[1:])
