"""Speed references: numpy/OpenBLAS GEMM with a fixed number of threads, and a side-by-side re-timer.

TVM results are reported as a fraction of numpy's GFLOP/s at the same size, timed in the same process
and time window (the CPU is shared, so only ratios measured side by side mean anything).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np


@dataclass
class NumpyReference:
    M: int
    N: int
    K: int
    threads: int
    times_s: list[float]
    numpy_version: str
    blas: list[dict]

    @property
    def time_s(self) -> float:
        return min(self.times_s)

    @property
    def gflops(self) -> float:
        return 2 * self.M * self.N * self.K / self.time_s / 1e9


def blas_info() -> list[dict]:
    from threadpoolctl import threadpool_info

    keys = ("internal_api", "version", "architecture", "num_threads")
    return [{k: d.get(k) for k in keys} for d in threadpool_info()]


def numpy_gemm(M: int, N: int, K: int, *, threads: int = 1, repeat: int = 10, seed: int = 0) -> NumpyReference:
    """Time ``a @ b`` (float32) with ``threads`` BLAS threads; keep every repeat."""
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(seed)
    a = rng.random((M, K), dtype=np.float32)
    b = rng.random((K, N), dtype=np.float32)
    out = np.empty((M, N), np.float32)
    times = []
    with threadpool_limits(limits=threads):
        np.matmul(a, b, out=out)  # warm-up: loads BLAS, faults pages in
        for _ in range(repeat):
            t0 = time.perf_counter()
            np.matmul(a, b, out=out)
            times.append(time.perf_counter() - t0)
        info = blas_info()
    return NumpyReference(M, N, K, threads, times, np.__version__, info)
