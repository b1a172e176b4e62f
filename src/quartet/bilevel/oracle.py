"""Counting first-order oracle, budgets and per-iteration history shared by every method.

Methods call ``oracle.f_vg(x)`` etc.; every call is counted (value calls and gradient calls separately, for f
and for g). ``oracle.record(x, phase)`` appends a history row: the clock is paused and the raw (uncounted)
functions are used while recording, so the history never inflates a method's time or oracle counts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from .problems import BilevelProblem

__all__ = ["Budget", "CountingOracle"]


@dataclass
class Budget:
    """Stop a method when any limit is reached (None = no limit)."""

    max_iter: int | None = None
    max_time: float | None = None
    max_grad_calls: int | None = None

    def __post_init__(self) -> None:
        if self.max_iter is not None and int(self.max_iter) < 1:
            raise ValueError(f"invalid max_iter={self.max_iter!r}: must be an integer >= 1 or None")
        if self.max_time is not None and not float(self.max_time) > 0:
            raise ValueError(f"invalid max_time={self.max_time!r}: must be > 0 seconds or None")
        if self.max_grad_calls is not None and int(self.max_grad_calls) < 1:
            raise ValueError(f"invalid max_grad_calls={self.max_grad_calls!r}: must be an integer >= 1 or None")


@dataclass
class CountingOracle:
    problem: BilevelProblem
    budget: Budget = field(default_factory=Budget)
    record_every: int = 1
    f_calls: int = 0
    g_calls: int = 0
    grad_f_calls: int = 0
    grad_g_calls: int = 0
    iterations: int = 0

    def __post_init__(self) -> None:
        if int(self.record_every) < 1:
            raise ValueError(f"invalid record_every={self.record_every!r}: must be an integer >= 1")
        self._paused = 0.0
        self._t0 = time.perf_counter()
        self.history: dict[str, list] = {k: [] for k in ("time_s", "grad_f_calls", "grad_g_calls", "grad_calls",
                                                          "f", "g", "iteration", "phase")}

    # ---- counted oracle calls
    def f(self, x: np.ndarray) -> float:
        self.f_calls += 1
        return float(self.problem.f(x))

    def g(self, x: np.ndarray) -> float:
        self.g_calls += 1
        return float(self.problem.g(x))

    def grad_f(self, x: np.ndarray) -> np.ndarray:
        self.grad_f_calls += 1
        return self.problem.grad_f(x)

    def grad_g(self, x: np.ndarray) -> np.ndarray:
        self.grad_g_calls += 1
        return self.problem.grad_g(x)

    def f_vg(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        self.f_calls += 1
        self.grad_f_calls += 1
        v, gr = self.problem.f_value_and_grad(x)
        return float(v), gr

    def g_vg(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        self.g_calls += 1
        self.grad_g_calls += 1
        v, gr = self.problem.g_value_and_grad(x)
        return float(v), gr

    @property
    def grad_calls(self) -> int:
        return self.grad_f_calls + self.grad_g_calls

    # ---- clock and budget
    def elapsed(self) -> float:
        return time.perf_counter() - self._t0 - self._paused

    def exhausted(self) -> bool:
        b = self.budget
        return ((b.max_iter is not None and self.iterations >= b.max_iter)
                or (b.max_grad_calls is not None and self.grad_calls >= b.max_grad_calls)
                or (b.max_time is not None and self.elapsed() >= b.max_time))

    # ---- history
    def record(self, x: np.ndarray, phase: str, *, force: bool = False) -> None:
        """Append (time, oracle counts, f(x), g(x)) every ``record_every`` iterations, off the clock."""
        if not force and self.iterations % self.record_every:
            return
        start = time.perf_counter()
        h = self.history
        h["time_s"].append(start - self._t0 - self._paused)
        h["grad_f_calls"].append(self.grad_f_calls)
        h["grad_g_calls"].append(self.grad_g_calls)
        h["grad_calls"].append(self.grad_calls)
        h["f"].append(float(self.problem.f(x)))
        h["g"].append(float(self.problem.g(x)))
        h["iteration"].append(self.iterations)
        h["phase"].append(phase)
        self._paused += time.perf_counter() - start
