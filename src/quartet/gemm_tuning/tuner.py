"""The AutoTVM tuner contract and the tuning loop shared by every tuner.

A tuner proposes ``next_batch(n)`` configurations and learns from ``update(configs, results)``; the loop
``tune()`` asks, measures through a ``Measurer`` and reports, exactly like AutoTVM's ``Tuner.tune``.
Scores are GFLOP/s (0 for a failed configuration).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from .measure import Measurer, MeasureResult
from .space import Config, TilingSpace


RANDOM_STARTS = 5  # default n_init of G-BFS and N-A2C with init="random" (see Tuner._start_states)


class Tuner:
    """Base class: bookkeeping of the best configuration and the measured set.

    Subclasses implement ``_propose(n)`` and may override ``_learn(configs, scores, results)``.
    ``batch_size`` is the tuner's natural batch (a G-BFS expansion, an N-A2C round, a GA generation).
    """

    name = "tuner"
    batch_size = 1

    def __init__(self, space: TilingSpace, seed: int = 0) -> None:
        if not isinstance(space, TilingSpace):
            raise ValueError(f"invalid space={space!r}: must be a TilingSpace")
        self.space = space
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.scores: dict[Config, float] = {}
        self.best_config: Config | None = None
        self.best_score = 0.0
        self.stop_reason: str | None = None

    # --- contract -------------------------------------------------------------------------------------
    def next_batch(self, n: int) -> list[Config]:
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"invalid n={n!r}: must be an integer >= 1")
        return self._propose(int(n))

    def update(self, configs: Sequence[Config], results: Sequence[MeasureResult]) -> None:
        if len(configs) != len(results):
            raise ValueError(
                f"invalid results (length {len(results)}): must match configs (length {len(configs)})"
            )
        scores = [r.gflops(self.space.flop) for r in results]
        for config, score in zip(configs, scores):
            self.scores[config] = score
            if score > self.best_score:  # first strictly better wins, as in AutoTVM
                self.best_score, self.best_config = score, config
        self._learn(list(configs), scores, list(results))

    def has_next(self) -> bool:
        return len(self.scores) < self.space.size and self.stop_reason is None

    # --- to implement ---------------------------------------------------------------------------------
    def _propose(self, n: int) -> list[Config]:
        raise NotImplementedError

    def _learn(self, configs: list[Config], scores: list[float], results: list[MeasureResult]) -> None:
        pass

    # --- helpers --------------------------------------------------------------------------------------
    def _start_states(self, init: str, n_init: int | None) -> list[Config]:
        """Validated start states of a local search (G-BFS, N-A2C).

        ``init="outer"``: NNI's single naive state ``[X, 1, ..., 1]`` per dimension (``n_init`` must be 1).
        ``init="random"``: ``n_init`` distinct uniform samples (default ``RANDOM_STARTS``); the caller
        measures them and searches from the best. Why this is the project default: on the exhaustively
        measured 256^3 (3,1,3) table the outer state takes 219x the optimum's time, its
        neighbours 128-248x, and greedy steps out of it cost both tuners 39-53 trials (about 2%
        of the space) before their median regret over seeds drops to 5%; started from the best of 5
        random samples (a cheap start that needs no knowledge of the kernel) they get there after 9-17
        trials. Numbers: the ``exhaustive`` experiment and benchmarks/gemm_tuning/study_start_states.py.
        """
        if init not in ("outer", "random"):
            raise ValueError(f"invalid init={init!r}: must be 'outer' or 'random'")
        if n_init is None:
            n_init = 1 if init == "outer" else RANDOM_STARTS
        if isinstance(n_init, bool) or not isinstance(n_init, (int, np.integer)) or n_init < 1 or (
                init == "outer" and n_init != 1):
            raise ValueError(f"invalid n_init={n_init!r}: must be an integer >= 1 (exactly 1 with init='outer')")
        if init == "outer":
            return [self.space.outer_config()]
        states: list[Config] = []
        while len(states) < min(int(n_init), self.space.size):
            states.append(self._random_unvisited(set(states)))
        return states

    def _random_unvisited(self, exclude: set[Config], max_tries: int = 1000) -> Config | None:
        """A uniform random configuration outside ``exclude`` (rejection, then a scan of the index)."""
        for _ in range(max_tries):
            c = self.space.sample(self.rng)
            if c not in exclude:
                return c
        if len(exclude) >= self.space.size:
            return None
        start = int(self.rng.integers(self.space.size))
        for offset in range(self.space.size):
            c = self.space.unrank((start + offset) % self.space.size)
            if c not in exclude:
                return c
        return None


@dataclass
class TrialRecord:
    trial: int
    config: Config
    time_s: float
    gflops: float
    error: str | None
    cached: bool
    wall_s: float
    best_time_s: float
    cost_s: float = 0.0  # compile + run of this trial's measurement (0 for a repeat within the run)
    tuner_s: float = 0.0  # cumulative time spent inside the tuner (next_batch + update)


@dataclass
class TuneResult:
    """Outcome of one tuning run, in the manner of ``scipy.optimize.OptimizeResult``."""

    tuner: str
    best_config: Config | None
    best_time_s: float
    best_gflops: float
    trials: int
    distinct_measured: int
    failed_trials: int
    space_size: int
    search_time_s: float
    stop_reason: str
    history: list[TrialRecord] = field(default_factory=list)

    @property
    def fraction_explored(self) -> float:
        return self.distinct_measured / self.space_size

    def best_curve(self) -> np.ndarray:
        """Best time so far after each trial."""
        return np.array([h.best_time_s for h in self.history])

    def search_time_curve(self) -> np.ndarray:
        """Search cost after each trial: compile + run of every measurement plus the tuner's own time.

        Measurements served from a database keep the cost they had when first measured, so tuners that
        share a database are charged as if each had measured alone.
        """
        return np.cumsum([h.cost_s for h in self.history]) + np.array([h.tuner_s for h in self.history])

    def summary(self) -> dict:
        return {
            "tuner": self.tuner,
            "best_time_s": self.best_time_s,
            "best_gflops": self.best_gflops,
            "best_config": [list(e) for e in self.best_config] if self.best_config else None,
            "trials": self.trials,
            "distinct_measured": self.distinct_measured,
            "fraction_explored": self.fraction_explored,
            "failed_trials": self.failed_trials,
            "space_size": self.space_size,
            "search_time_s": self.search_time_s,
            "stop_reason": self.stop_reason,
        }


def tune(
    tuner: Tuner,
    measurer: Measurer,
    n_trial: int,
    *,
    batch_size: int | None = None,
    early_stopping: int | None = None,
    time_budget_s: float | None = None,
    callbacks: Sequence[Callable[[TrialRecord], None]] = (),
) -> TuneResult:
    """Run ``tuner`` for ``n_trial`` trials (AutoTVM ``Tuner.tune`` semantics).

    A configuration proposed again is served from this run's cache and still counts as a trial.
    ``batch_size`` defaults to the tuner's natural batch.
    """
    if isinstance(n_trial, bool) or not isinstance(n_trial, (int, np.integer)) or n_trial < 1:
        raise ValueError(f"invalid n_trial={n_trial!r}: must be an integer >= 1")
    if tuner.space != measurer.space:
        raise ValueError(f"invalid measurer: its space {measurer.space} differs from the tuner's {tuner.space}")
    batch_size = batch_size or tuner.batch_size
    flop = tuner.space.flop
    seen: dict[Config, MeasureResult] = {}
    history: list[TrialRecord] = []
    best_time, best_config, best_trial = math.inf, None, 0
    failed = 0
    tuner_s = 0.0
    start = time.perf_counter()
    stop_reason = "budget"
    while len(history) < n_trial:
        if not tuner.has_next():
            stop_reason = tuner.stop_reason or "space_exhausted"
            break
        if time_budget_s is not None and time.perf_counter() - start >= time_budget_s:
            stop_reason = "time_budget"
            break
        t_tuner = time.perf_counter()
        batch = tuner.next_batch(min(batch_size, n_trial - len(history)))
        tuner_s += time.perf_counter() - t_tuner
        if not batch:
            stop_reason = tuner.stop_reason or "no_candidates"
            break
        batch = batch[: n_trial - len(history)]
        fresh = list(dict.fromkeys(c for c in batch if c not in seen))
        for config, result in zip(fresh, measurer.measure_batch(fresh) if fresh else []):
            seen[config] = result
        charged = set()
        results = []
        for config in batch:
            result = seen[config]
            cost = result.compile_s + result.measure_s if config in fresh and config not in charged else 0.0
            charged.add(config)
            results.append(result)
            if not result.ok:
                failed += 1
            elif result.time_s < best_time:  # an aborted trial keeps its (slow) probe time
                best_time, best_config, best_trial = result.time_s, config, len(history)
            record = TrialRecord(
                trial=len(history), config=config, time_s=result.time_s, gflops=result.gflops(flop),
                error=result.error, cached=result.cached, wall_s=time.perf_counter() - start, best_time_s=best_time,
                cost_s=cost, tuner_s=tuner_s,
            )
            history.append(record)
            for cb in callbacks:
                cb(record)
        t_tuner = time.perf_counter()
        tuner.update(batch, results)
        tuner_s += time.perf_counter() - t_tuner
        if early_stopping is not None and len(history) >= best_trial + early_stopping:
            stop_reason = "early_stopping"
            break
    return TuneResult(
        tuner=tuner.name,
        best_config=best_config,
        best_time_s=best_time,
        best_gflops=flop / best_time / 1e9 if best_config is not None else 0.0,
        trials=len(history),
        distinct_measured=len(seen),
        failed_trials=failed,
        space_size=tuner.space.size,
        search_time_s=time.perf_counter() - start,
        stop_reason=stop_reason,
        history=history,
    )
