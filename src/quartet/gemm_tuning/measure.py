"""Measurement results, the Measurer contract and the analytic back end used by fast tests.

Back ends (interchangeable, all ``measure_batch(configs) -> list[MeasureResult]``):
``AnalyticMeasurer`` (here, no TVM), ``LocalTVMMeasurer`` and ``RPCMeasurer`` (``tvm_measure.py``),
``ReplayMeasurer`` and the caching wrapper ``CachedMeasurer`` (``database.py``).
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from .space import Config, TilingSpace, config_to_str


@dataclass(frozen=True)
class MeasureResult:
    """One measurement, in the manner of AutoTVM's ``MeasureResult``.

    ``costs`` are seconds per call (all repeats); ``None`` with an ``error`` when build or run failed.
    ``aborted``: the probe call was already too slow, so only the probe was kept: a valid (slow) result.
    """

    costs: tuple[float, ...] | None
    error: str | None = None
    compile_s: float = 0.0
    measure_s: float = 0.0
    timestamp: float = 0.0
    aborted: bool = False
    cached: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None and bool(self.costs)

    @property
    def time_s(self) -> float:
        """Best (minimum) time per call, ``inf`` on failure."""
        return min(self.costs) if self.ok else math.inf  # type: ignore[arg-type]

    def gflops(self, flop: int) -> float:
        """Score used by every tuner: GFLOP/s, 0 on failure (AutoTVM's convention)."""
        return flop / self.time_s / 1e9 if self.ok else 0.0

    @staticmethod
    def failure(error: str, compile_s: float = 0.0) -> "MeasureResult":
        return MeasureResult(costs=None, error=error, compile_s=compile_s, timestamp=time.time())


class Measurer:
    """Measures configurations of one ``TilingSpace`` on one target.

    Subclasses set ``space`` and ``target_key`` (the database key of the hardware/compiler target) and
    implement ``measure_batch``. Measurers are context managers; ``close()`` frees worker processes.
    """

    space: TilingSpace
    target_key: str = "unknown"

    def measure_batch(self, configs: Sequence[Config]) -> list[MeasureResult]:
        raise NotImplementedError

    def measure(self, config: Config) -> MeasureResult:
        return self.measure_batch([config])[0]

    def environment(self) -> dict:
        """Facts stored with every database row (versions, CPU, load)."""
        return {}

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _unit_hash(*parts: object) -> float:
    """Deterministic number in [0, 1) from its arguments (stable across processes, unlike hash())."""
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") / 2**64


@dataclass
class AnalyticMeasurer(Measurer):
    """A deterministic synthetic landscape with a known optimum, for fast tuner tests.

    ``time = best_time_s * exp(slope * sum_i w_i |e_i - t_i|) * (1 + ruggedness * u(config)) * noise``
    where ``t`` is a hidden optimum (seeded uniform draw, or ``optimum``), ``w_i`` seeded weights in
    [0.5, 1.5] and ``u`` a deterministic per-config number in [0, 1). With ``ruggedness=0`` every
    non-optimal configuration has a strictly better neighbour (moving a factor from a slot above its
    target to one below lowers the weighted distance), so the landscape is unimodal.
    ``failing(config) -> bool`` marks configurations that fail like a broken build.
    ``delay_s`` sleeps per measurement (to test interruption).
    """

    space: TilingSpace
    seed: int = 0
    optimum: Config | None = None
    best_time_s: float = 1e-3
    slope: float = 0.35
    ruggedness: float = 0.0
    noise: float = 0.0
    repeat: int = 3
    failing: Callable[[Config], bool] | None = None
    delay_s: float = 0.0
    target_key: str = "analytic"
    n_measured: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        rng = np.random.default_rng([self.seed, 0x5EED])  # not the stream a tuner seeded with `seed` uses
        self.optimum = self.space.validate(self.optimum) if self.optimum is not None else self.space.sample(rng)
        self.weights = rng.uniform(0.5, 1.5, size=self.space.n_slots)
        self._target = np.array([e for exps in self.optimum for e in exps], dtype=float)

    def true_time(self, config: Config) -> float:
        """Noise-free time of a configuration."""
        e = np.array([x for exps in config for x in exps], dtype=float)
        distance = float(np.dot(self.weights, np.abs(e - self._target)))
        bump = 1.0 + self.ruggedness * _unit_hash(self.seed, config_to_str(config))
        return self.best_time_s * math.exp(self.slope * distance) * bump

    def measure_batch(self, configs: Sequence[Config]) -> list[MeasureResult]:
        out = []
        for config in configs:
            config = self.space.validate(config)
            self.n_measured += 1
            if self.delay_s:
                time.sleep(self.delay_s)
            if self.failing is not None and self.failing(config):
                out.append(MeasureResult.failure("analytic: configuration marked as failing"))
                continue
            base = self.true_time(config)
            costs = []
            for r in range(self.repeat):
                factor = 1.0
                if self.noise:
                    factor = math.exp(self.noise * (2 * _unit_hash(self.seed, config_to_str(config), r) - 1))
                costs.append(base * factor)
            out.append(MeasureResult(costs=tuple(costs), measure_s=sum(costs), timestamp=time.time()))
        return out
